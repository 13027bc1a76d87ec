package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/modelgate/modelgate/internal/sarifschema"
	"github.com/parquet-go/parquet-go"
)

func TestScanModel(t *testing.T) {
	dir := t.TempDir()
	evil := filepath.Join(dir, "model.bin")
	os.WriteFile(evil, []byte("\x80\x02cos\nsystem\nq\x00X\x02\x00\x00\x00idq\x01\x85q\x02Rq\x03."), 0o644)
	clean := filepath.Join(dir, "clean.pkl")
	os.WriteFile(clean, []byte("\x80\x02ccollections\nOrderedDict\nq\x00)Rq\x01."), 0o644)

	code, out, _ := cli(t, "scan", "model", clean)
	if code != 0 || !strings.Contains(out, "clean: 1 files, 0 findings") {
		t.Fatalf("clean: exit %d\n%s", code, out)
	}
	code, out, _ = cli(t, "scan", "model", dir)
	if code != 1 || !strings.Contains(out, "CRITICAL") || !strings.Contains(out, "os.system") {
		t.Fatalf("dir: exit %d\n%s", code, out)
	}
	code, out, _ = cli(t, "scan", "model", "--format", "json", evil)
	var rep struct {
		Files []struct {
			Path, Format, SHA256 string
			Findings             []struct {
				RuleID     string   `json:"rule_id"`
				Severity   string   `json:"severity"`
				Title      string   `json:"title"`
				Location   string   `json:"location"`
				Evidence   string   `json:"evidence"`
				References []string `json:"references"`
			}
		}
		Summary map[string]any
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil || code != 1 {
		t.Fatalf("json: exit %d %v\n%s", code, err, out)
	}
	f := rep.Files[0]
	if f.Format != "pickle" || len(f.SHA256) != 64 || f.Findings[0].Severity != "critical" || f.Findings[0].References[0] != "CWE-502" {
		t.Fatalf("json report %+v", rep)
	}
	code, out, _ = cli(t, "scan", "model", "--format", "sarif", evil)
	if code != 1 || !strings.Contains(out, `"version": "2.1.0"`) {
		t.Fatalf("sarif: exit %d\n%s", code, out)
	}
	if err := sarifschema.Validate([]byte(out)); err != nil {
		t.Errorf("the SARIF of a finding does not validate: %v", err)
	}
	cleanFile := filepath.Join(dir, "clean.pkl")
	os.WriteFile(cleanFile, []byte("\x80\x02]q\x00."), 0o644)
	code, out, _ = cli(t, "scan", "model", "--format", "sarif", cleanFile)
	if err := sarifschema.Validate([]byte(out)); code != 0 || err != nil {
		t.Errorf("the SARIF of a clean scan: exit %d: %v\n%s", code, err, out)
	}
	if code, _, _ := cli(t, "scan", "model", filepath.Join(dir, "missing")); code != 2 {
		t.Errorf("missing path: exit %d, want 2", code)
	}
	// The allowlist extends by flag.
	custom := filepath.Join(dir, "custom.pkl")
	os.WriteFile(custom, []byte("\x80\x02cmycorp.layers\nBlock\n)R."), 0o644)
	if code, _, _ := cli(t, "scan", "model", custom); code != 1 {
		t.Errorf("unknown callable: exit %d, want 1", code)
	}
	if code, out, _ := cli(t, "scan", "model", "--allow", "mycorp.layers.*", custom); code != 0 {
		t.Errorf("allowed callable: exit %d\n%s", code, out)
	}
}

func TestDataValidate(t *testing.T) {
	dir := t.TempDir()
	c := filepath.Join(dir, "c.yaml")
	os.WriteFile(c, []byte("schema:\n  - properties:\n      - {name: id, logicalType: integer, unique: true}\n"), 0o644)
	good := filepath.Join(dir, "good.jsonl")
	os.WriteFile(good, []byte("{\"id\": 1}\n{\"id\": 2}\n"), 0o644)
	bad := filepath.Join(dir, "bad.csv")
	os.WriteFile(bad, []byte("id\n1\n1\nx\n"), 0o644)
	if code, out, _ := cli(t, "data", "validate", "--contract", c, good); code != 0 || !strings.Contains(out, "2 rows, 3 rules, 0 failed") {
		t.Errorf("good: exit %d\n%s", code, out)
	}
	code, out, _ := cli(t, "data", "validate", "--contract", c, "--format", "json", bad)
	if code != 1 || !strings.Contains(out, `"rule": "unique"`) || !strings.Contains(out, `"line": 3`) {
		t.Errorf("bad: exit %d\n%s", code, out)
	}
	if code, _, _ := cli(t, "data", "validate", "--contract", c, filepath.Join(dir, "x.xlsx")); code != 2 {
		t.Errorf("unknown format: exit %d", code)
	}
	os.WriteFile(c, []byte("schema:\n  - properties:\n      - {name: id, logicalType: money}\n"), 0o644)
	if code, _, errOut := cli(t, "data", "validate", "--contract", c, good); code != 2 || !strings.Contains(errOut, "logicalType") {
		t.Errorf("bad contract: exit %d %s", code, errOut)
	}
}

func TestDataScan(t *testing.T) {
	dir := t.TempDir()
	f := filepath.Join(dir, "d.jsonl")
	os.WriteFile(f, []byte("{\"user\": \"jane@example.com\", \"n\": 1}\n{\"user\": \"bob@example.org\", \"n\": 2}\n"), 0o644)
	code, out, _ := cli(t, "data", "scan", "--format", "json", f)
	if code != 1 || !strings.Contains(out, `"verdict": "pii"`) || strings.Contains(out, "jane@") {
		t.Errorf("exit %d\n%s", code, out)
	}
	clean := filepath.Join(dir, "c.csv")
	os.WriteFile(clean, []byte("a,b\n1,2\n"), 0o644)
	if code, _, _ := cli(t, "data", "scan", clean); code != 0 {
		t.Errorf("clean data: exit %d", code)
	}
}

func TestDataMask(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "people.jsonl")
	os.WriteFile(in, []byte(`{"name": "Jane", "email": "jane@example.com", "dob": "1985-03-12", "age": 39, "note": "call +44 20 7946 0958", "secret": "ghp_8dKq2mZpX4vN7bR1sT6wY9cE3fH5jL0aQuIo"}
{"name": "Bob", "email": "bob@example.org", "dob": "1990-07-01", "age": 34, "note": "fine", "secret": null}
`), 0o644)
	out := filepath.Join(dir, "masked.jsonl")
	t.Setenv("MG_TEST_KEY", "0123456789abcdef-key")
	code, stdout, errOut := cli(t, "data", "mask", in, "--out", out, "--auto", "--key-env", "MG_TEST_KEY", "--columns", "dob=generalise,name=drop")
	if code != 0 {
		t.Fatalf("exit %d: %s %s", code, stdout, errOut)
	}
	b, _ := os.ReadFile(out)
	got := string(b)
	for _, bad := range []string{"jane@", "Jane", "7946", "ghp_", "1985-03-12"} {
		if strings.Contains(got, bad) {
			t.Errorf("%q survived masking:\n%s", bad, got)
		}
	}
	for _, want := range []string{`"email":"7c43931b73fd20c796e523aa55095e19"`, `"dob":"1985"`, `"age":39`, `"note":"call <PHONE>"`, `"secret":"REDACTED"`, `"secret":null`} {
		if !strings.Contains(got, want) {
			t.Errorf("masked output lacks %s:\n%s", want, got)
		}
	}
	if code, _, _ := cli(t, "data", "mask", in, "--out", out, "--columns", "email=hash"); code != 2 {
		t.Errorf("hash without a key: exit %d", code)
	}
}

