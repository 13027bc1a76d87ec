package server

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/modelgate/modelgate/access"
	"github.com/modelgate/modelgate/config"
	"github.com/modelgate/modelgate/demo"
	"github.com/modelgate/modelgate/store"
)

// blockingOutput withholds answers that carry a credential: by default in
// the API's content-filter terms, on the strict pipeline as a 502.
const blockingOutput = `
guards:
  default: out
  pipelines:
    out:
      output:
        - guard: secrets
          action: block
    strict:
      output_block: error
      output:
        - guard: secrets
          action: block
`

// sdkSecret is what the echo model repeats and the output guard withholds.
const sdkSecret = "AKIAZ3MSJV4WWNKWW5FG"

// sdkFixture is a gateway in front of the demo echo model, which speaks
// OpenAI's and Anthropic's APIs, counting the calls that reach it.
type sdkFixture struct {
	url, key string
	calls    atomic.Int64
	srv      *Server
}

func newSDKFixture(t *testing.T) *sdkFixture {
	t.Helper()
	f := &sdkFixture{}
	model := &demo.ChatModel{}
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.calls.Add(1)
		model.ServeHTTP(w, r)
	}))
	t.Cleanup(up.Close)
	cfg := testConfig(t)
	guards, err := config.Parse("guards", []byte(blockingOutput))
	if err != nil {
		t.Fatal(err)
	}
	cfg.Guards = guards.Guards
	cfg.Routes = []*store.Route{
		{Model: "m", Protocol: store.ProtocolOpenAI, Upstream: store.Upstream{URL: up.URL + "/v1"}},
		{Model: "m-strict", Protocol: store.ProtocolOpenAI, Guards: "strict", Upstream: store.Upstream{URL: up.URL + "/v1"}},
		{Model: "claude", Protocol: store.ProtocolAnthropic, Upstream: store.Upstream{URL: up.URL + "/v1"}},
		{Model: "forbidden", Protocol: store.ProtocolOpenAI, Upstream: store.Upstream{URL: up.URL + "/v1"}},
	}
	s, _, _ := start(t, cfg)
	f.srv = s
	f.url = "http://" + s.Addr().String()
	_, key, err := access.CreateKey(context.Background(), s.Store(), access.KeySpec{Name: "sdk",
		Scopes: []string{"inference:invoke"}, Models: []string{"m", "m-strict", "claude"}}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	f.key = key
	return f
}

// sdkShouldRetry is the retry rule of OpenAI's and Anthropic's SDKs
// (openai-node src/client.ts shouldRetry; the Anthropic SDK has the same):
// x-should-retry decides when present; otherwise 408, 409, 429 and every
// 5xx are retried, by default twice.
func sdkShouldRetry(resp *http.Response) bool {
	switch resp.Header.Get("X-Should-Retry") {
	case "true":
		return true
	case "false":
		return false
	}
	s := resp.StatusCode
	return s == 408 || s == 409 || s == 429 || s >= 500
}

// sdkPost sends a request as an SDK with default settings would, retries
// included, and returns the last answer and the number of attempts.
func (f *sdkFixture) sdkPost(t *testing.T, path, body string) (*http.Response, string, int) {
	t.Helper()
	const maxRetries = 2
	for attempt := 1; ; attempt++ {
		req, _ := http.NewRequest("POST", f.url+path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+f.key)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode < 300 || attempt > maxRetries || !sdkShouldRetry(resp) {
			return resp, string(b), attempt
		}
	}
}

// TestSDKDoesNotRetryWithheldAnswers: a blocked generation reaches the
// model once, however the caller's SDK retries: answered in the API's
// content-filter terms, or (strict pipeline) as a 502 that says not to
// retry. Before this, a 502 without the header made SDKs run the blocked
// generation three times.
func TestSDKDoesNotRetryWithheldAnswers(t *testing.T) {
	f := newSDKFixture(t)
	for _, tc := range []struct {
		path, body string
		status     int
		want       string
	}{
		{"/v1/chat/completions", `{"model":"m","messages":[{"role":"user","content":"key ` + sdkSecret + `"}]}`, 200, `"finish_reason":"content_filter"`},
		{"/v1/chat/completions", `{"model":"m","stream":true,"messages":[{"role":"user","content":"key ` + sdkSecret + `"}]}`, 200, `"finish_reason":"content_filter"`},
		{"/v1/responses", `{"model":"m","input":"key ` + sdkSecret + `"}`, 200, `"reason":"content_filter"`},
		{"/v1/messages", `{"model":"claude","max_tokens":9,"messages":[{"role":"user","content":"key ` + sdkSecret + `"}]}`, 200, `"stop_reason":"refusal"`},
		{"/v1/chat/completions", `{"model":"m-strict","messages":[{"role":"user","content":"key ` + sdkSecret + `"}]}`, 502, `"response_blocked"`},
	} {
		before := f.calls.Load()
		resp, body, attempts := f.sdkPost(t, tc.path, tc.body)
		if resp.StatusCode != tc.status || !strings.Contains(body, tc.want) || strings.Contains(body, sdkSecret) {
			t.Errorf("%s %s: %d %s", tc.path, tc.body, resp.StatusCode, body)
		}
		if calls := f.calls.Load() - before; attempts != 1 || calls != 1 {
			t.Errorf("%s %s: %d attempts reached the model %d times; want once", tc.path, tc.body, attempts, calls)
		}
	}
}

// TestOfficialSDKs drives the gateway with the official OpenAI and
// Anthropic Node SDKs (server/testdata/sdk), default retries on: plain
// and withheld answers, streamed and not, on every protocol, each reaching
// the model once.
func TestOfficialSDKs(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("skipped: node is not installed; the official-SDK interop test needs Node.js 20 or later")
	}
	dir, _ := filepath.Abs(filepath.Join("testdata", "sdk"))
	for _, pkg := range []string{"openai", "@anthropic-ai/sdk"} {
		if _, err := os.Stat(filepath.Join(dir, "node_modules", pkg, "package.json")); err != nil {
			t.Skipf("skipped: the SDKs are not installed; run: npm ci --prefix server/testdata/sdk")
		}
	}
	f := newSDKFixture(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "clients.mjs")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "MODELGATE_URL="+f.url, "MODELGATE_KEY="+f.key, "MODELGATE_SECRET="+sdkSecret)
	out, err := cmd.Output()
	if err != nil {
		var stderr string
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = string(ee.Stderr)
		}
		t.Fatalf("node clients.mjs: %v\n%s\n%s", err, out, stderr)
	}
	var results []struct {
		Name          string `json:"name"`
		UpstreamCalls int64  `json:"upstreamCalls"`
		OK            bool   `json:"ok"`
		Error         string `json:"error"`
	}
	if err := json.Unmarshal(out, &results); err != nil || len(results) == 0 {
		t.Fatalf("clients.mjs printed %s: %v", out, err)
	}
	var want int64
	for _, r := range results {
		want += r.UpstreamCalls
		if !r.OK {
			t.Errorf("%s: %s", r.Name, r.Error)
		}
	}
	if got := f.calls.Load(); got != want {
		t.Errorf("the SDKs reached the model %d times for %d calls: something was retried", got, want)
	}
}
