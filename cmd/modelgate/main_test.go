package main

import (
	"bytes"
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncBuffer is a bytes.Buffer safe to read while a command writes to it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func cli(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = run(context.Background(), args, &out, &errb)
	return code, out.String(), errb.String()
}

// TestDemoCommandsWork runs `modelgate demo` and then every curl command it
// printed, exactly as printed, as a new user would; then runs the demo
// again on the same data directory, which shows the same keys.
func TestDemoCommandsWork(t *testing.T) {
	if _, err := exec.LookPath("curl"); err != nil {
		t.Skip("curl is not installed; the demo's printed commands need it")
	}
	data := filepath.Join(t.TempDir(), "data")
	out, stop := startDemo(t, data)
	keyLine := regexp.MustCompile(`(?m)^API key: (mg_[a-z2-7]{12}_[a-z2-7]{52})$`)
	limitedLine := regexp.MustCompile(`(?m)^Limited key: (mg_[a-z2-7]{12}_[a-z2-7]{52}) `)
	key, limited := keyLine.FindStringSubmatch(out), limitedLine.FindStringSubmatch(out)
	if key == nil || limited == nil {
		t.Fatalf("no 'API key: <key>' and 'Limited key: <key>' lines:\n%s", out)
	}
	var curls []string
	for _, line := range strings.Split(out, "\n") {
		if strings.HasPrefix(line, "curl ") {
			curls = append(curls, line)
		}
	}
	want := []string{
		`"content":"Hello, modelgate!"`,                         // chat
		`data: [DONE]`,                                          // stream
		`"text":"Hello from the Responses API"`,                 // Responses API
		`"text":"Hello, Claude-style client"`,                   // Messages API
		`"content":"Card <CREDIT_CARD>, mail jane@example.com"`, // guards: redact, mask and restore
		`PROMPT_INJECTION`,                                      // guards: an injection
		`"code":"request_blocked"`,                              // guards: a credential
		`"finish_reason":"content_filter"`,                      // guards: a withheld answer
		`"name":"probability"`,                                  // classifier
		`"code":"model_not_allowed"`,                            // the limited key
		`"id":"demo-chat"`,                                      // models
		`"code":"missing_api_key"`,                              // refusal
		`modelgate_requests_total{code="200",endpoint="chat"`,   // metrics
	}
	if len(curls) != len(want) {
		t.Fatalf("demo printed %d curl commands, want %d:\n%s", len(curls), len(want), out)
	}
	for i, c := range curls {
		got, err := exec.Command("sh", "-c", c).CombinedOutput()
		if err != nil {
			t.Errorf("command %d failed: %v\n%s\n%s", i, err, c, got)
			continue
		}
		if !strings.Contains(string(got), want[i]) {
			t.Errorf("command %d output lacks %q:\n%s\n%s", i, want[i], c, got)
		}
		if strings.Contains(c, "/v1/models") && strings.Contains(string(got), "demo-classifier") {
			t.Errorf("the limited key lists a model it may not use: %s", got)
		}
	}
	// The audit commands it printed, run as printed.
	var audits int
	for _, line := range strings.Split(out, "\n") {
		if !strings.HasPrefix(line, "modelgate audit ") {
			continue
		}
		audits++
		code, got, errOut := cli(t, strings.Fields(line)[1:]...)
		if code != 0 {
			t.Errorf("%s: exit %d: %s", line, code, errOut)
		}
		if strings.Contains(line, " tail ") && !regexp.MustCompile(`inference\.denied\s+denied \(missing_api_key\)`).MatchString(got) {
			t.Errorf("%s: the refused request is not in the log:\n%s", line, got)
		}
		if strings.Contains(line, " verify ") && !strings.HasPrefix(got, "OK: ") {
			t.Errorf("%s: %s", line, got)
		}
	}
	if audits != 2 {
		t.Errorf("demo printed %d audit commands, want 2", audits)
	}
	stop()

	// Restarted, the demo shows the same keys, and says so.
	again, stop := startDemo(t, data)
	defer stop()
	if k := keyLine.FindStringSubmatch(again); k == nil || k[1] != key[1] || !strings.Contains(again, limited[1]) ||
		!strings.Contains(again, "the keys of the last run") {
		t.Errorf("a restarted demo minted new keys:\nfirst: %s %s\nthen:\n%s", key[1], limited[1], again)
	}
}

// startDemo runs `modelgate demo` on data until it has printed its
// commands, and returns what it printed and a function that stops it.
func startDemo(t *testing.T, data string, extra ...string) (string, func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var out, errb syncBuffer
	done := make(chan int)
	go func() {
		done <- run(ctx, append([]string{"demo", "--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0", "--data-dir", data}, extra...), &out, &errb)
	}()
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(out.String(), "Press Ctrl-C") {
		if time.Now().After(deadline) {
			cancel()
			t.Fatalf("demo did not start:\n%s\n%s", out.String(), errb.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	stopped := false
	return out.String(), func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		select {
		case code := <-done:
			if code != 0 {
				t.Fatalf("demo exited %d: %s", code, errb.String())
			}
		case <-time.After(10 * time.Second):
			t.Fatal("demo did not stop when interrupted")
		}
	}
}

func TestKeysCommands(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	code, out, errOut := cli(t, "keys", "create", "--data-dir", dir, "--name", "app", "--scopes", "inference:invoke,models:read",
		"--models", "demo-chat", "--rpm", "30", "--expires", "30d")
	if code != 0 {
		t.Fatalf("create: %d %s", code, errOut)
	}
	m := regexp.MustCompile(`(?m)^API key: (mg_([a-z2-7]{12})_[a-z2-7]{52})$`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("create printed %q", out)
	}
	key, id := m[1], m[2]
	if strings.Contains(errOut, key) {
		t.Error("the secret was also written to stderr")
	}

	code, out, _ = cli(t, "keys", "list", "--data-dir", dir)
	if code != 0 || !strings.Contains(out, id) || !strings.Contains(out, "active") || strings.Contains(out, key) {
		t.Fatalf("list: %d\n%s", code, out)
	}
	code, out, _ = cli(t, "keys", "show", key, "--data-dir", dir, "--format", "json") // the full key works as an id
	if code != 0 || !strings.Contains(out, `"rpm": 30`) {
		t.Fatalf("show: %d\n%s", code, out)
	}
	code, out, _ = cli(t, "keys", "rotate", id, "--data-dir", dir, "--grace", "1h")
	if code != 0 || !strings.HasPrefix(out, "API key: mg_"+id+"_") || strings.Contains(out, key) {
		t.Fatalf("rotate: %d\n%s", code, out)
	}
	code, out, _ = cli(t, "keys", "revoke", id, "--data-dir", dir)
	if code != 0 || !strings.Contains(out, "Revoked") {
		t.Fatalf("revoke: %d\n%s", code, out)
	}
	code, out, _ = cli(t, "keys", "list", "--data-dir", dir, "--format", "json")
	if code != 0 || !strings.Contains(out, `"status": "revoked"`) {
		t.Fatalf("list after revoke: %s", out)
	}
	code, _, errOut = cli(t, "keys", "rotate", id, "--data-dir", dir)
	if code != exitUsage || !strings.Contains(errOut, "revoked") {
		t.Fatalf("rotating a revoked key: %d %s", code, errOut)
	}
}

func TestExitCodes(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(bad, []byte("listen: 127.0.0.1:0\nlisen: x\n"), 0o600)
	open := filepath.Join(dir, "open.yaml")
	os.WriteFile(open, []byte("listen: 0.0.0.0:0\nadmin_listen: 127.0.0.1:0\ndata_dir: "+filepath.Join(dir, "d")+"\n"), 0o600)
	tests := []struct {
		args     []string
		code     int
		inStderr string
	}{
		{[]string{"nonsense"}, exitUsage, "unknown command"},
		{[]string{"keys", "list", "--bogus"}, exitUsage, "unknown flag"},
		{[]string{"keys", "create", "--name", "x"}, exitUsage, "required"},
		{[]string{"keys", "create", "--data-dir", dir, "--name", "x", "--scopes", "root", "--models", "*"}, exitUsage, "unknown scope"},
		{[]string{"keys", "create", "--data-dir", dir, "--name", "x", "--scopes", "admin", "--models", "*", "--expires", "soon"}, exitUsage, "lifetime"},
		{[]string{"keys", "list", "--data-dir", filepath.Join(dir, "missing")}, exitUsage, "no data directory"},
		{[]string{"keys", "show", "nope", "--data-dir", dir}, exitUsage, "neither a key id"},
		{[]string{"keys", "show", "aaaaaaaaaaaa", "--data-dir", dir}, exitUsage, "not found"},
		{[]string{"keys", "list", "--server", "http://127.0.0.1:1"}, exitUsage, "MODELGATE_ADMIN_KEY"},
		{[]string{"serve"}, exitUsage, "--config is required"},
		{[]string{"serve", "--config", filepath.Join(dir, "none.yaml")}, exitUsage, "no such file"},
		{[]string{"serve", "--config", bad}, exitUsage, `line 2: unknown key "lisen"`},
		{[]string{"serve", "--config", open}, exitUsage, "--insecure-plaintext"},
	}
	// A port another process holds is the machine's problem, named with
	// its address.
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	busy := filepath.Join(dir, "busy.yaml")
	os.WriteFile(busy, []byte("listen: "+taken.Addr().String()+"\nadmin_listen: 127.0.0.1:0\ndata_dir: "+filepath.Join(dir, "b")+"\n"), 0o600)
	tests = append(tests, struct {
		args     []string
		code     int
		inStderr string
	}{[]string{"serve", "--config", busy}, exitUsage, "listen " + taken.Addr().String() + ": cannot listen"})
	for _, tc := range tests {
		code, _, errOut := cli(t, tc.args...)
		if code != tc.code || !strings.Contains(errOut, tc.inStderr) {
			t.Errorf("%v: exit %d, stderr %q; want %d and %q", tc.args, code, errOut, tc.code, tc.inStderr)
		}
	}
	if code, out, _ := cli(t, "version"); code != 0 || !strings.HasPrefix(out, "modelgate ") {
		t.Errorf("version: %d %q", code, out)
	}
}

// TestServeAndRemoteKeys runs `modelgate serve` from a config file and
// manages keys through its admin API with --server.
func TestServeAndRemoteKeys(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	// An admin key made in the data directory before the server starts.
	code, out, errOut := cli(t, "keys", "create", "--data-dir", data, "--name", "ops", "--scopes", "admin", "--models", "*")
	if code != 0 {
		t.Fatal(errOut)
	}
	adminKey := strings.TrimSpace(strings.TrimPrefix(out, "API key: "))
	cfgPath := filepath.Join(dir, "modelgate.yaml")
	os.WriteFile(cfgPath, []byte("listen: 127.0.0.1:0\nadmin_listen: 127.0.0.1:0\ndata_dir: "+data+"\nlog: {format: text}\n"), 0o600)

	ctx, cancel := context.WithCancel(context.Background())
	var sout, serr syncBuffer
	done := make(chan int)
	go func() { done <- run(ctx, []string{"serve", "--config", cfgPath}, &sout, &serr) }()
	addr := regexp.MustCompile(`admin=http://(127\.0\.0\.1:\d+)`)
	deadline := time.Now().Add(10 * time.Second)
	var m []string
	for m = addr.FindStringSubmatch(serr.String()); m == nil; m = addr.FindStringSubmatch(serr.String()) {
		if time.Now().After(deadline) {
			t.Fatalf("serve did not start: %s", serr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	server := "http://" + m[1]

	t.Setenv(AdminKeyEnv, adminKey)
	code, out, errOut = cli(t, "keys", "create", "--server", server, "--name", "remote", "--scopes", "inference:invoke", "--models", "*")
	if code != 0 || !strings.HasPrefix(out, "API key: mg_") {
		t.Fatalf("remote create: %d %s %s", code, out, errOut)
	}
	code, out, _ = cli(t, "keys", "list", "--server", server)
	if code != 0 || !strings.Contains(out, "remote") || !strings.Contains(out, "ops") {
		t.Fatalf("remote list: %d %s", code, out)
	}
	t.Setenv(AdminKeyEnv, "mg_aaaaaaaaaaaa_"+strings.Repeat("a", 52))
	if code, _, errOut := cli(t, "keys", "list", "--server", server); code != exitUsage || !strings.Contains(errOut, "invalid API key") {
		t.Fatalf("bad admin key: %d %s", code, errOut)
	}

	cancel()
	if code := <-done; code != 0 {
		t.Fatalf("serve exited %d: %s", code, serr.String())
	}
}