func TestDataProfileAndDrift(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, shift int) string {
		var b strings.Builder
		b.WriteString("x,cat\n")
		for i := range 400 {
			c := []string{"a", "b"}[i%2]
			if shift > 0 && i%5 != 0 {
				c = "b"
			}
			fmt.Fprintf(&b, "%d,%s\n", i%97+shift, c)
		}
		p := filepath.Join(dir, name)
		os.WriteFile(p, []byte(b.String()), 0o644)
		return p
	}
	ref, same, moved := write("ref.csv", 0), write("same.csv", 0), write("moved.csv", 40)
	base := filepath.Join(dir, "base.json")
	if code, _, errOut := cli(t, "data", "profile", ref, "--out", base); code != 0 {
		t.Fatalf("profile: exit %d %s", code, errOut)
	}
	if code, out, _ := cli(t, "data", "drift", "--baseline", base, same); code != 0 || !strings.Contains(out, "dataset drift false") {
		t.Errorf("same data: exit %d\n%s", code, out)
	}
	code, out, _ := cli(t, "data", "drift", "--baseline", base, "--format", "json", moved)
	if code != 1 || !strings.Contains(out, `"method": "ks"`) || !strings.Contains(out, `"dataset_drift": true`) {
		t.Errorf("moved data: exit %d\n%s", code, out)
	}
	if code, out, _ := cli(t, "data", "drift", "--baseline", base, "--format", "html", moved); code != 1 || !strings.Contains(out, "<svg") {
		t.Errorf("html: exit %d", code)
	}
	if code, _, _ := cli(t, "data", "drift", "--baseline", ref, same); code != 2 {
		t.Errorf("a CSV as the baseline: exit %d, want 2", code)
	}
}

