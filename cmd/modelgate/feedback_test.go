package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/modelgate/modelgate/store"
)

// TestFeedbackChannel: a browser sends feedback with the token an answer
// carried, an application with its key; both are in the audit log, and
// `feedback list` and `export` show them with personal data masked and the
// negative rate per model version.
func TestFeedbackChannel(t *testing.T) {
	dir := t.TempDir()
	gw := startChatGateway(t, dir, func(r *store.Route) {
		r.Capture, r.Upstream.ModelVersion = &store.Capture{Input: store.CaptureFull}, "v7"
	})
	key, stop, post := gw.full, gw.stop, gw.post
	first := gw.chat(key, "my mail is dana@example.com, what is my balance?")
	second := gw.chat(key, "hello")
	if r := post("/v1/feedback", "", first.Header.Get("X-Feedback-Token"), `{"request_id":"`+first.Header.Get("X-Request-Id")+`","rating":-1,"category":"leak","comment":"it showed someone else's account, write to ana@example.org"}`); r.StatusCode != 200 {
		t.Fatalf("token feedback: %d", r.StatusCode)
	}
	if r := post("/v1/feedback", key, "", `{"request_id":"`+second.Header.Get("X-Request-Id")+`","rating":1}`); r.StatusCode != 200 {
		t.Fatalf("key feedback: %d", r.StatusCode)
	}
	stop()

	code, out, errOut := cli(t, "feedback", "list", "--data-dir", dir, "--format", "json")
	if code != 0 {
		t.Fatalf("list: %d %s", code, errOut)
	}
	var got struct {
		Feedback []feedbackEntry
		Versions []versionRate
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatal(err)
	}
	if len(got.Feedback) != 2 || len(got.Versions) != 1 || got.Versions[0].Version != "chat@v7" || got.Versions[0].Requests != 2 || got.Versions[0].Negative != 1 {
		t.Fatalf("list: %s", out)
	}
	for _, e := range got.Feedback {
		if e.Version != "v7" || strings.Contains(e.Comment, "@example") {
			t.Errorf("entry %+v", e)
		}
	}
	export := filepath.Join(t.TempDir(), "seeds.jsonl")
	if code, _, errOut = cli(t, "feedback", "export", "--negative", "--out", export, "--data-dir", dir); code != 0 {
		t.Fatalf("export: %d %s", code, errOut)
	}
	b, _ := os.ReadFile(export)
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) != 1 || !strings.Contains(lines[0], `"prompt"`) || !strings.Contains(lines[0], "[EMAIL]") || strings.Contains(lines[0], "@example") {
		t.Errorf("export:\n%s", b)
	}
	_, out, _ = cli(t, "audit", "tail", "--data-dir", dir, "-n", "20")
	if strings.Count(out, "feedback.submit") != 2 {
		t.Errorf("the feedback is not in the audit log:\n%s", out)
	}
}
