package probe

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/modelgate/modelgate/access"
	"github.com/modelgate/modelgate/config"
	"github.com/modelgate/modelgate/internal/testpki"
	"github.com/modelgate/modelgate/server"
	"github.com/modelgate/modelgate/store"
)

// weakServer is a model server with every fault the probe looks for: no
// authentication, every method, TRACE echo, reflected CORS with
// credentials, Python tracebacks, a versioned Server header, no body or
// rate limit, and open Ollama, Ray and vLLM admin paths. Its TLS accepts
// 1.0 and its certificate comes from a CA the probe does not trust.
func weakServer(t *testing.T) *httptest.Server {
	mux := http.NewServeMux()
	mux.HandleFunc("/v1/chat/completions", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Server", "Werkzeug/3.0.1 Python/3.11.4")
		if o := r.Header.Get("Origin"); o != "" {
			w.Header().Set("Access-Control-Allow-Origin", o)
			w.Header().Set("Access-Control-Allow-Credentials", "true")
		}
		switch r.Method {
		case "TRACE":
			fmt.Fprintf(w, "TRACE %s HTTP/1.1\r\nAuthorization: %s\r\n", r.URL.Path, r.Header.Get("Authorization"))
			return
		case "POST":
			b, _ := io.ReadAll(r.Body)
			if !strings.HasSuffix(strings.TrimSpace(string(b)), "}") {
				w.WriteHeader(500)
				io.WriteString(w, "Traceback (most recent call last):\n  File \"/app/server.py\", line 42, in chat\njson.decoder.JSONDecodeError")
				return
			}
		}
		io.WriteString(w, `{"choices":[{"message":{"content":"ok"}}]}`)
	})
	mux.HandleFunc("/api/tags", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, `{"models":[{"name":"llama3:8b"}]}`) })
	mux.HandleFunc("/api/version", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, `{"ray_version":"2.9.0","version":"4"}`)
	})
	mux.HandleFunc("/metrics", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "vllm:num_requests_running 0\n") })
	// Everything else: a catch-all page that answers 200, which must not
	// be taken for an admin API.
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "<html>welcome</html>") })
	s := httptest.NewUnstartedServer(mux)
	ca := testpki.NewCA(t, "untrusted")
	s.TLS = &tls.Config{Certificates: []tls.Certificate{ca.Server()}, MinVersion: tls.VersionTLS10,
		CipherSuites: []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA, tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256}}
	s.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused weak handshakes
	s.StartTLS()
	t.Cleanup(s.Close)
	return s
}

func issues(res *Result) []string {
	var out []string
	for _, is := range res.Issues {
		if !slices.Contains(out, is.Rule) {
			out = append(out, is.Rule)
		}
	}
	slices.Sort(out)
	return out
}

func checkStatus(res *Result) map[string]Status {
	m := map[string]Status{}
	for _, c := range res.Checks {
		m[c.Name] = c.Status
	}
	return m
}

func TestWeakServer(t *testing.T) {
	s := weakServer(t)
	res, err := Run(context.Background(), s.URL, Options{Burst: 20, MaxBody: 2 << 20})
	if err != nil {
		t.Fatal(err)
	}
	got := issues(res)
	for _, is := range res.Issues {
		t.Logf("%s %s", is.Rule, is.Evidence)
	}
	want := []string{"PS-EP-002", "PS-EP-003", "PS-EP-004", "PS-EP-006", "PS-EP-007", "PS-EP-008", "PS-EP-009", "PS-EP-010", "PS-EP-012", "PS-EP-013", "PS-EP-014"}
	for _, w := range want {
		if !slices.Contains(got, w) {
			t.Errorf("%s not found; issues %v", w, res.Issues)
		}
	}
	var admin []string
	for _, is := range res.Issues {
		if is.Rule == "PS-EP-014" {
			admin = append(admin, is.Evidence)
		}
	}
	if len(admin) != 3 {
		t.Errorf("admin APIs: want Ollama, Ray and vLLM metrics, not the catch-all: %q", admin)
	}
	for name, st := range checkStatus(res) {
		if st != Fail {
			t.Errorf("check %s: %s, want fail", name, st)
		}
	}
	if res.Requests > 400 {
		t.Errorf("%d requests: over the budget", res.Requests)
	}
	rep := Report([]*Result{res})
	if rep.Summary.Highest != "critical" {
		t.Errorf("highest severity %q", rep.Summary.Highest)
	}
}

