package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/modelgate/modelgate/audit"
	"github.com/modelgate/modelgate/internal/testenv"
)

// serveConfigEnv makes the test binary run `modelgate serve` instead of
// the tests, so a test can start a real server process and kill it.
const serveConfigEnv = "MODELGATE_TEST_SERVE_CONFIG"

// scanPathEnv makes the test binary run `modelgate scan model` on a path.
const scanPathEnv = "MODELGATE_TEST_SCAN_PATH"

func TestMain(m *testing.M) {
	if cfg := os.Getenv(serveConfigEnv); cfg != "" {
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		code := run(ctx, []string{"serve", "--config", cfg}, os.Stdout, os.Stderr)
		stop()
		os.Exit(code)
	}
	if path := os.Getenv(scanPathEnv); path != "" {
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		code := run(ctx, []string{"scan", "model", path}, os.Stdout, os.Stderr)
		stop()
		os.Exit(code)
	}
	testenv.Announce("cmd/modelgate (replicas, registry on PostgreSQL)", testenv.Postgres, testenv.Redis)
	os.Exit(m.Run())
}

func freeAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

type child struct {
	cmd    *exec.Cmd
	out    bytes.Buffer
	listen string
}

func startServer(t *testing.T, cfgPath, listen, admin string) *child {
	t.Helper()
	c := &child{listen: listen}
	c.cmd = exec.Command(os.Args[0], "-test.run=^$")
	c.cmd.Env = append(os.Environ(), serveConfigEnv+"="+cfgPath)
	c.cmd.Stdout, c.cmd.Stderr = &c.out, &c.out
	if err := c.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := http.Get("http://" + admin + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return c
			}
		}
		if time.Now().After(deadline) {
			c.cmd.Process.Kill()
			t.Fatalf("server did not become ready:\n%s", c.out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// gateway is a server's setting for these tests: a data directory with
// an inference key, and a configuration serving model m from an upstream.
type gateway struct {
	cfgPath, listen, admin, data, key string
}

// newGateway writes the configuration, with extra top-level YAML (ending
// in a newline) before the routes, and creates the key.
func newGateway(t *testing.T, upstream, extra string) gateway {
	t.Helper()
	dir := t.TempDir()
	g := gateway{cfgPath: filepath.Join(dir, "modelgate.yaml"), listen: freeAddr(t), admin: freeAddr(t), data: filepath.Join(dir, "data")}
	_, out, errOut := cli(t, "keys", "create", "--data-dir", g.data, "--name", "test", "--scopes", "inference:invoke", "--models", "*")
	if g.key = strings.TrimSpace(strings.TrimPrefix(out, "API key: ")); g.key == "" {
		t.Fatal(errOut)
	}
	os.WriteFile(g.cfgPath, []byte(fmt.Sprintf(`listen: %s
admin_listen: %s
data_dir: %s
log: {requests: false}
%sroutes:
  - model: m
    protocol: openai
    upstream: {url: %q}
`, g.listen, g.admin, g.data, extra, upstream+"/v1")), 0o600)
	return g
}

func (g gateway) start(t *testing.T) *child { return startServer(t, g.cfgPath, g.listen, g.admin) }

// stop stops a server with SIGTERM and fails the test unless it exits
// cleanly.
func (c *child) stop(t *testing.T) {
	t.Helper()
	c.cmd.Process.Signal(syscall.SIGTERM)
	if err := c.cmd.Wait(); err != nil {
		t.Fatalf("graceful stop: %v\n%s", err, c.out.String())
	}
}

// TestCrashKeepsEveryAcknowledgedEvent kills the server with SIGKILL under
// load. After it, the log must verify, and every request that got a 2xx
// must have its event: fail-closed mode releases nothing unrecorded.
func TestCrashKeepsEveryAcknowledgedEvent(t *testing.T) {
	if testing.Short() {
		t.Skip("starts and kills server processes")
	}
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"choices":[{"message":{"content":"ok"}}],"usage":{"prompt_tokens":1,"completion_tokens":1}}`)
	}))
	defer upstream.Close()
	g := newGateway(t, upstream.URL, "rate_limits: {key: {rpm: 0}, ip: {rpm: 0}}\n")
	data, key, listen := g.data, g.key, g.listen
	srv := g.start(t)
	var (
		mu    sync.Mutex
		acked []string
		stop  = make(chan struct{})
		wg    sync.WaitGroup
	)
	client := &http.Client{Timeout: 5 * time.Second}
	for range 16 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				req, _ := http.NewRequest("POST", "http://"+listen+"/v1/chat/completions",
					strings.NewReader(`{"model":"m","messages":[{"role":"user","content":"load"}]}`))
				req.Header.Set("Authorization", "Bearer "+key)
				resp, err := client.Do(req)
				if err != nil {
					continue // the server is gone
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode/100 == 2 {
					mu.Lock()
					acked = append(acked, resp.Header.Get("X-Request-Id"))
					mu.Unlock()
				}
			}
		})
	}
	time.Sleep(1500 * time.Millisecond)
	if err := srv.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	srv.cmd.Wait()
	close(stop)
	wg.Wait()
	if len(acked) < 100 {
		t.Fatalf("only %d requests succeeded before the kill:\n%s", len(acked), srv.out.String())
	}

	// The log verifies, and holds every acknowledged request.
	if code, out, errOut := cli(t, "audit", "verify", "--data-dir", data); code != 0 {
		t.Fatalf("verify after kill -9: %d\n%s%s", code, out, errOut)
	}
	recorded := map[string]bool{}
	code, jsonl, errOut := cli(t, "audit", "query", "--data-dir", data, "--format", "jsonl")
	if code != 0 {
		t.Fatal(errOut)
	}
	sc := bufio.NewScanner(strings.NewReader(jsonl))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		ev, err := audit.ParseEvent(sc.Bytes())
		if err != nil {
			t.Fatal(err)
		}
		recorded[ev.RequestID] = true
	}
	for _, id := range acked {
		if !recorded[id] {
			t.Fatalf("request %s got a 2xx but has no audit event", id)
		}
	}

	// The restarted server continues the same log.
	srv = g.start(t)
	for range 5 {
		req, _ := http.NewRequest("POST", "http://"+listen+"/v1/chat/completions",
			strings.NewReader(`{"model":"m","messages":[{"role":"user","content":"after"}]}`))
		req.Header.Set("Authorization", "Bearer "+key)
		resp, err := client.Do(req)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("after restart: %v %v", resp, err)
		}
		resp.Body.Close()
	}
	srv.stop(t)
	code, out, errOut := cli(t, "audit", "verify", "--data-dir", data)
	if code != 0 || !strings.Contains(out, "OK:") || strings.Contains(out, "not yet covered") {
		t.Fatalf("verify after restart and clean stop: %d\n%s%s", code, out, errOut)
	}
	t.Logf("%d requests acknowledged before SIGKILL, all recorded; %s", len(acked), strings.SplitN(out, "\n", 2)[0])
}

// TestCrashMidStreamIsOnRecord is the red team's case: a stream whose
// headers and first events reached the client, then SIGKILL. The start
// must be on record (it is made durable before the first byte goes out),
// and the next server start records the stream as interrupted.
func TestCrashMidStreamIsOnRecord(t *testing.T) {
	if testing.Short() {
		t.Skip("starts and kills server processes")
	}
	hold := make(chan struct{})
	defer close(hold)
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "text/event-stream")
		io.WriteString(w, "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"first words\"}}]}\n\n")
		w.(http.Flusher).Flush()
		select { // the rest never comes before the kill
		case <-hold:
		case <-r.Context().Done():
		}
	}))
	defer upstream.Close()
	g := newGateway(t, upstream.URL, "")
	data, key, listen := g.data, g.key, g.listen
	srv := g.start(t)
	req, _ := http.NewRequest("POST", "http://"+listen+"/v1/chat/completions",
		strings.NewReader(`{"model":"m","stream":true,"messages":[{"role":"user","content":"tell me"}]}`))
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	id := resp.Header.Get("X-Request-Id")
	first, err := bufio.NewReader(resp.Body).ReadString('\n')
	if resp.StatusCode != 200 || err != nil || !strings.Contains(first, "first words") {
		t.Fatalf("no first event: %d %q %v", resp.StatusCode, first, err)
	}
	if err := srv.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	srv.cmd.Wait()
	resp.Body.Close()

	actions := func() []string {
		code, jsonl, errOut := cli(t, "audit", "query", "--data-dir", data, "--format", "jsonl")
		if code != 0 {
			t.Fatal(errOut)
		}
		var out []string
		for _, line := range strings.Split(strings.TrimSpace(jsonl), "\n") {
			ev, err := audit.ParseEvent([]byte(line))
			if err != nil {
				t.Fatal(err)
			}
			if ev.RequestID == id {
				out = append(out, ev.Action)
			}
		}
		return out
	}
	if got := actions(); len(got) != 1 || got[0] != audit.ActionStreamStart {
		t.Fatalf("after the kill, the stream's events are %v, want its start", got)
	}
	srv = g.start(t)
	srv.cmd.Process.Signal(syscall.SIGTERM)
	srv.cmd.Wait()
	if got := actions(); len(got) != 2 || got[1] != audit.ActionStreamInterrupted {
		t.Fatalf("after a restart, the stream's events are %v, want its start and its interruption", got)
	}
	if code, out, errOut := cli(t, "audit", "verify", "--data-dir", data); code != 0 {
		t.Fatalf("verify: %s%s", out, errOut)
	}
}
