package inline

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/go-json-experiment/json/jsontext"

	"github.com/modelgate/modelgate/gateway"
)

// FuzzStream feeds arbitrary upstream events through the stream guard: it
// may refuse them, but never panics, and what it releases is JSON events.
func FuzzStream(f *testing.F) {
	f.Add([]byte(`{"choices":[{"index":0,"delta":{"content":"hi ghp_8dKq2mZpX4vN7bR1"}}]}`), []byte(`{"choices":[{"index":0,"delta":{"content":"sT6wY9cE3fH5jL0aQuIo ok"},"finish_reason":"stop"}]}`))
	f.Add([]byte(`{"choices":[{"index":0,"delta":{"tool_calls":[{"function":{"arguments":"{\"a\":"}}]}}]}`), []byte(`[DONE]`))
	f.Add([]byte(`{"choices":[{"index":"x"}]}`), []byte(`not json`))
	f.Fuzz(func(t *testing.T, a, b []byte) {
		p := testProfile
		x, _ := exchange(p, context.Background())
		sf := filter{}.FilterStream(x)
		for _, data := range [][]byte{a, b} {
			evs, err := sf.Event(gateway.DataEvent(data))
			if err != nil {
				return
			}
			for _, ev := range evs {
				if !bytes.HasPrefix(ev, []byte("data: ")) {
					t.Fatalf("released a non-data event %q", ev)
				}
			}
		}
		sf.End()
	})
}

// FuzzAnswer: FilterBody on arbitrary answers never panics.
func FuzzAnswer(f *testing.F) {
	f.Add([]byte(`{"choices":[{"message":{"content":"a@b.com"}}]}`), true)
	f.Add([]byte(`{"outputs":[{"data":[["x","y"]]}]}`), false)
	f.Fuzz(func(t *testing.T, body []byte, chat bool) {
		x, _ := exchange(testProfile, context.Background())
		if !chat {
			x.Endpoint = gateway.EndpointInfer
		}
		out, err := filter{}.FilterBody(x, 200, body)
		if err == nil && len(out) == 0 && len(body) > 0 && strings.TrimSpace(string(body)) != "" {
			t.Fatalf("empty answer from %q", body)
		}
	})
}

// FuzzRewriteJSON: replacing every text field of any document keeps it
// valid JSON, and each replaced value reads back as written.
func FuzzRewriteJSON(f *testing.F) {
	f.Add([]byte(`{"messages":[{"role":"user","content":"a\"b\\"}]}`), "x\"y")
	f.Add([]byte(`{"choices":[{"message":{"content":"\\\\\""}}]}`), "")
	f.Fuzz(func(t *testing.T, doc []byte, with string) {
		if !jsontext.Value(doc).IsValid() {
			return
		}
		segs, err := textFields(doc)
		if err != nil {
			return
		}
		repl := map[string]string{}
		for _, s := range segs {
			repl[s.Path] = with
		}
		out, err := rewriteJSON(doc, repl, map[string][]byte{"/messages": []byte(`{"role":"system","content":"c"}`)}, []string{"/choices/#/logprobs"})
		if err != nil {
			t.Fatalf("rewrite failed on a document textFields read: %v", err)
		}
		if !jsontext.Value(out).IsValid() {
			t.Fatalf("rewrite made invalid JSON: %s", out)
		}
		if !utf8.ValidString(with) {
			return
		}
		again, err := textFields(out)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range again {
			if _, replaced := repl[s.Path]; replaced && s.Text != with && s.Path != "/messages/0/role" && s.Path != "/messages/0/content" {
				t.Fatalf("%s reads back %q, want %q", s.Path, s.Text, with)
			}
		}
	})
}
