package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/modelgate/modelgate/internal/cdxschema"
	"github.com/modelgate/modelgate/internal/osvtest"
	"github.com/modelgate/modelgate/internal/sarifschema"
)

func TestScanDepsCLI(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	exp := filepath.Join(dir, "all.zip")
	osvtest.Write(t, exp, osvtest.Advisory("GHSA-test", "Torch", "introduced", "0", "fixed", "2.6.0").
		With("aliases", []string{"CVE-2024-1"}).
		With("severity", []any{map[string]string{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}}))
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

// TestGateChecksDependencies registers models whose requirements pin a
// vulnerable package: the gate refuses them until the database says the
// pinned version is fixed, and refuses an unchecked one.
func TestGateChecksDependencies(t *testing.T) {
	data, _ := registryFixture(t)
	dir := t.TempDir()
	model := func(version, pin string) string {
		p := filepath.Join(dir, "m"+version)
		os.MkdirAll(p, 0o755)
		os.WriteFile(filepath.Join(p, "README.md"), []byte(completeCard), 0o644)
		os.WriteFile(filepath.Join(p, "weights.bin"), []byte(strings.Repeat("w", 100)), 0o644)
		os.WriteFile(filepath.Join(p, "requirements.txt"), []byte("torch=="+pin+" --hash=sha256:aa\n"), 0o644)
		return p
	}
	run := func(want int, args ...string) string {
		t.Helper()
		code, out, errOut := cli(t, append(args, "--data-dir", data)...)
		if code != want {
			t.Fatalf("%v: exit %d, want %d\n%s%s", args, code, want, out, errOut)
		}
		return out + errOut
	}
	run(0, "models", "register", "m", "--version", "1", "--path", model("1", "2.5.1"), "--card", filepath.Join(dir, "m1", "README.md"), "--risk-tier", "low")
	if out := run(1, "gate", "m@1"); !strings.Contains(out, "dependencies were not checked") {
		t.Errorf("gate without a database:\n%s", out)
	}
	exp := filepath.Join(dir, "all.zip")
	osvtest.Write(t, exp, osvtest.Advisory("GHSA-t", "torch", "introduced", "0", "fixed", "2.6.0").
		With("database_specific", map[string]string{"severity": "CRITICAL"}))
	run(0, "vulndb", "import", exp)
	// The gate checks again against today's database.
	if out := run(1, "gate", "m@1"); !strings.Contains(out, "1 critical vulnerability advisory(ies) affect the model's dependencies") {
		t.Errorf("gate with a vulnerable pin:\n%s", out)
	}
	run(0, "models", "register", "m", "--version", "2", "--path", model("2", "2.6.0"), "--card", filepath.Join(dir, "m2", "README.md"), "--risk-tier", "low")
	if out := run(1, "gate", "m@2"); strings.Contains(out, "dependenc") {
		t.Errorf("a fixed pin is still refused:\n%s", out)
	}
}
