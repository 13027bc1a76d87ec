package main

import (
	"archive/zip"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/modelgate/modelgate/internal/cdxschema"
	"github.com/modelgate/modelgate/internal/sarifschema"
)

func TestScanDepsCLI(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	exp := filepath.Join(dir, "all.zip")
	f, _ := os.Create(exp)
	zw := zip.NewWriter(f)
	w, _ := zw.Create("GHSA-test.json")
	json.NewEncoder(w).Encode(map[string]any{"id": "GHSA-test", "modified": "2024-05-01T00:00:00Z", "aliases": []string{"CVE-2024-1"},
		"severity": []any{map[string]string{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}},
		"affected": []any{map[string]any{"package": map[string]string{"ecosystem": "PyPI", "name": "Torch"},
			"ranges": []any{map[string]any{"type": "ECOSYSTEM", "events": []map[string]string{{"introduced": "0"}, {"fixed": "2.6.0"}}}}}}})
	zw.Close()
	f.Close()
	proj := filepath.Join(dir, "proj")
	os.MkdirAll(proj, 0o755)
	os.WriteFile(filepath.Join(proj, "requirements.txt"), []byte("torch==2.5.1 --hash=sha256:aa\n"), 0o644)

	run := func(want int, args ...string) string {
		t.Helper()
		code, out, errOut := cli(t, append(args, "--data-dir", data)...)
		if code != want {
			t.Fatalf("%v: exit %d, want %d\n%s%s", args, code, want, out, errOut)
		}
		return out
	}
	if code, _, errOut := cli(t, "scan", "deps", proj, "--data-dir", data); code != 2 || !strings.Contains(errOut, "vulndb import") {
		t.Errorf("without a database: %d %s", code, errOut)
	}
	run(2, "vulndb", "import", filepath.Join(dir, "missing.zip"))
	if out := run(0, "vulndb", "import", exp); !strings.Contains(out, "imported 1 advisories for 1 packages") {
		t.Errorf("import: %s", out)
	}
	if out := run(0, "vulndb", "status"); !strings.Contains(out, "advisories    1") {
		t.Errorf("status: %s", out)
	}
	out := run(1, "scan", "deps", proj)
	if !strings.Contains(out, "DEP-VULN") || !strings.Contains(out, "torch 2.5.1 is affected by GHSA-test") || !strings.Contains(out, "fixed in 2.6.0") {
		t.Errorf("table: %s", out)
	}
	run(1, "scan", "deps", proj, "--fail-on", "critical") // CVSS 9.8
	if err := sarifschema.Validate([]byte(run(1, "scan", "deps", proj, "--format", "sarif"))); err != nil {
		t.Errorf("SARIF: %v", err)
	}
	if err := cdxschema.Validate([]byte(run(1, "scan", "deps", proj, "--format", "cyclonedx"))); err != nil {
		t.Errorf("CycloneDX: %v", err)
	}
	var doc struct {
		Result struct {
			Packages []struct {
				Name    string `json:"Name"`
				Matches []any  `json:"matches"`
			} `json:"packages"`
		} `json:"result"`
	}
	if err := json.Unmarshal([]byte(run(1, "scan", "deps", proj, "--format", "json")), &doc); err != nil || len(doc.Result.Packages) != 1 || len(doc.Result.Packages[0].Matches) != 1 {
		t.Errorf("json: %v %+v", err, doc)
	}
	os.WriteFile(filepath.Join(proj, "requirements.txt"), []byte("torch==2.6.0 --hash=sha256:aa\n"), 0o644)
	run(0, "scan", "deps", proj)
}
