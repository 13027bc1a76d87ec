package admin

import (
	"bufio"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/modelgate/modelgate/access"
	"github.com/modelgate/modelgate/store"
	"github.com/modelgate/modelgate/store/sqlite"
	"github.com/prometheus/client_golang/prometheus"
)

type fixture struct {
	store  store.Store
	srv    *httptest.Server
	client *Client
	admin  string
	user   string
	rec    *memRecorder
}

// memRecorder keeps changes in memory and can be told to fail.
type memRecorder struct {
	mu      sync.Mutex
	changes []Change
	fail    bool
}

func (m *memRecorder) RecordChange(_ context.Context, c Change) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fail {
		return errors.New("disk full")
	}
	m.changes = append(m.changes, c)
	return nil
}

func (m *memRecorder) actions() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []string
	for _, c := range m.changes {
		out = append(out, c.Action+":"+c.Outcome)
	}
	return out
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	st, err := sqlite.OpenDir(context.Background(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	f := &fixture{store: st, rec: &memRecorder{}}
	reg := prometheus.NewRegistry()
	reg.MustRegister(prometheus.NewCounter(prometheus.CounterOpts{Name: "modelgate_test_total", Help: "x"}))
	h := New(Options{Store: st, Gatherer: reg, Logger: slog.New(slog.DiscardHandler), Recorder: f.rec})
	f.srv = httptest.NewServer(h)
	t.Cleanup(f.srv.Close)
	_, f.admin, err = access.CreateKey(context.Background(), st, access.KeySpec{Name: "ops", Scopes: []string{"admin"}, Models: []string{"*"}}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	_, f.user, _ = access.CreateKey(context.Background(), st, access.KeySpec{Name: "app", Scopes: []string{"inference:invoke"}, Models: []string{"*"}}, time.Now())
	f.client = &Client{BaseURL: f.srv.URL, Key: f.admin}
	return f
}

func wantAPIError(t *testing.T, err error, status int, code string) {
	t.Helper()
	var ae *APIError
	if !errors.As(err, &ae) || ae.Status != status || ae.Code != code {
		t.Fatalf("want %d %s, got %v", status, code, err)
	}
}

func TestAdminRequiresAdminScope(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	_, err := (&Client{BaseURL: f.srv.URL}).ListKeys(ctx)
	wantAPIError(t, err, 401, access.CodeMissingKey)
	_, err = (&Client{BaseURL: f.srv.URL, Key: f.user}).ListKeys(ctx)
	wantAPIError(t, err, 403, "insufficient_scope")
	if _, err := f.client.ListKeys(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestKeyLifecycle(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	created, err := f.client.CreateKey(ctx, NewKeyRequest{Name: "team-a", Scopes: []string{"inference:invoke"},
		Models: []string{"chat"}, RPM: 30, ExpiresIn: "30d"})
	if err != nil {
		t.Fatal(err)
	}
	id, _, err := access.ParseKey(created.Secret)
	if err != nil || id != created.Key.ID {
		t.Fatalf("secret %q does not carry id %q", created.Secret, created.Key.ID)
	}
	if created.Key.Status != "active" || created.Key.RPM != 30 || created.Key.ExpiresAt.Sub(time.Now()) < 29*24*time.Hour {
		t.Fatalf("created %+v", created.Key)
	}
	// Listings never show hashes or secrets.
	resp, _ := http.NewRequest("GET", f.srv.URL+"/admin/v1/keys", nil)
	resp.Header.Set("Authorization", "Bearer "+f.admin)
	raw, err := http.DefaultClient.Do(resp)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(raw.Body)
	raw.Body.Close()
	if strings.Contains(strings.ToLower(string(body)), "hash") || strings.Contains(string(body), created.Secret) {
		t.Fatalf("listing leaks secret material: %s", body)
	}

	rotated, err := f.client.RotateKey(ctx, id, RotateRequest{Grace: "1h"})
	if err != nil {
		t.Fatal(err)
	}
	if rotated.Secret == created.Secret || rotated.Key.PreviousSecretValidUntil.IsZero() {
		t.Fatalf("rotation: %+v", rotated)
	}
	revoked, err := f.client.RevokeKey(ctx, id)
	if err != nil || revoked.Status != "revoked" {
		t.Fatalf("revoke: %+v %v", revoked, err)
	}
	_, err = f.client.RotateKey(ctx, id, RotateRequest{})
	wantAPIError(t, err, 409, "conflict")
	_, err = f.client.GetKey(ctx, "nosuchkeyid0")
	wantAPIError(t, err, 404, "not_found")

	// Every change is recorded before it is made; the refused rotation
	// of a revoked key changed nothing and is not a change.
	if got := strings.Join(f.rec.actions(), ","); got != "key.create:allowed,key.rotate:allowed,key.revoke:allowed" {
		t.Errorf("changes recorded: %v", got)
	}
	if c := f.rec.changes[0]; !strings.HasPrefix(c.Actor, "api_key:") || c.IP != "127.0.0.1" || c.Details["name"] != "team-a" {
		t.Errorf("recorded change %+v", c)
	}
}

func TestRevokedAdminKeyStopsAtOnce(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	k, err := f.client.CreateKey(ctx, NewKeyRequest{Name: "second-admin", Scopes: []string{"admin"}, Models: []string{"*"}})
	if err != nil {
		t.Fatal(err)
	}
	second := &Client{BaseURL: f.srv.URL, Key: k.Secret}
	if _, err := second.ListKeys(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := f.client.RevokeKey(ctx, k.Key.ID); err != nil {
		t.Fatal(err)
	}
	_, err = second.ListKeys(ctx)
	wantAPIError(t, err, 401, access.CodeRevokedKey)
}

func TestCreateKeyValidation(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	for _, req := range []NewKeyRequest{
		{Scopes: []string{"admin"}, Models: []string{"*"}},
		{Name: "x", Models: []string{"*"}},
		{Name: "x", Scopes: []string{"superuser"}, Models: []string{"*"}},
		{Name: "x", Scopes: []string{"admin"}},
		{Name: "x", Scopes: []string{"admin"}, Models: []string{"*"}, RPM: -1},
	} {
		_, err := f.client.CreateKey(ctx, req)
		wantAPIError(t, err, 400, "invalid_field")
	}
	_, err := f.client.CreateKey(ctx, NewKeyRequest{Name: "x", Scopes: []string{"admin"}, Models: []string{"*"}, ExpiresIn: "soon"})
	wantAPIError(t, err, 400, "invalid_field")
	// An unknown field is an error, not silently ignored.
	req, _ := http.NewRequest("POST", f.srv.URL+"/admin/v1/keys", strings.NewReader(`{"name":"x","scopes":["admin"],"models":["*"],"rate":5}`))
	req.Header.Set("Authorization", "Bearer "+f.admin)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 400 || !strings.Contains(string(b), `unknown field \"rate\"`) || !strings.Contains(string(b), `"unknown_field"`) {
		t.Fatalf("%d %s", resp.StatusCode, b)
	}
	// A value of the wrong type is named by its field and JSON's terms, not
	// by Go's.
	for body, want := range map[string]string{
		`{"name":"x","scopes":"admin","models":["*"]}`:                `scopes must be an array, got a string`,
		`{"name":"x","scopes":["admin"],"models":["*"],"rpm":"fast"}`: `rpm must be an integer, got a string`,
		`{"name":"x","scopes":["admin"],"models":["*"],"rpm":1e99}`:   `rpm must be an integer, got 1e99`,
		`{"name":"x","name":"y","scopes":["admin"],"models":["*"]}`:   `duplicate key \"name\"`,
		`["not an object"]`: `the body must be a JSON object`,
	} {
		req, _ := http.NewRequest("POST", f.srv.URL+"/admin/v1/keys", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+f.admin)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 400 || !strings.Contains(string(b), want) || strings.Contains(string(b), "Go type") {
			t.Errorf("%s: %d %s, want %q", body, resp.StatusCode, b, want)
		}
	}
}

func TestRoutes(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	put := func(model, body string) (int, string) {
		req, _ := http.NewRequest("PUT", f.srv.URL+"/admin/v1/routes/"+model, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+f.admin)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if s, b := put("meta-llama/Llama-3.1-8B", `{"protocol":"openai","upstream":{"url":"http://127.0.0.1:8000/v1","timeout":"30s"}}`); s != 201 {
		t.Fatalf("create: %d %s", s, b)
	}
	if s, _ := put("meta-llama/Llama-3.1-8B", `{"protocol":"openai","upstream":{"url":"http://127.0.0.1:8001/v1"}}`); s != 200 {
		t.Fatalf("replace: %d", s)
	}
	if s, b := put("bad", `{"protocol":"openai","upstream":{"url":"file:///etc/passwd"}}`); s != 400 || !strings.Contains(b, "upstream.url") {
		t.Fatalf("bad url: %d %s", s, b)
	}
	if s, b := put("bad", `{"protocol":"openai","upstream":{"url":"http://x","timeout":"forever"}}`); s != 400 {
		t.Fatalf("bad timeout: %d %s", s, b)
	}
	routes, err := f.client.ListRoutes(ctx)
	if err != nil || len(routes) != 1 || routes[0].Upstream.URL != "http://127.0.0.1:8001/v1" || routes[0].Source != store.SourceAPI {
		t.Fatalf("routes %+v %v", routes, err)
	}
	// Routes from the configuration file are not the API's to change.
	f.store.ReplaceRoutes(ctx, store.SourceConfig, []*store.Route{{Model: "cfg", Protocol: "openai", Upstream: store.Upstream{URL: "http://x"}}})
	if s, b := put("cfg", `{"protocol":"openai","upstream":{"url":"http://y"}}`); s != 409 || !strings.Contains(b, "managed_by_config") {
		t.Fatalf("config route: %d %s", s, b)
	}
	del := func(model string) int {
		req, _ := http.NewRequest("DELETE", f.srv.URL+"/admin/v1/routes/"+model, nil)
		req.Header.Set("Authorization", "Bearer "+f.admin)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if s := del("cfg"); s != 409 {
		t.Fatalf("delete config route: %d", s)
	}
	if s := del("meta-llama/Llama-3.1-8B"); s != 204 {
		t.Fatalf("delete: %d", s)
	}
	if s := del("meta-llama/Llama-3.1-8B"); s != 404 {
		t.Fatalf("delete twice: %d", s)
	}
}

func TestIPBlocks(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	r, err := f.client.CreateIPRule(ctx, IPRuleRequest{CIDR: "203.0.113.7", Action: "deny", Comment: "scanner"})
	if err != nil || r.CIDR != "203.0.113.7/32" || r.ID == "" {
		t.Fatalf("%+v %v", r, err)
	}
	_, err = f.client.CreateIPRule(ctx, IPRuleRequest{CIDR: "10.0.0.0/8", Action: "allow", KeyID: "nosuchkey000"})
	wantAPIError(t, err, 400, "invalid_field")
	_, err = f.client.CreateIPRule(ctx, IPRuleRequest{CIDR: "10.0.0.0/99", Action: "deny"})
	wantAPIError(t, err, 400, "invalid_field")
	_, err = f.client.CreateIPRule(ctx, IPRuleRequest{CIDR: "10.0.0.0/8", Action: "block"})
	wantAPIError(t, err, 400, "invalid_field")
	rules, err := f.client.ListIPRules(ctx)
	if err != nil || len(rules) != 1 {
		t.Fatalf("%v %v", rules, err)
	}
	if err := f.client.DeleteIPRule(ctx, r.ID); err != nil {
		t.Fatal(err)
	}
	wantAPIError(t, f.client.DeleteIPRule(ctx, r.ID), 404, "not_found")
}

func TestProbesAndErrors(t *testing.T) {
	f := newFixture(t)
	get := func(method, path string) (int, string, http.Header) {
		req, _ := http.NewRequest(method, f.srv.URL+path, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b), resp.Header
	}
	if s, _, _ := get("GET", "/healthz"); s != 200 {
		t.Errorf("healthz %d", s)
	}
	if s, b, _ := get("GET", "/readyz"); s != 200 || !strings.Contains(b, "ready") {
		t.Errorf("readyz %d %s", s, b)
	}
	if s, b, _ := get("GET", "/metrics"); s != 200 || !strings.Contains(b, "modelgate_test_total") {
		t.Errorf("metrics %d", s)
	}
	if s, b, _ := get("GET", "/admin/v1/nothing"); s != 404 || !strings.Contains(b, `"not_found"`) {
		t.Errorf("unknown path: %d %s", s, b)
	}
	if s, b, h := get("DELETE", "/admin/v1/keys"); s != 405 || !strings.Contains(b, "method_not_allowed") || !strings.Contains(h.Get("Allow"), "POST") {
		t.Errorf("wrong method: %d %s %v", s, b, h)
	}
	f.store.Close()
	if s, _, _ := get("GET", "/readyz"); s != 503 {
		t.Errorf("readyz with a closed store: %d", s)
	}
}

// TestChangesFailClosed: when a change cannot be recorded it is not made.
func TestChangesFailClosed(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	f.rec.fail = true
	_, err := f.client.CreateKey(ctx, NewKeyRequest{Name: "x", Scopes: []string{"admin"}, Models: []string{"*"}})
	wantAPIError(t, err, 503, "audit_unavailable")
	_, err = f.client.CreateIPRule(ctx, IPRuleRequest{CIDR: "10.0.0.0/8", Action: "deny"})
	wantAPIError(t, err, 503, "audit_unavailable")
	f.rec.fail = false
	keys, err := f.client.ListKeys(ctx)
	if err != nil || len(keys) != 2 {
		t.Fatalf("a key was created although it could not be recorded: %d keys, %v", len(keys), err)
	}
	rules, _ := f.client.ListIPRules(ctx)
	if len(rules) != 0 {
		t.Fatal("an IP rule was created although it could not be recorded")
	}
}

func TestRefusedAdminRequestsAreRecorded(t *testing.T) {
	f := newFixture(t)
	(&Client{BaseURL: f.srv.URL, Key: f.user}).ListKeys(context.Background())
	(&Client{BaseURL: f.srv.URL}).ListKeys(context.Background())
	got := f.rec.actions()
	if len(got) != 2 || got[0] != "admin.denied:denied" {
		t.Fatalf("recorded %v", got)
	}
	if f.rec.changes[0].Reason != "insufficient_scope" || f.rec.changes[1].Reason != access.CodeMissingKey {
		t.Fatalf("reasons %+v", f.rec.changes)
	}
}

// TestRefusalWithUndeliveredBodyIsDelivered: an admin request that
// declares a body and never sends it is refused at once, and its
// connection closed.
func TestRefusalWithUndeliveredBodyIsDelivered(t *testing.T) {
	f := newFixture(t)
	addr := f.srv.Listener.Addr().String()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	io.WriteString(c, "POST /admin/v1/keys HTTP/1.1\r\nHost: "+addr+"\r\nContent-Type: application/json\r\nContent-Length: 5000\r\n\r\n")
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("no answer: %v", err)
	}
	io.Copy(io.Discard, resp.Body)
	if resp.StatusCode != 401 || !resp.Close {
		t.Fatalf("status %d, Connection: close %v", resp.StatusCode, resp.Close)
	}
	if _, err := br.ReadByte(); err != io.EOF {
		t.Fatalf("the connection stayed open: %v", err)
	}
}
