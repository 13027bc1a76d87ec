package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// printedCommand finds a command the demo printed that starts with
// prefix (after its variables), joins its continued lines, sets its
// variables and returns its arguments after "modelgate".
func printedCommand(t *testing.T, printed, prefix string) []string {
	t.Helper()
	joined := strings.ReplaceAll(printed, "\\\n", " ")
	for _, line := range strings.Split(joined, "\n") {
		fields := strings.Fields(line)
		var args []string
		for i, f := range fields {
			if f == "modelgate" {
				args = fields[i+1:]
				for _, env := range fields[:i] {
					k, v, ok := strings.Cut(env, "=")
					if !ok {
						t.Fatalf("%q: not a variable", env)
					}
					t.Setenv(k, v)
				}
				break
			}
		}
		if strings.HasPrefix(strings.Join(args, " "), prefix) {
			return args
		}
	}
	t.Fatalf("the demo printed no %q command:\n%s", prefix, printed)
	return nil
}

// TestRedteamAgainstTheWeakDemo runs the red-team commands `demo --weak`
// prints, as printed: the run finds the planted canary leaking from the
// unguarded route and records itself in the audit log; a baseline from
// the guarded route makes the unguarded one a regression; a resumed run
// picks up its journal; the purple team reports the gap for both the chat
// model and the classifier.
func TestRedteamAgainstTheWeakDemo(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	printed, stop := startDemo(t, data, "--weak")
	defer stop()

	args := printedCommand(t, printed, "redteam run")
	code, out, errOut := cli(t, append(args, "--format", "json")...)
	if code != 0 {
		t.Fatalf("redteam run: %d %s\n%s", code, errOut, out)
	}
	var run struct {
		ID       string
		Canary   string
		Attempts []struct{ Probe, Outcome, Evidence string }
		Rates    map[string]struct {
			ComplianceRate float64 `json:"compliance_rate"`
		} `json:"rates"`
	}
	if err := json.Unmarshal([]byte(out), &run); err != nil {
		t.Fatal(err)
	}
	outcomes := map[string]int{}
	for _, a := range run.Attempts {
		outcomes[a.Outcome]++
	}
	if outcomes["complied"] == 0 || outcomes["refused"] == 0 || outcomes["error"] != 0 || run.Rates["system-prompt-extraction"].ComplianceRate == 0 {
		t.Errorf("against demo-chat-open: %v %+v", outcomes, run.Rates)
	}
	code, out, _ = cli(t, "audit", "tail", "--data-dir", data, "-n", "5")
	if code != 0 || !strings.Contains(out, "redteam.run") {
		t.Errorf("the run is not in the audit log:\n%s", out)
	}

	// A baseline from the guarded route; the open route regresses on it.
	dir := t.TempDir()
	base := filepath.Join(dir, "baseline.json")
	guarded := append(replaceArg(args, "--model", "demo-chat"), "--write-baseline", base, "--record=false")
	if code, out, errOut = cli(t, guarded...); code != 0 {
		t.Fatalf("guarded: %d %s\n%s", code, errOut, out)
	}
	code, out, _ = cli(t, append(args, "--baseline", base, "--record=false")...)
	if code != exitFindings || !strings.Contains(out, "REGRESSION") {
		t.Errorf("no regression against the guarded baseline: %d\n%s", code, out)
	}

	// A journal: a second run with it plays nothing new and keeps the canary.
	journal := filepath.Join(dir, "run.jsonl")
	code, first, _ := cli(t, append(args, "--resume", journal, "--format", "json", "--record=false", "--category", "jailbreak")...)
	code2, second, _ := cli(t, append(args, "--resume", journal, "--format", "json", "--record=false", "--category", "jailbreak")...)
	var a, b struct {
		ID, Canary string
		Attempts   []any
	}
	json.Unmarshal([]byte(first), &a)
	json.Unmarshal([]byte(second), &b)
	if code != 0 || code2 != 0 || a.ID == "" || a.ID != b.ID || a.Canary != b.Canary || len(a.Attempts) != len(b.Attempts) {
		t.Errorf("resume: %d %d %+v %+v", code, code2, a, b)
	}
	if code, _, errOut = cli(t, append(replaceArg(args, "--model", "demo-chat"), "--resume", journal)...); code != exitUsage || !strings.Contains(errOut, "not") {
		t.Errorf("a journal of another route resumed: %d %s", code, errOut)
	}

	purple := printedCommand(t, printed, "redteam purple")
	report := filepath.Join(dir, "purple.html")
	purple = replaceArg(replaceArg(replaceArg(purple, "--out", report), "--max-wait", "2s"), "--query-budget", "3000")
	if code, out, errOut = cli(t, purple...); code != 0 {
		t.Fatalf("purple: %d %s\n%s", code, errOut, out)
	}
	html, err := os.ReadFile(report)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Resilience gap", "data breach", "fraud loss", "hopskipjump", "no: the endpoint returns labels only", "LLM07", "<svg"} {
		if !strings.Contains(string(html), want) {
			t.Errorf("the purple report lacks %q", want)
		}
	}
	if !regexp.MustCompile(`hopskipjump</td><td>evaded within L2 0.2</td><td>\d+ of 10`).Match(html) {
		t.Errorf("no evasion row in the report")
	}
}

