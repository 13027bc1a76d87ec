package console_test

import (
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/modelgate/modelgate/access"
	"github.com/modelgate/modelgate/audit"
	"github.com/modelgate/modelgate/config"
	"github.com/modelgate/modelgate/internal/servertest"
	"github.com/modelgate/modelgate/registry"
	"github.com/modelgate/modelgate/registry/registrytest"
	"github.com/modelgate/modelgate/server"
	"github.com/modelgate/modelgate/store"
	"github.com/modelgate/modelgate/store/sqlite"
)

// fixture is a running gateway with a registry route to a model in
// production, an admin key and an application key.
type fixture struct {
	srv              *server.Server
	dir              string
	adminKey, appKey string
	spareKey         string // another application's, never revoked
	appID, adminID   string
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"choices":[{"message":{"role":"assistant","content":"ok"}}],"usage":{"prompt_tokens":1,"completion_tokens":1}}`)
	}))
	t.Cleanup(up.Close)
	cfg, err := config.Parse("test", []byte("guards:\n  default: standard\n"+strings.SplitN(config.StandardGuards, "  default: standard\n", 2)[1]))
	if err != nil {
		t.Fatal(err)
	}
	cfg.Routes = []*store.Route{{Model: "fraud", Registry: "fraud", Protocol: store.ProtocolOpenAI, Upstream: store.Upstream{URL: up.URL + "/v1"}}}
	srv, _ := servertest.Start(t, cfg)
	f := &fixture{srv: srv, dir: cfg.DataDir}
	ctx := context.Background()
	k, secret, err := access.CreateKey(ctx, srv.Store(), access.KeySpec{Name: "ops", Scopes: []string{"admin"}, Models: []string{"*"}}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	f.adminKey, f.adminID = secret, k.ID
	k, secret, err = access.CreateKey(ctx, srv.Store(), access.KeySpec{Name: "billing-app", Scopes: []string{"inference:invoke"}, Models: []string{"*"}}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	f.appKey, f.appID = secret, k.ID
	if _, f.spareKey, err = access.CreateKey(ctx, srv.Store(), access.KeySpec{Name: "reporting-app", Scopes: []string{"inference:invoke"}, Models: []string{"*"}}, time.Now()); err != nil {
		t.Fatal(err)
	}
	reg := registrytest.NewSigning(t, srv.Store().(registry.Store))
	reg.Staged(t, t.TempDir(), "fraud", "1")
	if _, err := reg.Promote(ctx, "fraud@1", registry.Production); err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *fixture) ui() string { return "http://" + f.srv.AdminAddr().String() + "/ui/" }

// infer calls the gateway with the application key and returns the
// status.
func (f *fixture) infer(t *testing.T) int {
	t.Helper()
	return f.inferWith(t, f.appKey)
}

// inferWith calls the gateway with a key and returns the status.
func (f *fixture) inferWith(t *testing.T, key string) int {
	t.Helper()
	req, _ := http.NewRequest("POST", "http://"+f.srv.Addr().String()+"/v1/chat/completions",
		strings.NewReader(`{"model":"fraud","messages":[{"role":"user","content":"score this transaction"}]}`))
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// events returns the audit log's events of an action once there are at
// least want of them (the log moves durable events into its tree in the
// background), or what there is after five seconds.
func (f *fixture) events(t *testing.T, action string, want int) []*audit.Event {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		st, err := sqlite.OpenAuditDir(context.Background(), f.dir)
		if err != nil {
			t.Fatal(err)
		}
		var out []*audit.Event
		audit.Query(context.Background(), st, audit.Filter{Action: action}, func(ev *audit.Event, _ *store.AuditLeaf) error {
			out = append(out, ev)
			return nil
		})
		st.Close()
		if len(out) >= want || time.Now().After(deadline) {
			return out
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// browser is an HTTP client with a cookie jar that does not follow
// redirects, so that tests see them.
type browser struct {
	t *testing.T
	c *http.Client
}

func newBrowser(t *testing.T) *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: t, c: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

func (b *browser) do(method, u string, form url.Values, header ...string) (*http.Response, string) {
	b.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, _ := http.NewRequest(method, u, body)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := b.c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return resp, string(raw)
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// csrf reads the session's token from a page.
func csrf(t *testing.T, page string) string {
	t.Helper()
	m := csrfField.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no CSRF token on the page:\n%.400s", page)
	}
	return m[1]
}
