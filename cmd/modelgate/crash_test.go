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
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/modelgate/modelgate/audit"
	"github.com/modelgate/modelgate/internal/testenv"
	"github.com/modelgate/modelgate/store/journal"
	"github.com/modelgate/modelgate/store/sqlite"
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
// load, JSON requests and streams together, twenty times over one data
// directory. After each kill the log must verify, and every request that
// got a 2xx must have its event (a stream, its start): fail-closed mode
// releases nothing unrecorded. Some rounds also leave half a batch at the
// end of the dead server's journal, as a write cut off by the kill would:
// it must be cut, and nothing else lost.
func TestCrashKeepsEveryAcknowledgedEvent(t *testing.T) {
	if testing.Short() {
		t.Skip("starts and kills server processes")
	}
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		if bytes.Contains(b, []byte(`"stream":true`)) {
			w.Header().Set("Content-Type", "text/event-stream")
			for i := range 20 {
				fmt.Fprintf(w, "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"w%d \"}}]}\n\n", i)
			}
			io.WriteString(w, "data: [DONE]\n\n")
			return
		}
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"choices":[{"message":{"content":"ok"}}],"usage":{"prompt_tokens":1,"completion_tokens":1}}`)
	}))
	defer upstream.Close()
	g := newGateway(t, upstream.URL, "rate_limits: {key: {rpm: 0}, ip: {rpm: 0}}\n")
	rounds := 20
	total := 0
	torn := false
	for round := range rounds {
		acked, out := loadAndKill(t, g, time.Duration(300+round%4*100)*time.Millisecond)
		if torn && journalHasTornEnd(g.data) {
			// Cut by the command that read the journal after the
			// kill, or by this server as it started.
			t.Fatalf("round %d: the torn end of the journal is still there:\n%s", round, out)
		}
		if torn = round%4 == 2; torn {
			tearJournal(t, g.data)
		}
		if code, out, errOut := cli(t, "audit", "verify", "--data-dir", g.data); code != 0 {
			t.Fatalf("round %d: verify after kill -9: %d\n%s%s", round, code, out, errOut)
		}
		recorded := map[string]bool{}
		for _, ev := range queryAll(t, g.data) {
			if ev.Action != audit.ActionStreamStart || !recorded[ev.RequestID] {
				recorded[ev.RequestID] = true
			}
		}
		for _, id := range acked {
			if !recorded[id] {
				t.Fatalf("round %d: request %s got a 2xx but has no audit event", round, id)
			}
		}
		total += len(acked)
	}

	if total < 500 {
		t.Fatalf("only %d requests acknowledged over %d rounds: too little load to test anything", total, rounds)
	}

	// The restarted server continues the same log, records the streams
	// the kills cut off as interrupted, and stops cleanly.
	srv := g.start(t)
	client := &http.Client{Timeout: 5 * time.Second}
	for range 5 {
		resp, err := post(client, g, false)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("after restart: %v %v", resp, err)
		}
		resp.Body.Close()
	}
	srv.stop(t)
	code, out, errOut := cli(t, "audit", "verify", "--data-dir", g.data)
	if code != 0 || !strings.Contains(out, "OK:") || strings.Contains(out, "not yet covered") {
		t.Fatalf("verify after restart and clean stop: %d\n%s%s", code, out, errOut)
	}
	open := map[string]bool{}
	for _, ev := range queryAll(t, g.data) {
		switch ev.Action {
		case audit.ActionStreamStart:
			open[ev.RequestID] = true
		case audit.ActionInvoke, audit.ActionStreamInterrupted:
			delete(open, ev.RequestID)
		}
	}
	if len(open) > 0 {
		t.Fatalf("%d streams have a start and neither an end nor an interruption", len(open))
	}
	t.Logf("%d rounds, %d requests acknowledged before SIGKILL, all recorded; %s", rounds, total, strings.SplitN(out, "\n", 2)[0])
}

// post sends one chat request, streamed or not, to a gateway.
func post(client *http.Client, g gateway, stream bool) (*http.Response, error) {
	body := `{"model":"m","messages":[{"role":"user","content":"load"}]}`
	if stream {
		body = `{"model":"m","stream":true,"messages":[{"role":"user","content":"load"}]}`
	}
	req, _ := http.NewRequest("POST", "http://"+g.listen+"/v1/chat/completions", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+g.key)
	return client.Do(req)
}

// loadAndKill starts the server, sends JSON requests and streams from 16
// clients for d, kills the server with SIGKILL and returns the ids of the
// requests that got a 2xx status, and what the server printed.
func loadAndKill(t *testing.T, g gateway, d time.Duration) ([]string, string) {
	t.Helper()
	srv := g.start(t)
	var (
		mu    sync.Mutex
		acked []string
		stop  = make(chan struct{})
		wg    sync.WaitGroup
	)
	client := &http.Client{Timeout: 5 * time.Second}
	for i := range 16 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				resp, err := post(client, g, i%2 == 1)
				if err != nil {
					continue // the server is gone
				}
				if resp.StatusCode/100 == 2 {
					// A stream's start is on record before its
					// first byte: its headers are the promise.
					mu.Lock()
					acked = append(acked, resp.Header.Get("X-Request-Id"))
					mu.Unlock()
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		})
	}
	time.Sleep(d)
	if err := srv.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	srv.cmd.Wait()
	close(stop)
	wg.Wait()
	if len(acked) == 0 {
		t.Fatalf("no request succeeded before the kill:\n%s", srv.out.String())
	}
	return acked, srv.out.String()
}

// queryAll returns every event of the log, through the CLI.
func queryAll(t *testing.T, data string) []*audit.Event {
	t.Helper()
	code, jsonl, errOut := cli(t, "audit", "query", "--data-dir", data, "--format", "jsonl")
	if code != 0 {
		t.Fatal(errOut)
	}
	var out []*audit.Event
	sc := bufio.NewScanner(strings.NewReader(jsonl))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		ev, err := audit.ParseEvent(sc.Bytes())
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, ev)
	}
	return out
}

// tornHalf is half of a journal batch, what a write cut off midway leaves.
var tornHalf = []byte("MGJ1\x05\x00\x00\x00\x00\x10\x00\x00\x12\x34\x56\x78partial record")

// tearJournal appends half a batch to the newest segment of each journal
// in the data directory.
func tearJournal(t *testing.T, data string) {
	t.Helper()
	segs, _ := filepath.Glob(filepath.Join(data, "audit.journal", "*", "*.seg"))
	if len(segs) == 0 {
		t.Fatal("the killed server left no journal")
	}
	// After the last whole batch, where the journal's reader says it
	// ends (the zeros the segment was filled with follow).
	seg := segs[len(segs)-1]
	id := filepath.Base(filepath.Dir(seg))
	r := journal.NewReader(filepath.Join(data, "audit.journal"))
	defer r.Close()
	end, _, err := r.End(id, journal.Position{})
	if err != nil {
		t.Fatal(err)
	}
	if segmentOf(seg) != end.Segment {
		t.Fatalf("the newest segment is %s, the journal ends in segment %d", seg, end.Segment)
	}
	f, err := os.OpenFile(seg, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteAt(tornHalf, end.Offset)
	f.Close()
}

// journalHasTornEnd reports whether any journal segment still holds the
// half batch tearJournal wrote.
func journalHasTornEnd(data string) bool {
	segs, _ := filepath.Glob(filepath.Join(data, "audit.journal", "*", "*.seg"))
	for _, s := range segs {
		if b, _ := os.ReadFile(s); bytes.Contains(b, tornHalf) {
			return true
		}
	}
	return false
}

// waitSequenced waits until a running server has moved every event its
// journal holds into the log of data.
func waitSequenced(t *testing.T, data string) {
	t.Helper()
	db, err := sqlite.OpenJournaledAuditDir(context.Background(), data)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := db.WaitSequenced(ctx); err != nil {
		t.Fatal(err)
	}
}

// segmentOf returns the number a segment file is named by.
func segmentOf(path string) int64 {
	n, _ := strconv.ParseInt(strings.TrimSuffix(filepath.Base(path), ".seg"), 10, 64)
	return n
}
