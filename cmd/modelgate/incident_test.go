package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestIncidentResponse plays an incident against a running gateway: an
// alert, an incident opened on it, the abused key revoked and a range
// denied (the gateway refuses the key at once), the evidence written and
// verified offline (and a tampered copy refused), the incident closed and
// its timeline shown.
func TestIncidentResponse(t *testing.T) {
	dir := t.TempDir()
	gw := startChatGateway(t, dir, nil)
	k, key, stop := gw.key, gw.full, gw.stop
	call := func(key string) int { return gw.chat(key, "hi").StatusCode }
	for range 3 {
		if c := call(key); c != 200 {
			t.Fatalf("the key before the incident: %d", c)
		}
	}
	for range 21 {
		call("nope")
	}
	time.Sleep(time.Second)
	_, out, _ := cli(t, "alerts", "list", "--data-dir", dir)
	alert := regexp.MustCompile(`MON-AUTH-FAILURES-\S+`).FindString(out)
	if alert == "" {
		t.Fatalf("no alert:\n%s", out)
	}

	code, out, errOut := cli(t, "incident", "open", "--title", "credential stuffing", "--alert", alert, "--data-dir", dir)
	id := regexp.MustCompile(`INC-\d{8}-[0-9a-f]{6}`).FindString(out)
	if code != 0 || id == "" {
		t.Fatalf("open: %d %s %s", code, out, errOut)
	}
	if code, _, _ := cli(t, "incident", "open", "--title", "x", "--alert", "MON-NOPE", "--data-dir", dir); code != exitUsage {
		t.Errorf("an incident on an unknown alert: %d", code)
	}
	code, out, errOut = cli(t, "incident", "isolate", id, "--key", k.ID, "--ip", "203.0.113.0/24", "--data-dir", dir)
	if code != 0 || !strings.Contains(out, "revoke_key") || !strings.Contains(out, "deny_ip 203.0.113.0/24") {
		t.Fatalf("isolate: %d %s\n%s", code, errOut, out)
	}
	deadline := time.Now().Add(2 * time.Second)
	for call(key) != 401 {
		if time.Now().After(deadline) {
			t.Fatal("the gateway still takes the revoked key")
		}
		time.Sleep(20 * time.Millisecond)
	}
	code, out, _ = cli(t, "incident", "isolate", id, "--key", "notakey", "--data-dir", dir)
	if code == 0 || !strings.Contains(out, "FAILED revoke_key notakey") {
		t.Errorf("a failed step: %d\n%s", code, out)
	}
	stop()

	bundle := filepath.Join(t.TempDir(), "evidence.json")
	code, out, errOut = cli(t, "incident", "evidence", id, "--out", bundle, "--data-dir", dir)
	if code != 0 {
		t.Fatalf("evidence: %d %s %s", code, errOut, out)
	}
	_, pub, _ := cli(t, "audit", "pubkey", "--data-dir", dir)
	pub = strings.TrimSpace(pub)
	code, out, errOut = cli(t, "audit", "verify-bundle", bundle, "--pubkey", pub)
	if code != 0 || !strings.HasPrefix(out, "OK: ") || !strings.Contains(out, "extends the earlier one") || !strings.Contains(out, "incident.open") ||
		!strings.Contains(out, "alert.raised") || strings.Count(out, "inference.invoke") < 3 || strings.Count(out, "inference.denied") < 8 {
		t.Fatalf("verify-bundle: %d %s\n%s", code, errOut, out)
	}
	raw, _ := os.ReadFile(bundle)
	tampered := strings.Replace(string(raw), `credential stuffing`, `routine maintenance`, 1)
	os.WriteFile(bundle+".bad", []byte(tampered), 0o600)
	if code, out, _ = cli(t, "audit", "verify-bundle", bundle+".bad", "--pubkey", pub); code != exitFindings || !strings.HasPrefix(out, "FAILED") {
		t.Errorf("a tampered bundle: %d %s", code, out)
	}

	if code, _, errOut = cli(t, "incident", "note", id, "the stuffing list matches last month's breach dump", "--data-dir", dir); code != 0 {
		t.Fatalf("note: %d %s", code, errOut)
	}
	if code, _, _ = cli(t, "incident", "note", id, "  ", "--data-dir", dir); code != exitUsage {
		t.Errorf("an empty note: %d", code)
	}
	if code, _, errOut = cli(t, "incident", "close", id, "--resolution", "key rotated, range blocked", "--data-dir", dir); code != 0 {
		t.Fatalf("close: %d %s", code, errOut)
	}
	if code, _, _ = cli(t, "incident", "isolate", id, "--ip", "198.51.100.0/24", "--data-dir", dir); code != exitUsage {
		t.Errorf("isolating under a closed incident: %d", code)
	}
	_, out, _ = cli(t, "incident", "show", id, "--data-dir", dir)
	for _, want := range []string{"closed", "key rotated, range blocked", alert, "revoke_key", "deny_ip", "FAILED", "evidence", "note", "breach dump"} {
		if !strings.Contains(out, want) {
			t.Errorf("show lacks %q:\n%s", want, out)
		}
	}
	if _, out, _ = cli(t, "incident", "list", "--data-dir", dir); strings.Contains(out, id) {
		t.Errorf("a closed incident is listed as open:\n%s", out)
	}
}

