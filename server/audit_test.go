package server

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/modelgate/modelgate/access"
	"github.com/modelgate/modelgate/admin"
	"github.com/modelgate/modelgate/audit"
	"github.com/modelgate/modelgate/config"
	"github.com/modelgate/modelgate/gateway"
	"github.com/modelgate/modelgate/store"
	_ "modernc.org/sqlite"
)

// auditFixture is a running server in front of a counting upstream.
type auditFixture struct {
	t        *testing.T
	srv      *Server
	key      string
	upstream *httptest.Server
	calls    atomic.Int64
	stop     func() // stops the server; it is stopped at cleanup otherwise
}

const secretAnswer = "the upstream's answer"

func newAuditFixture(t *testing.T, edit func(*config.Config), opts ...func(*Options)) *auditFixture {
	t.Helper()
	f := &auditFixture{t: t}
	f.upstream = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.calls.Add(1)
		io.Copy(io.Discard, r.Body)
		if strings.Contains(r.Header.Get("Accept"), "event-stream") {
			w.Header().Set("Content-Type", "text/event-stream")
			io.WriteString(w, "data: {\"choices\":[{\"delta\":{\"content\":\"streamed\"}}]}\n\ndata: [DONE]\n\n")
			return
		}
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"choices":[{"message":{"content":"`+secretAnswer+`"}}],"usage":{"prompt_tokens":3,"completion_tokens":4}}`)
	}))
	t.Cleanup(f.upstream.Close)
	cfg := testConfig(t)
	cfg.Routes = []*store.Route{{Model: "m", Protocol: store.ProtocolOpenAI, Upstream: store.Upstream{URL: f.upstream.URL + "/v1"}}}
	if edit != nil {
		edit(cfg)
	}
	o := quiet()
	for _, fn := range opts {
		fn(&o)
	}
	s, err := New(context.Background(), cfg, o)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	var once sync.Once
	f.stop = func() { once.Do(func() { cancel(); <-done }) }
	t.Cleanup(f.stop)
	f.srv = s
	f.key = adminKey(t, s, "inference:invoke", "admin")
	return f
}

func (f *auditFixture) post(body string, headers ...string) (*http.Response, string) {
	f.t.Helper()
	req, _ := http.NewRequest("POST", "http://"+f.srv.Addr().String()+"/v1/chat/completions", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// event waits for the event of a request id (refusals are recorded just
// after the response) and returns it.
func (f *auditFixture) event(requestID string) *audit.Event {
	f.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		var found *audit.Event
		err := audit.Query(context.Background(), f.srv.auditDB, audit.Filter{RequestID: requestID}, func(ev *audit.Event, _ *store.AuditLeaf) error {
			if ev.Action != audit.ActionStreamStart {
				found = ev // a stream's record is its end, after its start
			}
			return nil
		})
		if err != nil {
			f.t.Fatal(err)
		}
		if found != nil {
			return found
		}
		if time.Now().After(deadline) {
			f.t.Fatalf("no audit event for request %s", requestID)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

const body = `{"model":"m","messages":[{"role":"user","content":"hello"}]}`

func TestEveryRequestIsRecorded(t *testing.T) {
	f := newAuditFixture(t, func(c *config.Config) { c.RateLimits.IP.RPM, c.RateLimits.IP.Burst = 600, 8 })
	auth := []string{"Authorization", "Bearer " + f.key}
	cases := []struct {
		name            string
		body            string
		headers         []string
		status          int
		action, outcome string
		reason          string
	}{
		{"allowed", body, auth, 200, audit.ActionInvoke, audit.Allowed, ""},
		{"stream", strings.Replace(body, `"m",`, `"m","stream":true,`, 1), auth, 200, audit.ActionInvoke, audit.Allowed, ""},
		{"no key", body, nil, 401, audit.ActionDenied, audit.Denied, access.CodeMissingKey},
		{"bad key", body, []string{"Authorization", "Bearer mg_nope"}, 401, audit.ActionDenied, audit.Denied, access.CodeInvalidKey},
		{"unknown model", strings.Replace(body, `"m"`, `"x"`, 1), auth, 404, audit.ActionDenied, audit.Denied, "model_not_found"},
		{"bad json", `{"model":`, auth, 400, audit.ActionDenied, audit.Denied, "invalid_json"},
		{"too big", `{"model":"m","x":"` + strings.Repeat("a", 2<<20) + `"}`, auth, 413, audit.ActionDenied, audit.Denied, "request_too_large"},
	}
	for _, tc := range cases {
		resp, _ := f.post(tc.body, tc.headers...)
		if resp.StatusCode != tc.status {
			t.Fatalf("%s: status %d, want %d", tc.name, resp.StatusCode, tc.status)
		}
		ev := f.event(resp.Header.Get("X-Request-Id"))
		if ev.Action != tc.action || ev.Decision.Outcome != tc.outcome || ev.Decision.Reason != tc.reason || ev.HTTP.Status != tc.status {
			t.Errorf("%s: event %s %s/%s status %d", tc.name, ev.Action, ev.Decision.Outcome, ev.Decision.Reason, ev.HTTP.Status)
		}
		if tc.name == "stream" {
			var start *audit.Event
			audit.Query(context.Background(), f.srv.auditDB, audit.Filter{RequestID: ev.RequestID, Action: audit.ActionStreamStart}, func(e *audit.Event, _ *store.AuditLeaf) error {
				start = e
				return nil
			})
			if start == nil || start.Index > ev.Index || start.HTTP.Status != 200 {
				t.Errorf("stream: start %+v before end %d", start, ev.Index)
			}
		}
	}
	// Rate limiting, recorded too: the burst of 8 is spent by now.
	var limited bool
	for range 10 {
		resp, _ := f.post(body, auth...)
		if resp.StatusCode == 429 {
			ev := f.event(resp.Header.Get("X-Request-Id"))
			limited = ev.Decision.Reason == "rate_limit_exceeded"
			break
		}
	}
	if !limited {
		t.Error("no recorded 429")
	}
	r, err := audit.Verify(context.Background(), f.srv.auditDB, f.srv.audit.Verifier())
	if err != nil {
		t.Fatal(err)
	}
	if r.Events < 10 {
		t.Fatalf("only %d events", r.Events)
	}
}

func mustID(t *testing.T, f *auditFixture, b string, headers []string) string {
	resp, _ := f.post(b, headers...)
	return resp.Header.Get("X-Request-Id")
}

func TestAllowedEventContents(t *testing.T) {
	f := newAuditFixture(t, nil)
	resp, _ := f.post(body, "Authorization", "Bearer "+f.key, "User-Agent", "billing-app/1.2")
	ev := f.event(resp.Header.Get("X-Request-Id"))
	id, _, _ := access.ParseKey(f.key)
	if ev.Actor.Kind != audit.ActorAPIKey || ev.Actor.ID != id || ev.Actor.IP != "127.0.0.1" || ev.Actor.UserAgent != "billing-app/1.2" {
		t.Errorf("actor %+v", ev.Actor)
	}
	if ev.Resource.Model != "m" || ev.Resource.Route != "m" || ev.Usage == nil || ev.Usage.PromptTokens != 3 || ev.Usage.CompletionTokens != 4 {
		t.Errorf("resource %+v usage %+v", ev.Resource, ev.Usage)
	}
	if ev.Payloads.Input == nil || ev.Payloads.Input.Mode != audit.CaptureHash || ev.Payloads.Output == nil || ev.LatencyUS <= 0 || ev.UpstreamLatencyUS <= 0 {
		t.Errorf("payloads %+v latency %d/%d", ev.Payloads, ev.LatencyUS, ev.UpstreamLatencyUS)
	}
	// hash mode keeps no bytes, only the salt.
	leaf, _ := f.srv.auditDB.AuditLeaf(context.Background(), ev.Index)
	if leaf.Input == nil || leaf.Input.Data != nil || len(leaf.Input.Salt) != 16 {
		t.Errorf("stored input %+v", leaf.Input)
	}
	if strings.Contains(string(leaf.Data), "hello") || strings.Contains(string(leaf.Data), f.key) {
		t.Error("the leaf holds the prompt or the key")
	}
}

func TestCaptureModes(t *testing.T) {
	redact := func(next gateway.Handler) gateway.Handler {
		return func(x *gateway.Exchange) {
			x.Body = bytes.ReplaceAll(x.Body, []byte("hello"), []byte("[REDACTED]"))
			next(x)
		}
	}
	f := newAuditFixture(t, func(c *config.Config) {
		c.Routes = append(c.Routes,
			&store.Route{Model: "full", Protocol: "openai", Upstream: c.Routes[0].Upstream, Capture: &store.Capture{Input: "full", Output: "full"}},
			&store.Route{Model: "redacted", Protocol: "openai", Upstream: c.Routes[0].Upstream, Capture: &store.Capture{Input: "redacted", Output: "none"}},
			&store.Route{Model: "none", Protocol: "openai", Upstream: c.Routes[0].Upstream, Capture: &store.Capture{Input: "none", Output: "none"}})
	}, func(o *Options) { o.Hooks.Input = []gateway.Middleware{redact} })
	auth := []string{"Authorization", "Bearer " + f.key}
	leafOf := func(model string) (*audit.Event, *store.AuditLeaf) {
		b := strings.Replace(body, `"m"`, `"`+model+`"`, 1)
		ev := f.event(mustID(t, f, b, auth))
		leaf, err := f.srv.auditDB.AuditLeaf(context.Background(), ev.Index)
		if err != nil {
			t.Fatal(err)
		}
		return ev, leaf
	}
	ev, leaf := leafOf("full")
	if string(leaf.Input.Data) != strings.Replace(body, `"m"`, `"full"`, 1) || !strings.Contains(string(leaf.Output.Data), secretAnswer) {
		t.Errorf("full capture: %q / %q", leaf.Input.Data, leaf.Output.Data)
	}
	if !audit.CheckPayload(ev.Payloads.Input, leaf.Input.Salt, leaf.Input.Data) {
		t.Error("full input does not match its digest")
	}
	ev, leaf = leafOf("redacted")
	if !strings.Contains(string(leaf.Input.Data), "[REDACTED]") || strings.Contains(string(leaf.Input.Data), "hello") || ev.Payloads.Output != nil {
		t.Errorf("redacted capture: %q, output %+v", leaf.Input.Data, ev.Payloads.Output)
	}
	ev, leaf = leafOf("none")
	if ev.Payloads.Input != nil || ev.Payloads.Output != nil || leaf.Input != nil {
		t.Errorf("none capture recorded payloads: %+v", ev.Payloads)
	}
}

// breakAudit makes every write to the audit log fail, as a full disk
// would, and returns a function that repairs it.
func breakAudit(t *testing.T, s *Server) (repair func()) {
	t.Helper()
	db, err := sql.Open("sqlite", s.auditDB.(interface{ Path() string }).Path()+"?_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := db.Exec(`CREATE TRIGGER broken BEFORE INSERT ON audit_batches BEGIN SELECT RAISE(ABORT, 'disk full (test)'); END`); err != nil {
		t.Fatal(err)
	}
	return func() {
		if _, err := db.Exec(`DROP TRIGGER broken`); err != nil {
			t.Fatal(err)
		}
	}
}

func TestFailClosed(t *testing.T) {
	f := newAuditFixture(t, nil)
	auth := []string{"Authorization", "Bearer " + f.key}
	if resp, _ := f.post(body, auth...); resp.StatusCode != 200 {
		t.Fatal(resp.Status)
	}
	repair := breakAudit(t, f.srv)
	// The next request's event is safe in the journal, but the sequencer
	// cannot move it into the log, and says so.
	f.post(body, auth...)
	f.waitReady(503)

	// A response the log cannot record is withheld: 503, and nothing of
	// what the upstream said.
	resp, got := f.post(body, auth...)
	if resp.StatusCode != 503 || !strings.Contains(got, "audit_unavailable") || strings.Contains(got, secretAnswer) {
		t.Fatalf("unrecordable response: %d %s", resp.StatusCode, got)
	}
	// Streams are refused before the upstream is called.
	calls := f.calls.Load()
	resp, got = f.post(strings.Replace(body, `"m",`, `"m","stream":true,`, 1), auth...)
	if resp.StatusCode != 503 || !strings.Contains(got, "audit_unavailable") {
		t.Fatalf("stream while the log is down: %d %s", resp.StatusCode, got)
	}
	if f.calls.Load() != calls {
		t.Fatal("the upstream was called for a stream the log could not record")
	}
	// Readiness says so, and admin changes are refused.
	resp2, err := http.Get("http://" + f.srv.AdminAddr().String() + "/readyz")
	if err != nil || resp2.StatusCode != 503 {
		t.Fatalf("readyz while the log is down: %v %v", resp2.Status, err)
	}
	resp2.Body.Close()
	req, _ := http.NewRequest("POST", "http://"+f.srv.AdminAddr().String()+"/admin/v1/keys",
		strings.NewReader(`{"name":"x","scopes":["admin"],"models":["*"]}`))
	req.Header.Set("Authorization", "Bearer "+f.key)
	resp2, err = http.DefaultClient.Do(req)
	if err != nil || resp2.StatusCode != 503 {
		t.Fatalf("admin change while the log is down: %v %v", resp2.Status, err)
	}
	resp2.Body.Close()

	repair()
	f.waitReady(200)
	if resp, got := f.post(body, auth...); resp.StatusCode != 200 || !strings.Contains(got, secretAnswer) {
		t.Fatalf("after repair: %d %s", resp.StatusCode, got)
	}
	if _, err := audit.Verify(context.Background(), f.srv.auditDB, f.srv.audit.Verifier()); err != nil {
		t.Fatal(err)
	}
}

func TestBestEffortKeepsServing(t *testing.T) {
	f := newAuditFixture(t, func(c *config.Config) { c.Audit.Mode = "best_effort" })
	auth := []string{"Authorization", "Bearer " + f.key}
	repair := breakAudit(t, f.srv)
	var ids []string
	for range 3 {
		resp, got := f.post(body, auth...)
		if resp.StatusCode != 200 || !strings.Contains(got, secretAnswer) {
			t.Fatalf("best_effort with a broken log: %d %s", resp.StatusCode, got)
		}
		ids = append(ids, resp.Header.Get("X-Request-Id"))
	}
	for deadline := time.Now().Add(5 * time.Second); f.srv.audit.Healthy() == nil; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the log never reported its failure")
		}
	}
	// Kept in the journal meanwhile, the events reach the log once it
	// works again.
	repair()
	for _, id := range ids {
		f.event(id)
	}
}

// waitSequenced waits until the journals' events are in the log.
func (f *auditFixture) waitSequenced() {
	f.t.Helper()
	if err := f.srv.auditDB.(store.AuditJournal).WaitSequenced(context.Background()); err != nil {
		f.t.Fatal(err)
	}
}

// waitReady waits until /readyz answers status.
func (f *auditFixture) waitReady(status int) {
	f.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		resp, err := http.Get("http://" + f.srv.AdminAddr().String() + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == status {
				return
			}
		}
		if time.Now().After(deadline) {
			f.t.Fatalf("/readyz never answered %d", status)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestAdminChangesAreRecorded(t *testing.T) {
	f := newAuditFixture(t, nil)
	req, _ := http.NewRequest("POST", "http://"+f.srv.AdminAddr().String()+"/admin/v1/keys",
		strings.NewReader(`{"name":"team-b","scopes":["inference:invoke"],"models":["m"]}`))
	req.Header.Set("Authorization", "Bearer "+f.key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 201 {
		t.Fatalf("%v %v", resp.Status, err)
	}
	var created struct {
		Key struct {
			ID string `json:"id"`
		} `json:"key"`
	}
	json.NewDecoder(resp.Body).Decode(&created)
	resp.Body.Close()
	f.waitSequenced()
	var ev *audit.Event
	err = audit.Query(context.Background(), f.srv.auditDB, audit.Filter{Action: admin.ActionKeyCreate}, func(e *audit.Event, _ *store.AuditLeaf) error {
		ev = e
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	adminID, _, _ := access.ParseKey(f.key)
	if ev == nil || ev.Resource.ID != created.Key.ID || ev.Actor.Kind != audit.ActorAdmin || ev.Actor.ID != "api_key:"+adminID || ev.Details["name"] != "team-b" {
		t.Fatalf("key.create event %+v", ev)
	}
}

func TestRetentionBoundary(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	l, db, err := OpenAudit(ctx, dir, audit.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	defer l.Close()
	now := time.Now()
	// Event 3 is old but recorded after a young one, as a long request is.
	for _, age := range []time.Duration{3 * time.Hour, 2 * time.Hour, 10 * time.Minute, 2 * time.Hour, 0} {
		ev := &audit.Event{Time: now.Add(-age), Actor: audit.Actor{Kind: audit.ActorSystem, ID: "test"},
			Action: audit.ActionInvoke, Decision: audit.Decision{Outcome: audit.Allowed}}
		if err := l.Append(ctx, ev); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.WaitSequenced(ctx); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		from   int64
		cutoff time.Duration
		want   int64
	}{
		{0, time.Hour, 2},     // stops at the first young event, not at 4
		{3, time.Hour, 4},     // from where the last run stopped
		{0, 4 * time.Hour, 0}, // nothing is old enough
		{0, -time.Hour, 5},    // everything is
	} {
		got, err := retentionBoundary(ctx, db, tc.from, now.Add(-tc.cutoff))
		if err != nil || got != tc.want {
			t.Errorf("from %d, older than %s: boundary %d (%v), want %d", tc.from, tc.cutoff, got, err, tc.want)
		}
	}
}
