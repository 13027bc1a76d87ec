package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/modelgate/modelgate/internal/sarifschema"
)

func TestPostureScanCLI(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte("FROM python:3.12\nENV HF_TOKEN=x\nCMD [\"python\"]\n"), 0o644)
	code, out, errOut := cli(t, "posture", "scan", dir)
	if code != 1 || !strings.Contains(out, "PS-DF-001") || !strings.Contains(out, "PS-DF-003") {
		t.Fatalf("scan: %d\n%s%s", code, out, errOut)
	}
	code, out, _ = cli(t, "posture", "scan", dir, "--format", "sarif")
	if code != 1 || sarifschema.Validate([]byte(out)) != nil {
		t.Errorf("sarif: %d %v", code, sarifschema.Validate([]byte(out)))
	}
	// A user rule adds to the pack.
	rules := t.TempDir()
	os.WriteFile(filepath.Join(rules, "org.rego"), []byte(`package modelgate.posture

import rego.v1

deny contains {"rule": "ORG-1", "severity": "low", "title": "no CMD", "path": d.path, "msg": "x"} if {
	some d in input.documents
	d.kind == "dockerfile"
}
`), 0o644)
	if code, out, _ := cli(t, "posture", "scan", dir, "--rules", rules); code != 1 || !strings.Contains(out, "ORG-1") {
		t.Errorf("user rule: %d\n%s", code, out)
	}
	os.WriteFile(filepath.Join(rules, "bad.rego"), []byte("package x\nthis is not rego\n"), 0o644)
	if code, _, _ := cli(t, "posture", "scan", dir, "--rules", rules); code != 2 {
		t.Errorf("bad rule: exit %d", code)
	}
	os.WriteFile(filepath.Join(dir, "broken.yaml"), []byte("a: [\n"), 0o644)
	if code, _, errOut := cli(t, "posture", "scan", dir); code != 2 || !strings.Contains(errOut, "broken.yaml") {
		t.Errorf("broken file: %d %s", code, errOut)
	}
}

func TestPostureProbeCLI(t *testing.T) {
	// An unauthenticated model server with no limits.
	open := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		if r.URL.Path == "/api/tags" {
			io.WriteString(w, `{"models":[]}`)
			return
		}
		io.WriteString(w, `{"choices":[]}`)
	}))
	defer open.Close()
	code, out, errOut := cli(t, "posture", "probe", open.URL, "--burst", "5", "--max-body", "65536")
	if code != 1 || !strings.Contains(out, "PS-EP-006") || !strings.Contains(out, "PS-EP-014") || !strings.Contains(out, "auth") {
		t.Fatalf("probe: %d\n%s%s", code, out, errOut)
	}
	code, out, _ = cli(t, "posture", "probe", open.URL, "--burst", "5", "--max-body", "65536", "--format", "sarif")
	if code != 1 || sarifschema.Validate([]byte(out)) != nil {
		t.Errorf("sarif: %d %v", code, sarifschema.Validate([]byte(out)))
	}
	code, out, _ = cli(t, "posture", "probe", open.URL, "--skip", "tls,auth,methods,cors,errors,body-size,admin-apis,rate-limit", "--format", "json")
	var doc struct {
		Results []struct{ Checks []struct{ Status string } }
	}
	if code != 0 || json.Unmarshal([]byte(out), &doc) != nil || len(doc.Results) != 1 || doc.Results[0].Checks[0].Status != "skipped" {
		t.Errorf("everything skipped: %d %s", code, out)
	}
	for _, args := range [][]string{
		{"posture", "probe", "http://192.0.2.7:8000"},       // outside the scope
		{"posture", "probe", open.URL, "--skip", "nothing"}, // no such check
		{"posture", "probe", open.URL, "--key-env", "UNSET_MODELGATE_TEST_KEY"},
		{"posture", "probe", "ftp://127.0.0.1/"},
	} {
		if code, _, errOut := cli(t, args...); code != 2 || errOut == "" {
			t.Errorf("%v: exit %d %q", args, code, errOut)
		}
	}
}