// gateway starts modelgate's own server in front of a model and returns
// it with its CA and a key limited to rpm requests a minute.
func gateway(t *testing.T, rpm int64) (url string, ca *testpki.CA, key string) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"id":"x","object":"chat.completion","choices":[{"index":0,"message":{"role":"assistant","content":"ok"},"finish_reason":"stop"}],"usage":{"prompt_tokens":1,"completion_tokens":1,"total_tokens":2}}`)
	}))
	t.Cleanup(up.Close)
	dir := t.TempDir()
	ca = testpki.NewCA(t, "gateway")
	certFile, keyFile := testpki.WritePair(t, dir, "server", ca.Server())
	cfg := config.Default()
	cfg.Listen, cfg.AdminListen, cfg.DataDir = "127.0.0.1:0", "127.0.0.1:0", t.TempDir()
	cfg.TLS = &config.TLS{CertFile: certFile, KeyFile: keyFile, MinVersion: tls.VersionTLS12}
	cfg.Routes = []*store.Route{{Model: "llama3", Protocol: store.ProtocolOpenAI, Upstream: store.Upstream{URL: up.URL + "/v1"}}}
	s, err := server.New(context.Background(), cfg, server.Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	_, key, err = access.CreateKey(context.Background(), s.Store(), access.KeySpec{Name: "probe", Scopes: []string{"inference:invoke"},
		Models: []string{"*"}, Limits: access.Limits{RPM: rpm}}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return "https://" + s.Addr().String(), ca, key
}

// TestModelgateGateway: the gateway passes every check, enforces the
// configured body limit and refuses the 61st request of a 60-rpm key.
func TestModelgateGateway(t *testing.T) {
	url, ca, key := gateway(t, 60)
	res, err := Run(context.Background(), url, Options{Roots: ca.Pool(), Key: key, Model: "llama3", ExpiryWarning: time.Hour,
		Expect: Expectations{RPM: 60, MaxBodyBytes: 1 << 20}})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Issues) != 0 {
		t.Errorf("issues: %+v", res.Issues)
	}
	for name, st := range checkStatus(res) {
		if st != Pass {
			t.Errorf("check %s: %s", name, st)
		}
	}
	for _, c := range res.Checks {
		t.Logf("%-10s %-5s %s", c.Name, c.Status, c.Detail)
	}
}

// TestConfigMismatch: told the key has 60 rpm when the gateway gives it
// 600, the probe reports that the endpoint does not enforce what it was
// told.
func TestConfigMismatch(t *testing.T) {
	url, ca, key := gateway(t, 600)
	res, err := Run(context.Background(), url, Options{Roots: ca.Pool(), Key: key, Model: "llama3", ExpiryWarning: time.Hour,
		Expect: Expectations{RPM: 60, MaxBodyBytes: 4096}, Skip: []string{"methods", "cors", "errors", "admin-apis"}})
	if err != nil {
		t.Fatal(err)
	}
	var ev []string
	for _, is := range res.Issues {
		if is.Rule == "PS-EP-015" {
			ev = append(ev, is.Evidence)
		}
	}
	if len(ev) != 2 {
		t.Errorf("want the rate and the body limit reported as not enforced: %+v", res.Issues)
	}
}

// TestScope: the probe refuses hosts outside loopback unless allowed,
// and its dialler refuses them whatever a redirect or DNS says.
func TestScope(t *testing.T) {
	if _, err := Run(context.Background(), "http://192.0.2.10:8000/", Options{}); !errors.Is(err, ErrNotAllowed) {
		t.Errorf("a TEST-NET address: %v", err)
	}
	for _, bad := range []string{"ftp://127.0.0.1/", "127.0.0.1:8000", "http://"} {
		if _, err := Run(context.Background(), bad, Options{}); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	dial := Options{AllowHosts: []string{"127.0.0.1"}}.dialer()
	if _, err := dial(context.Background(), "tcp", "192.0.2.10:80"); !errors.Is(err, ErrNotAllowed) {
		t.Errorf("dialling outside the scope: %v", err)
	}
	// A redirect to elsewhere is reported, not followed.
	elsewhere := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "http://192.0.2.10/steal", http.StatusFound)
	}))
	defer elsewhere.Close()
	res, err := Run(context.Background(), elsewhere.URL, Options{Burst: 3, MaxBody: 1 << 10})
	if err != nil {
		t.Fatal(err)
	}
	if res.Requests == 0 || !slices.Contains(issues(res), "PS-EP-001") {
		t.Errorf("plain HTTP not reported: %d requests, %v", res.Requests, res.Issues)
	}
}

// TestBudget: a probe never sends more than its budget.
func TestBudget(t *testing.T) {
	s := weakServer(t)
	res, err := Run(context.Background(), s.URL, Options{MaxRequests: 15, Burst: 1000, MaxBody: 1 << 10})
	if err != nil {
		t.Fatal(err)
	}
	if res.Requests > 15 {
		t.Errorf("%d requests with a budget of 15", res.Requests)
	}
	if checkStatus(res)["rate-limit"] != Inconclusive {
		t.Errorf("rate-limit with the budget spent: %v", res.Checks)
	}
}

// TestSixtyFirstRequest: with nothing else spending the key's allowance,
// a 60-rpm key gets 60 answers and the 61st request 429.
func TestSixtyFirstRequest(t *testing.T) {
	url, ca, key := gateway(t, 60)
	skip := slices.DeleteFunc(slices.Clone(Checks), func(c string) bool { return c == "rate-limit" })
	res, err := Run(context.Background(), url, Options{Roots: ca.Pool(), Key: key, Model: "llama3", Expect: Expectations{RPM: 60}, Skip: skip})
	if err != nil {
		t.Fatal(err)
	}
	c := res.Checks[len(res.Checks)-1]
	if c.Status != Pass || !strings.HasPrefix(c.Detail, "429 at request 61 ") {
		t.Errorf("rate-limit: %+v", c)
	}
}