func TestDataOutliers(t *testing.T) {
	dir := t.TempDir()
	var clean, dirty strings.Builder
	clean.WriteString("x,label\n")
	dirty.WriteString("x,label\n")
	for i := range 300 {
		fmt.Fprintf(&clean, "%d,%s\n", i%50, []string{"a", "b"}[i%2])
		fmt.Fprintf(&dirty, "%d,%s\n", (i*7)%50, []string{"a", "b"}[i%2])
	}
	for range 30 {
		dirty.WriteString("9999,b\n")
	}
	cp, dp := filepath.Join(dir, "clean.csv"), filepath.Join(dir, "dirty.csv")
	os.WriteFile(cp, []byte(clean.String()), 0o644)
	os.WriteFile(dp, []byte(dirty.String()), 0o644)
	base := filepath.Join(dir, "base.json")
	cli(t, "data", "profile", cp, "--out", base)
	code, out, _ := cli(t, "data", "outliers", dp, "--baseline", base, "--label", "label")
	if code != 1 || !strings.Contains(out, "line 302") || !strings.Contains(out, "exact duplicates") {
		t.Errorf("dirty: exit %d\n%s", code, out)
	}
	if code, out, _ := cli(t, "data", "outliers", cp, "--baseline", base, "--format", "json"); code != 1 && code != 0 || !strings.Contains(out, `"top_rows"`) {
		t.Errorf("clean: exit %d\n%s", code, out)
	}
}

func TestDataMaskParquet(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "in.parquet")
	f, _ := os.Create(in)
	type rec struct {
		ID    int64  `parquet:"id"`
		Email string `parquet:"email"`
	}
	w := parquet.NewGenericWriter[rec](f)
	w.Write([]rec{{1, "jane@example.com"}, {2, "bob@example.org"}})
	w.Close()
	f.Close()
	out := filepath.Join(dir, "out.parquet")
	if code, _, errOut := cli(t, "data", "mask", in, "--out", out, "--columns", "email=redact"); code != 0 {
		t.Fatalf("exit %d %s", code, errOut)
	}
	code, got, _ := cli(t, "data", "scan", "--format", "json", out)
	if code != 0 || !strings.Contains(got, `"rows": 2`) {
		t.Errorf("masked parquet: exit %d\n%s", code, got)
	}
}

func TestKeygenSignVerify(t *testing.T) {
	dir := t.TempDir()
	model := filepath.Join(dir, "model")
	os.MkdirAll(model, 0o755)
	os.WriteFile(filepath.Join(model, "weights.bin"), []byte("weights"), 0o644)
	keys := filepath.Join(dir, "keys")
	if code, _, errOut := cli(t, "keygen", "--out", keys); code != 0 {
		t.Fatalf("keygen: %d %s", code, errOut)
	}
	if info, _ := os.Stat(filepath.Join(keys, "private.pem")); info.Mode().Perm() != 0o600 {
		t.Errorf("private key mode %v", info.Mode().Perm())
	}
	if code, _, errOut := cli(t, "sign", model, "--key", filepath.Join(keys, "private.pem")); code != 0 {
		t.Fatalf("sign: %d %s", code, errOut)
	}
	if code, out, _ := cli(t, "verify", model, "--pubkey", filepath.Join(keys, "public.pem")); code != 0 || !strings.Contains(out, "verified") {
		t.Fatalf("verify: %d %s", code, out)
	}
	os.WriteFile(filepath.Join(model, "weights.bin"), []byte("poisoned"), 0o644)
	if code, out, _ := cli(t, "verify", model, "--pubkey", filepath.Join(keys, "public.pem")); code != 1 || !strings.Contains(out, "weights.bin: modified") {
		t.Fatalf("tampered: %d %s", code, out)
	}
	if code, _, _ := cli(t, "verify", model); code != 2 {
		t.Errorf("no key: exit %d", code)
	}
}

