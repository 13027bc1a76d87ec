package supplychain

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/modelgate/modelgate/finding"
	"github.com/modelgate/modelgate/internal/osvtest"
	"github.com/modelgate/modelgate/supplychain/deps"
	"github.com/modelgate/modelgate/supplychain/vulndb"
)

func TestScanDeps(t *testing.T) {
	dir := t.TempDir()
	exp := filepath.Join(dir, "PyPI.zip")
	adv := func(id, pkg string, events ...string) osvtest.Record {
		return osvtest.Advisory(id, pkg, events...).With("aliases", []string{"CVE-2024-" + strings.TrimPrefix(id, "GHSA-")}).
			With("database_specific", map[string]string{"severity": "HIGH"})
	}
	osvtest.Write(t, exp,
		adv("GHSA-1", "PyJWT", "introduced", "0", "fixed", "2.4.0").Versions("2.3.0", "2.0.0"),
		adv("GHSA-2", "transformers", "introduced", "4.38.0", "fixed", "4.48.0"),
		adv("GHSA-3", "torch", "introduced", "0", "fixed", "2.6.0"),
		adv("MAL-2025-9", "evil-pkg", "introduced", "0"),
	)
	idx := filepath.Join(dir, "db", vulndb.FileName)
	if _, err := vulndb.Import(idx, []string{exp}, time.Now()); err != nil {
		t.Fatal(err)
	}
	db, err := vulndb.Open(idx)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()

	proj := filepath.Join(dir, "proj")
	for name, body := range map[string]string{
		"ml/requirements.txt":  "PyJWT>=2.10.0\ntransformers>=4.40,<5\ntorch==2.3.0\nevil_pkg\nnumpy==1.26.4 --hash=sha256:aa\n",
		"api/pyproject.toml":   "[project]\nname = \"api\"\ndependencies = [\"pyjwt>=2\"]\n",
		"api/poetry.lock":      "[[package]]\nname = \"pyjwt\"\nversion = \"2.3.0\"\n",
		"odd/requirements.txt": "weird @ https://example.com/weird-1.0.whl\n",
	} {
		p := filepath.Join(proj, filepath.FromSlash(name))
		os.MkdirAll(filepath.Dir(p), 0o755)
		os.WriteFile(p, []byte(body), 0o644)
	}
	files, err := deps.Find([]string{proj})
	if err != nil {
		t.Fatal(err)
	}
	res, err := ScanDeps(db, files)
	if err != nil {
		t.Fatal(err)
	}
	rep := res.Report()
	var got []string
	for _, f := range rep.Files {
		for _, fd := range f.Findings {
			got = append(got, filepath.Base(filepath.Dir(f.Path))+" "+fd.RuleID+" "+fd.Severity.String()+" "+strings.Fields(fd.Title)[0])
		}
	}
	slices.Sort(got)
	want := []string{
		"api DEP-VULN high pyjwt",                  // the lock's 2.3.0, not the declared range
		"ml DEP-MALICIOUS critical evil-pkg",       // malicious whatever the version
		"ml DEP-UNHASHED info torch",               // pinned without a hash
		"ml DEP-UNPINNED low evil-pkg",             //
		"ml DEP-UNPINNED low pyjwt",                // a range is not a pin...
		"ml DEP-UNPINNED low transformers",         //
		"ml DEP-VULN high torch",                   // 2.3.0 < 2.6.0
		"ml DEP-VULN-POSSIBLE medium transformers", // >=4.40,<5 overlaps [4.38, 4.48)
		"odd DEP-UNJUDGED medium weird:",           // a direct URL: never reported clean
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("findings:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	// ...and >=2.10.0 allows no affected PyJWT: no vulnerability finding.
	for _, p := range res.Packages {
		if p.Name == "pyjwt" && p.File == filepath.Join(proj, "ml", "requirements.txt") && len(p.Matches) != 0 {
			t.Errorf("PyJWT>=2.10.0 matched %+v", p.Matches)
		}
		if p.Name == "pyjwt" && p.Format == "pyproject" && p.CoveredBy == "" {
			t.Error("the declaration beside a lock is judged by its range")
		}
	}
	for _, f := range rep.Files {
		for _, fd := range f.Findings {
			if fd.RuleID == "DEP-VULN" && (!strings.Contains(fd.Evidence, "fixed in") || !slices.Contains(fd.References, "CWE-1395")) {
				t.Errorf("finding lacks its fix or references: %+v", fd)
			}
		}
	}
	if !rep.Fails(finding.Critical) {
		t.Error("a malicious package does not fail at critical")
	}
}