// TestPlaybook: a playbook prints its plan for an alert and changes
// nothing; with --apply it opens the incident linked to the alert and
// takes its steps, each recorded.
func TestPlaybook(t *testing.T) {
	dir := t.TempDir()
	gw := startChatGateway(t, dir, nil)
	for range 21 {
		gw.chat("nope", "hi")
	}
	time.Sleep(time.Second)
	gw.stop()
	_, out, _ := cli(t, "alerts", "list", "--data-dir", dir)
	alert := regexp.MustCompile(`MON-AUTH-FAILURES-\S+`).FindString(out)
	if alert == "" {
		t.Fatalf("no alert:\n%s", out)
	}
	book := filepath.Join(t.TempDir(), "playbooks.yaml")
	evidence := filepath.Join(t.TempDir(), "evidence.json")
	os.WriteFile(book, []byte(`
- name: stuffing
  rules: [MON-AUTH-FAILURES]
  severity: high
  title: "Credential stuffing from {{subject}}"
  steps:
    - {action: deny_ip, target: "{{subject}}/32"}
    - {action: evidence, target: "`+evidence+`"}
`), 0o644)
	code, out, errOut := cli(t, "incident", "playbook", alert, "--file", book, "--data-dir", dir)
	if code != 0 || !strings.Contains(out, "plan (nothing done") || !strings.Contains(out, "deny_ip 127.0.0.1/32") {
		t.Fatalf("plan: %d %s\n%s", code, errOut, out)
	}
	if _, out, _ = cli(t, "incident", "list", "--data-dir", dir); strings.Contains(out, "INC-") {
		t.Fatalf("the plan opened an incident:\n%s", out)
	}
	code, out, errOut = cli(t, "incident", "playbook", alert, "--file", book, "--apply", "--data-dir", dir)
	id := regexp.MustCompile(`INC-\d{8}-[0-9a-f]{6}`).FindString(out)
	if code != 0 || id == "" {
		t.Fatalf("apply: %d %s\n%s", code, errOut, out)
	}
	_, out, _ = cli(t, "incident", "show", id, "--data-dir", dir)
	for _, want := range []string{"Credential stuffing from 127.0.0.1", alert, "deny_ip", "127.0.0.1/32", "evidence"} {
		if !strings.Contains(out, want) {
			t.Errorf("the incident lacks %q:\n%s", want, out)
		}
	}
	if _, err := os.Stat(evidence); err != nil {
		t.Errorf("no evidence written: %v", err)
	}
}