func TestCardCheck(t *testing.T) {
	dir := t.TempDir()
	c := filepath.Join(dir, "README.md")
	os.WriteFile(c, []byte("---\nlicense: mit\n---\n## Uses\nTriage.\n"), 0o644)
	code, out, errOut := cli(t, "card", "check", c)
	if code != 1 || !strings.Contains(out, "MISSING  out of scope use") || !strings.Contains(errOut, "training_data") {
		t.Errorf("exit %d\n%s\n%s", code, out, errOut)
	}
	j := filepath.Join(dir, "card.json")
	os.WriteFile(j, []byte(`{"intended_use":"a","out_of_scope_use":"b","training_data":"c","metrics":{"f1":0.8},"bias_risks_limitations":"d","owner_contact":"e","license":"f"}`), 0o644)
	if code, out, _ := cli(t, "card", "check", "--format", "json", j); code != 0 || !strings.Contains(out, `"completeness": 1`) {
		t.Errorf("complete card: exit %d\n%s", code, out)
	}
}

// TestDataReportsUnreadableLines: profile, drift and outliers say how many
// lines they could not read and where, in text and in JSON, rather than
// leave them out silently; a 0/1 column is not scored for outliers, and a
// column without outliers names no worst line.
func TestDataReportsUnreadableLines(t *testing.T) {
	dir := t.TempDir()
	var b strings.Builder
	b.WriteString("flag,x\n")
	for i := range 200 {
		fmt.Fprintf(&b, "%d,%d\n", i%2, i%37)
		if i == 50 || i == 120 {
			b.WriteString("1,2,3,4\n") // a row with too many fields
		}
	}
	data := filepath.Join(dir, "d.csv")
	os.WriteFile(data, []byte(b.String()), 0o644)
	base := filepath.Join(dir, "base.json")
	code, out, errOut := cli(t, "data", "profile", data, "--out", base)
	if code != 0 || !strings.Contains(out, "2 rows could not be read") || !strings.Contains(out, "lines 53, 124") {
		t.Fatalf("profile: exit %d\n%s%s", code, out, errOut)
	}
	if raw, _ := os.ReadFile(base); !strings.Contains(string(raw), `"unreadable_rows":{"count":2`) {
		t.Errorf("the profile's JSON lacks the unreadable rows: %.300s", raw)
	}
	_, out, _ = cli(t, "data", "drift", "--baseline", base, data)
	if !strings.Contains(out, "2 rows could not be read") {
		t.Errorf("drift:\n%s", out)
	}
	_, out, _ = cli(t, "data", "outliers", data)
	if !strings.Contains(out, "2 rows could not be read") || strings.Contains(out, "e+308") || strings.Contains(out, "line 0,") ||
		!strings.Contains(out, "flag                 not scored (2 distinct values)") {
		t.Errorf("outliers:\n%s", out)
	}
	_, out, _ = cli(t, "data", "outliers", data, "--format", "json")
	if !strings.Contains(out, `"unreadable_rows"`) || strings.Contains(out, "e+308") {
		t.Errorf("outliers json:\n%s", out)
	}
}

// TestScanModelFailOn: an info finding (a file the scanner does not
// recognise) is shown but fails the scan only at --fail-on info.
func TestScanModelFailOn(t *testing.T) {
	blob := filepath.Join(t.TempDir(), "weights.bin")
	os.WriteFile(blob, []byte("\x00\x01\x02\x03 opaque binary \xff\xfe"), 0o644)
	code, out, _ := cli(t, "scan", "model", blob)
	if code != 0 || !strings.Contains(out, "MS007") {
		t.Errorf("default --fail-on low: exit %d\n%s", code, out)
	}
	if code, out, _ := cli(t, "scan", "model", "--fail-on", "info", blob); code != 1 {
		t.Errorf("--fail-on info: exit %d\n%s", code, out)
	}
	if code, _, errOut := cli(t, "scan", "model", "--fail-on", "severe", blob); code != 2 || !strings.Contains(errOut, "--fail-on") {
		t.Errorf("--fail-on severe: exit %d, %s", code, errOut)
	}
}

