package server

import (
	"context"
	"crypto/tls"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/modelgate/modelgate/access"
	"github.com/modelgate/modelgate/config"
	"github.com/modelgate/modelgate/internal/testpki"
	"github.com/modelgate/modelgate/store"
)

func testConfig(t *testing.T) *config.Config {
	cfg := config.Default()
	cfg.Listen, cfg.AdminListen, cfg.DataDir = "127.0.0.1:0", "127.0.0.1:0", t.TempDir()
	cfg.ShutdownGrace = 5 * time.Second
	return cfg
}

func quiet() Options { return Options{Logger: slog.New(slog.DiscardHandler)} }

func TestRefusesPlaintextOnOpenListener(t *testing.T) {
	for _, addr := range []string{"0.0.0.0:0", ":0", "192.0.2.1:8080"} {
		cfg := testConfig(t)
		cfg.Listen = addr
		_, err := New(context.Background(), cfg, quiet())
		if err == nil || !strings.Contains(err.Error(), "--insecure-plaintext") {
			t.Errorf("listen %s without TLS: %v", addr, err)
		}
	}
	cfg := testConfig(t)
	cfg.Listen, cfg.InsecurePlaintext = "0.0.0.0:0", true
	s, err := New(context.Background(), cfg, quiet())
	if err != nil {
		t.Fatalf("with --insecure-plaintext: %v", err)
	}
	s.Close()
}

func start(t *testing.T, cfg *config.Config) (*Server, context.CancelFunc, chan error) {
	t.Helper()
	s, err := New(context.Background(), cfg, quiet())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	return s, cancel, done
}

func adminKey(t *testing.T, s *Server, scopes ...string) string {
	_, key, err := access.CreateKey(context.Background(), s.Store(), access.KeySpec{Name: "t", Scopes: scopes, Models: []string{"*"}}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return key
}

// TestGracefulShutdownDrains starts a slow request, stops the server while
// it is in flight, and checks the request still completes.
func TestGracefulShutdownDrains(t *testing.T) {
	inside := make(chan struct{})
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(inside)
		time.Sleep(300 * time.Millisecond)
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"choices":[{"message":{"content":"done"}}]}`)
	}))
	defer upstream.Close()
	cfg := testConfig(t)
	cfg.Routes = []*store.Route{{Model: "slow", Protocol: store.ProtocolOpenAI, Upstream: store.Upstream{URL: upstream.URL + "/v1"}}}
	s, stop, done := start(t, cfg)
	key := adminKey(t, s, "inference:invoke")

	result := make(chan int)
	go func() {
		req, _ := http.NewRequest("POST", "http://"+s.Addr().String()+"/v1/chat/completions",
			strings.NewReader(`{"model":"slow","messages":[{"role":"user","content":"x"}]}`))
		req.Header.Set("Authorization", "Bearer "+key)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Logf("in-flight request: %v", err)
			result <- -1
			return
		}
		resp.Body.Close()
		result <- resp.StatusCode
	}()
	<-inside
	stop() // what SIGTERM does
	if status := <-result; status != 200 {
		t.Fatalf("in-flight request during shutdown: %d", status)
	}
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
	done <- nil // for the cleanup
	if _, err := http.Get("http://" + s.Addr().String() + "/v2/health/live"); err == nil {
		t.Error("the listener still accepts connections after shutdown")
	}
}

func TestConfigRoutesAreApplied(t *testing.T) {
	cfg := testConfig(t)
	cfg.Routes = []*store.Route{{Model: "a", Protocol: "openai", Upstream: store.Upstream{URL: "http://127.0.0.1:1/v1"}}}
	s, err := New(context.Background(), cfg, quiet())
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	cfg.Routes = []*store.Route{{Model: "b", Protocol: "openai", Upstream: store.Upstream{URL: "http://127.0.0.1:1/v1"}}}
	s, err = New(context.Background(), cfg, quiet())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	routes, _ := s.Store().ListRoutes(context.Background())
	if len(routes) != 1 || routes[0].Model != "b" {
		t.Fatalf("routes after the file changed: %+v", routes)
	}
}

func TestTLSAndClientCertificates(t *testing.T) {
	dir := t.TempDir()
	ca := testpki.NewCA(t, "test")
	certFile, keyFile := testpki.WritePair(t, dir, "server", ca.Server())
	cfg := testConfig(t)
	cfg.TLS = &config.TLS{CertFile: certFile, KeyFile: keyFile, MinVersion: tls.VersionTLS13, ClientCA: ca.WriteCA(dir), RequireClientCert: true}
	cfg.Identities = []access.CertIdentity{{Name: "svc", CommonName: "svc", Scopes: []string{"models:read"}, Models: []string{"*"}}}
	s, _, _ := start(t, cfg)

	client := func(maxVersion uint16, cert *tls.Certificate) *http.Client {
		c := &tls.Config{RootCAs: ca.Pool(), MaxVersion: maxVersion}
		if cert != nil {
			c.Certificates = []tls.Certificate{*cert}
		}
		return &http.Client{Transport: &http.Transport{TLSClientConfig: c}}
	}
	svc := ca.Client("svc")
	url := "https://" + s.Addr().String() + "/v1/models"
	resp, err := client(tls.VersionTLS13, &svc).Get(url)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("mapped certificate: %d", resp.StatusCode)
	}
	if _, err := client(tls.VersionTLS12, &svc).Get(url); err == nil {
		t.Error("a TLS 1.2 client connected to a 1.3-only listener")
	}
	if resp, err := client(tls.VersionTLS13, nil).Get(url); err == nil {
		resp.Body.Close()
		t.Error("a client without a certificate got through while certificates are required")
	}
}

func TestReadyzReportsDraining(t *testing.T) {
	cfg := testConfig(t)
	s, err := New(context.Background(), cfg, quiet())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s.ready() != nil {
		t.Fatal("not ready before shutdown")
	}
	s.draining.Store(true)
	if s.ready() == nil {
		t.Fatal("ready while draining")
	}
}