// replaceArg sets a flag's value, adding the flag if it is absent.
func replaceArg(args []string, flag, value string) []string {
	out := append([]string{}, args...)
	for i := range out {
		if out[i] == flag && i+1 < len(out) {
			out[i+1] = value
			return out
		}
	}
	return append(out, flag, value)
}

func TestRedteamUsage(t *testing.T) {
	for _, args := range [][]string{
		{"redteam", "run", "--model", "m"},
		{"redteam", "run", "--target", "ftp://x", "--model", "m"},
		{"redteam", "run", "--target", "http://127.0.0.1:1/v1"},
		{"redteam", "run", "--target", "http://127.0.0.1:1/v1", "--model", "m", "--category", "nope"},
		{"redteam", "run", "--target", "http://127.0.0.1:1/v1", "--model", "m", "--key-env", "MODELGATE_TEST_UNSET_VAR"},
		{"redteam", "run", "--target", "http://127.0.0.1:1/v1", "--model", "m", "--format", "pdf"},
		{"redteam", "run", "--target", "http://127.0.0.1:1/v1", "--model", "m", "--suite", "/nonexistent.yaml"},
		{"redteam", "classifier", "--target", "http://127.0.0.1:1", "--model", "m"},
		{"redteam", "classifier", "--target", "http://127.0.0.1:1", "--model", "m", "--samples", "x.csv", "--attack", "nope"},
		{"redteam", "purple", "--target", "http://127.0.0.1:1/v1"},
	} {
		if code, _, errOut := cli(t, args...); code != exitUsage || errOut == "" {
			t.Errorf("%v: exit %d, %q", args, code, errOut)
		}
	}
	// An unreachable target is not a usage error, and says why.
	code, _, errOut := cli(t, "redteam", "run", "--target", "http://127.0.0.1:1/v1", "--model", "m", "--record=false", "--budget", "2")
	if code != exitInternal || !strings.Contains(errOut, "could not be attacked") {
		t.Errorf("unreachable: %d %s", code, errOut)
	}
}

func TestReadRecords(t *testing.T) {
	dir := t.TempDir()
	write := func(body string) string {
		p := filepath.Join(dir, "r.csv")
		os.WriteFile(p, []byte(body), 0o644)
		return p
	}
	rows, labels, err := readRecords(write("a,b,label\n1,2,0\n3,4.5,1\n"), "label", true)
	if err != nil || len(rows) != 2 || rows[1][1] != 4.5 || labels[1] != 1 {
		t.Fatalf("%v %v %v", rows, labels, err)
	}
	for _, bad := range []string{"a,b\n1,2\n", "a,label\nx,1\n", "a,label\n1,0.5\n", "a,label\n", "a,label\nNaN,1\n", "a,label\n1,2,3\n"} {
		if _, _, err := readRecords(write(bad), "label", true); err == nil {
			t.Errorf("accepted %q", bad)
		}
	}
}

func FuzzReadRecords(f *testing.F) {
	f.Add([]byte("a,b,label\n1,2,0\n"))
	f.Add([]byte("a,\"b\nc\",label\n1,2e308,1\n"))
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, b []byte) {
		p := filepath.Join(dir, "f.csv")
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Skip(err)
		}
		rows, labels, err := readRecords(p, "label", true)
		if err == nil && len(rows) != len(labels) {
			t.Fatalf("%d rows, %d labels", len(rows), len(labels))
		}
	})
}