// TestScanModelStopsOnSignal sends SIGTERM to a scan of a 1 TB (sparse)
// file, which would take hours to digest: the scan stops, exits 130 and
// prints no report.
func TestScanModelStopsOnSignal(t *testing.T) {
	path := filepath.Join(t.TempDir(), "huge.pkl")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	f.Write([]byte("\x80\x02]q\x00."))
	if err := f.Truncate(1 << 40); err != nil {
		t.Skipf("skipped: this file system cannot hold a sparse 1 TB file: %v", err)
	}
	f.Close()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), scanPathEnv+"="+path)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// A SIGTERM before the command handles it ends the child outright:
	// wait until the scan has the file open, which is after.
	waitOpen(t, cmd.Process.Pid, path)
	cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(60 * time.Second):
		cmd.Process.Kill()
		t.Fatalf("the scan ignored SIGTERM for a minute:\n%s", out.String())
	}
	if code := cmd.ProcessState.ExitCode(); code != 130 {
		t.Fatalf("exit %d, want 130:\n%s", code, out.String())
	}
	if !strings.Contains(out.String(), "interrupted") || strings.Contains(out.String(), "files,") {
		t.Errorf("output:\n%s", out.String())
	}
}

// waitOpen waits until process pid has path open, as /proc shows it.
// Without /proc it waits a second and hopes.
func waitOpen(t *testing.T, pid int, path string) {
	t.Helper()
	dir := fmt.Sprintf("/proc/%d/fd", pid)
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		fds, err := os.ReadDir(dir)
		if err != nil {
			time.Sleep(time.Second)
			return
		}
		for _, fd := range fds {
			if target, _ := os.Readlink(filepath.Join(dir, fd.Name())); target == path {
				return
			}
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("process %d did not open %s", pid, path)
}

// TestDataDriftOfText: a baseline of a prompt column's text features
// (data profile --text) is compared by data drift with the same column of
// another file: the same kind of prompts do not drift, prompts in another
// script do, and a file without the column is a usage error.
func TestDataDriftOfText(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, prompt func(i int) string) string {
		var b strings.Builder
		for i := range 400 {
			fmt.Fprintf(&b, "{\"id\": %d, \"prompt\": %q}\n", i, prompt(i))
		}
		path := filepath.Join(dir, name)
		os.WriteFile(path, []byte(b.String()), 0o644)
		return path
	}
	english := func(i int) string {
		return fmt.Sprintf("Please check order %d and tell me when it ships to the %s office.", 1000+i*37%900, []string{"London", "Leeds", "York"}[i%3])
	}
	ref := write("ref.jsonl", english)
	same := write("same.jsonl", func(i int) string { return english(i + 400) })
	greek := write("greek.jsonl", func(i int) string {
		return fmt.Sprintf("Παρακαλώ ελέγξτε την παραγγελία %d και πείτε μου πότε αποστέλλεται.", 1000+i)
	})
	base := filepath.Join(dir, "base.json")
	if code, out, errOut := cli(t, "data", "profile", ref, "--text", "prompt", "--out", base); code != 0 || !strings.Contains(out, "11 columns") {
		t.Fatalf("profile --text: exit %d\n%s%s", code, out, errOut)
	}
	if code, out, _ := cli(t, "data", "drift", "--baseline", base, same); code != 0 {
		t.Errorf("the same kind of prompts: exit %d\n%s", code, out)
	}
	if code, out, _ := cli(t, "data", "drift", "--baseline", base, greek); code != 1 || !strings.Contains(out, "non_latin") {
		t.Errorf("prompts in Greek: exit %d\n%s", code, out)
	}
	if code, _, errOut := cli(t, "data", "profile", ref, "--text", "body", "--out", base); code != 2 || !strings.Contains(errOut, `no column "body"`) {
		t.Errorf("a missing column: exit %d %s", code, errOut)
	}
}
