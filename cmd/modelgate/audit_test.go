package main

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/modelgate/modelgate/audit"
	"github.com/modelgate/modelgate/server"
	"github.com/modelgate/modelgate/store/sqlite"
)

// auditDataDir writes a log of twelve events, as a server would have, and
// returns its data directory. Events alternate between two keys; every
// third is a refusal; events 0-5 are two days old and carry payloads.
func auditDataDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	ctx := context.Background()
	l, db, err := server.OpenAudit(ctx, dir, audit.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	now := time.Now()
	for i := range 12 {
		ev := &audit.Event{
			Time:      now.Add(-time.Duration(12-i) * time.Minute),
			RequestID: fmt.Sprintf("req%02d", i),
			Actor:     audit.Actor{Kind: audit.ActorAPIKey, ID: []string{"alice", "bob"}[i%2]},
			Action:    audit.ActionInvoke, Decision: audit.Decision{Outcome: audit.Allowed},
			Resource: audit.Resource{Route: "chat", Model: "llama"},
			HTTP:     &audit.HTTP{Method: "POST", Path: "/v1/chat/completions", Status: 200},
		}
		if i%3 == 2 {
			ev.Action, ev.Decision, ev.HTTP.Status = audit.ActionDenied, audit.Decision{Outcome: audit.Denied, Reason: "rate_limit_exceeded"}, 429
		}
		var ps []audit.Payload
		if i < 6 {
			ev.Time = now.Add(-48*time.Hour + time.Duration(i)*time.Minute)
			ps = []audit.Payload{{Kind: audit.PayloadInput, Mode: audit.CaptureFull, Data: fmt.Appendf(nil, "secret prompt %d", i)}}
		}
		if err := l.Append(ctx, ev, ps...); err != nil {
			t.Fatal(err)
		}
		// One event per stored batch, so tests can remove one.
		if err := db.WaitSequenced(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	return dir
}

func requestIDs(out string) []string {
	var ids []string
	for _, f := range strings.Fields(out) {
		if strings.HasPrefix(f, "req") {
			ids = append(ids, f)
		}
	}
	return ids
}

func TestAuditQueryCommands(t *testing.T) {
	dir := auditDataDir(t)
	tests := []struct {
		args []string
		want string // the request ids printed, in order
	}{
		{[]string{"query"}, "req00 req01 req02 req03 req04 req05 req06 req07 req08 req09 req10 req11"},
		{[]string{"query", "--actor", "bob"}, "req01 req03 req05 req07 req09 req11"},
		{[]string{"query", "--decision", "denied"}, "req02 req05 req08 req11"},
		{[]string{"query", "--action", "inference.", "--limit", "3"}, "req00 req01 req02"},
		{[]string{"query", "--action", "inference.denied", "--actor", "alice"}, "req02 req08"},
		{[]string{"query", "--since", "1h"}, "req06 req07 req08 req09 req10 req11"},
		{[]string{"query", "--until", "1d"}, "req00 req01 req02 req03 req04 req05"},
		{[]string{"query", "--request-id", "req07"}, "req07"},
		{[]string{"query", "--model", "gpt"}, ""},
		{[]string{"tail", "-n", "3"}, "req09 req10 req11"},
		{[]string{"query", "--latest", "3"}, "req09 req10 req11"},
		{[]string{"query", "--latest", "3", "--reverse"}, "req11 req10 req09"},
		{[]string{"query", "--limit", "2", "--reverse"}, "req11 req10"},
		{[]string{"query", "--latest", "2", "--actor", "alice"}, "req08 req10"},
		{[]string{"tail", "-n", "2", "--actor", "alice"}, "req08 req10"},
	}
	for _, tc := range tests {
		code, out, errOut := cli(t, append(append([]string{"audit"}, tc.args...), "--data-dir", dir)...)
		if code != 0 {
			t.Fatalf("%v: exit %d: %s", tc.args, code, errOut)
		}
		if got := strings.Join(requestIDs(out), " "); got != tc.want {
			t.Errorf("%v: got %q, want %q\n%s", tc.args, got, tc.want, out)
		}
	}
	// JSON lines are the stored events, byte for byte.
	_, out, _ := cli(t, "audit", "query", "--request-id", "req04", "--format", "jsonl", "--data-dir", dir)
	if !strings.HasPrefix(out, `{"action":"inference.invoke","actor":{"id":"alice"`) || strings.Count(out, "\n") != 1 {
		t.Errorf("jsonl: %q", out)
	}
	for _, format := range []string{"ocsf", "cef", "syslog", "jsonl"} {
		code, out, errOut := cli(t, "audit", "export", "--format", format, "--actor", "bob", "--data-dir", dir)
		if code != 0 || strings.Count(out, "\n") != 6 || !strings.Contains(out, "bob") {
			t.Errorf("export %s: exit %d %s\n%s", format, code, errOut, out)
		}
	}
}

func TestAuditVerifyProveErase(t *testing.T) {
	dir := auditDataDir(t)
	code, out, errOut := cli(t, "audit", "verify", "--data-dir", dir)
	if code != 0 || !strings.HasPrefix(out, "OK: 12 events") || !strings.Contains(out, "6 checked against their digests") {
		t.Fatalf("verify: exit %d\n%s%s", code, out, errOut)
	}

	// An auditor keeps a checkpoint and the public key.
	saved := filepath.Join(t.TempDir(), "checkpoint.txt")
	if code, _, errOut := cli(t, "audit", "checkpoint", "--out", saved, "--data-dir", dir); code != 0 {
		t.Fatalf("checkpoint: %s", errOut)
	}
	_, pub, _ := cli(t, "audit", "pubkey", "--data-dir", dir)
	pubFile := filepath.Join(t.TempDir(), "audit.pub")
	os.WriteFile(pubFile, []byte(pub), 0o600)

	// Erasure needs a reason and is itself recorded.
	if code, _, errOut := cli(t, "audit", "erase", "--actor", "alice", "--data-dir", dir); code != exitUsage || !strings.Contains(errOut, "--reason") {
		t.Fatalf("erase without a reason: exit %d %s", code, errOut)
	}
	code, out, errOut = cli(t, "audit", "erase", "--actor", "alice", "--reason", "GDPR request 17", "--data-dir", dir)
	if code != 0 || !strings.Contains(out, "Erased the payloads of 3 event(s); the erasure is event 12") {
		t.Fatalf("erase: exit %d %s%s", code, out, errOut)
	}
	code, out, _ = cli(t, "audit", "verify", "--pubkey", pubFile, "--data-dir", dir)
	if code != 0 || !strings.Contains(out, "3 checked against their digests") || !strings.Contains(out, "3 erased by recorded erasures") {
		t.Fatalf("verify after erasure: exit %d\n%s", code, out)
	}
	_, out, _ = cli(t, "audit", "query", "--action", "audit.erase", "--format", "jsonl", "--data-dir", dir)
	if !strings.Contains(out, `"erased":"3","indexes":"0,2,4,6,8,10"`) || !strings.Contains(out, `"reason":"GDPR request 17"`) {
		t.Fatalf("erasure event: %s", out)
	}

	// The log today extends the saved checkpoint.
	code, out, errOut = cli(t, "audit", "consistency", saved, "--pubkey", pubFile, "--data-dir", dir)
	if code != 0 || !strings.Contains(out, "extends the saved checkpoint at 12 events") {
		t.Fatalf("consistency: exit %d %s%s", code, out, errOut)
	}

	// A proof checks offline with the key alone, and not once altered.
	proof := filepath.Join(t.TempDir(), "proof.json")
	if code, out, errOut := cli(t, "audit", "proof", "7", "--out", proof, "--data-dir", dir); code != 0 || !strings.HasPrefix(out, "wrote "+proof) {
		t.Fatalf("proof: %s%s", out, errOut)
	}
	code, out, _ = cli(t, "audit", "verify-proof", proof, "--pubkey", pubFile)
	if code != 0 || !strings.HasPrefix(out, "OK: event 7 is in the log") {
		t.Fatalf("verify-proof: exit %d %s", code, out)
	}
	b, _ := os.ReadFile(proof)
	os.WriteFile(proof, []byte(strings.Replace(string(b), `"req07"`, `"req70"`, 1)), 0o600)
	if code, out, _ = cli(t, "audit", "verify-proof", proof, "--pubkey", pubFile); code != exitFindings || !strings.HasPrefix(out, "FAILED") {
		t.Fatalf("an altered proof: exit %d %s", code, out)
	}
	if code, _, errOut := cli(t, "audit", "proof", "--index", "99", "--data-dir", dir); code != exitUsage || !strings.Contains(errOut, "does not exist") {
		t.Fatalf("proof of a missing event: exit %d %s", code, errOut)
	}

	// Someone rewrites history: the event is dropped from the file.
	db, err := sql.Open("sqlite", filepath.Join(dir, sqlite.AuditFileName))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`DELETE FROM audit_batches WHERE first = 5`); err != nil {
		t.Fatal(err)
	}
	code, out, _ = cli(t, "audit", "verify", "--pubkey", pubFile, "--data-dir", dir)
	if code != exitFindings || !strings.HasPrefix(out, "FAILED: event 5: missing") {
		t.Fatalf("verify of a tampered log: exit %d %s", code, out)
	}
	code, out, _ = cli(t, "audit", "consistency", saved, "--pubkey", pubFile, "--data-dir", dir)
	if code != exitFindings || !strings.Contains(out, "the stored log is not: event 5: missing") {
		t.Fatalf("consistency of a tampered log: exit %d %s", code, out)
	}
	// --quick checks only the signed trees, and says so.
	code, out, _ = cli(t, "audit", "consistency", saved, "--quick", "--pubkey", pubFile, "--data-dir", dir)
	if code != 0 || !strings.Contains(out, "stored events not checked") {
		t.Fatalf("quick consistency: exit %d %s", code, out)
	}
}

func TestAuditUsageErrors(t *testing.T) {
	dir := auditDataDir(t)
	other := t.TempDir()
	tests := []struct {
		args     []string
		inStderr string
	}{
		{[]string{"audit", "verify", "--data-dir", other}, "no audit verifier key"},
		{[]string{"audit", "query", "--data-dir", other}, "no audit log"},
		{[]string{"audit", "query", "--since", "last tuesday", "--data-dir", dir}, "--since"},
		{[]string{"audit", "query", "--decision", "maybe", "--data-dir", dir}, "--decision"},
		{[]string{"audit", "query", "--format", "xml", "--data-dir", dir}, "--format"},
		{[]string{"audit", "export", "--format", "xml", "--data-dir", dir}, "--format"},
		{[]string{"audit", "erase", "--index", "1-x", "--reason", "r", "--data-dir", dir}, "--index"},
		{[]string{"audit", "erase", "--index", "1", "--actor", "bob", "--reason", "r", "--data-dir", dir}, "exactly one"},
		{[]string{"audit", "verify", "--pubkey", "not a key", "--data-dir", dir}, "key"},
		{[]string{"audit", "verify-proof", filepath.Join(dir, sqlite.AuditFileName), "--pubkey", filepath.Join(dir, audit.VerifierKeyFile)}, "not an audit proof"},
		{[]string{"audit", "verify-proof", "x.json"}, "--pubkey is required"},
		{[]string{"audit", "verify-proof", "missing.json", "--pubkey", filepath.Join(dir, audit.VerifierKeyFile)}, "no such file"},
		{[]string{"audit", "consistency", "missing.txt", "--data-dir", dir}, "no such file"},
		{[]string{"audit", "proof", "--data-dir", dir}, "give its index"},
	}
	for _, tc := range tests {
		code, _, errOut := cli(t, tc.args...)
		if code != exitUsage || !strings.Contains(errOut, tc.inStderr) {
			t.Errorf("%v: exit %d, stderr %q; want %d and %q", tc.args, code, errOut, exitUsage, tc.inStderr)
		}
	}
	// Another log's key does not verify this one.
	otherPub := filepath.Join(other, "other.pub")
	_, _, _ = audit.LoadOrCreateKeys(other)
	b, _ := os.ReadFile(filepath.Join(other, audit.VerifierKeyFile))
	os.WriteFile(otherPub, b, 0o600)
	if code, out, _ := cli(t, "audit", "verify", "--pubkey", otherPub, "--data-dir", dir); code != exitFindings || !strings.Contains(out, "FAILED") {
		t.Fatalf("verified with another log's key: exit %d %s", code, out)
	}
}

// TestAuditShow prints one event with what its capture kept: the prompt
// itself, by index or by request id; nothing for an erased body.
func TestAuditShow(t *testing.T) {
	dir := auditDataDir(t)
	code, out, errOut := cli(t, "audit", "show", "1", "--data-dir", dir)
	if code != 0 || !strings.Contains(out, "event 1\n") || !strings.Contains(out, "secret prompt 1") || !strings.Contains(out, "response: not captured") {
		t.Fatalf("show 1: exit %d\n%s%s", code, out, errOut)
	}
	code, out, _ = cli(t, "audit", "show", "req03", "--data-dir", dir)
	if code != 0 || !strings.Contains(out, `"request_id": "req03"`) || !strings.Contains(out, "secret prompt 3") {
		t.Fatalf("show req03: exit %d\n%s", code, out)
	}
	cli(t, "audit", "erase", "--index", "3", "--reason", "test", "--data-dir", dir)
	_, out, _ = cli(t, "audit", "show", "req03", "--data-dir", dir)
	if strings.Contains(out, "secret prompt 3") || !strings.Contains(out, "request: erased") {
		t.Fatalf("show after erasure:\n%s", out)
	}
	if code, _, errOut := cli(t, "audit", "show", "req99", "--data-dir", dir); code != exitUsage || !strings.Contains(errOut, "no event req99") {
		t.Fatalf("show of nothing: exit %d %s", code, errOut)
	}
}
