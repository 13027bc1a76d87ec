package vulndb

import (
	"archive/zip"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/modelgate/modelgate/internal/osvtest"
	"github.com/modelgate/modelgate/supplychain/pep440"
)

func TestCVSS3(t *testing.T) {
	for vector, want := range map[string]float64{
		"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H": 9.8,
		"CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N": 6.1,
		"CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:U/C:H/I:H/A:H": 7.8,
		"CVSS:3.0/AV:N/AC:H/PR:N/UI:N/S:U/C:H/I:N/A:N": 5.9,
		"CVSS:3.1/AV:N/AC:L/PR:L/UI:N/S:C/C:H/I:H/A:H": 9.9,
		"CVSS:3.1/AV:P/AC:H/PR:H/UI:R/S:U/C:L/I:N/A:N": 1.6,
		"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:N": 0,
	} {
		got, err := CVSS3(vector)
		if err != nil || got != want {
			t.Errorf("%s: %v %v, want %v", vector, got, err, want)
		}
	}
	for _, bad := range []string{"", "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N", "CVSS:3.1/AV:X/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", "CVSS:3.1/AV:N"} {
		if _, err := CVSS3(bad); err == nil {
			t.Errorf("%q scored", bad)
		}
	}
}

// record writes an OSV record as the exports hold them.
func record(id, pkg, modified string, ranges []map[string]string, versions []string, extra map[string]any) map[string]any {
	r := map[string]any{"schema_version": "1.6.0", "id": id, "modified": modified, "summary": "summary of " + id,
		"affected": []any{map[string]any{"package": map[string]string{"ecosystem": "PyPI", "name": pkg},
			"ranges": []any{map[string]any{"type": "ECOSYSTEM", "events": ranges}}, "versions": versions}}}
	for k, v := range extra {
		r[k] = v
	}
	return r
}

func writeExport(t *testing.T, path string, records ...map[string]any) {
	t.Helper()
	rs := make([]osvtest.Record, len(records))
	for i, r := range records {
		rs[i] = r
	}
	osvtest.Write(t, path, rs...)
}

func ev(kv ...string) []map[string]string {
	var out []map[string]string
	for i := 0; i < len(kv); i += 2 {
		out = append(out, map[string]string{kv[i]: kv[i+1]})
	}
	return out
}

func testDB(t *testing.T) *DB {
	t.Helper()
	dir := t.TempDir()
	a := filepath.Join(dir, "a.zip")
	b := filepath.Join(dir, "b.zip")
	writeExport(t, a,
		record("GHSA-jwt1", "PyJWT", "2024-01-01T00:00:00Z", ev("introduced", "2.0.0", "fixed", "2.4.0"), []string{"2.0.0", "2.1.0", "2.3.0"},
			map[string]any{"aliases": []string{"CVE-2022-29217"}, "severity": []any{map[string]string{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}}}),
		record("PYSEC-tf1", "transformers", "2024-02-01T00:00:00Z", ev("introduced", "4.30.0", "fixed", "4.36.0"), nil, nil),
		record("PYSEC-tf2", "transformers", "2024-02-01T00:00:00Z", ev("introduced", "4.38.0", "fixed", "4.48.0"), nil,
			map[string]any{"database_specific": map[string]string{"severity": "MODERATE"}}),
		record("PYSEC-tf3", "Transformers", "2024-02-01T00:00:00Z", ev("introduced", "0", "last_affected", "4.39.1"), nil, nil),
		record("MAL-2024-1", "evil_pkg", "2024-03-01T00:00:00Z", ev("introduced", "0"), nil, nil),
		record("GHSA-gone", "PyJWT", "2024-03-01T00:00:00Z", ev("introduced", "0"), nil, map[string]any{"withdrawn": "2024-03-02T00:00:00Z"}),
		record("GHSA-pre", "torch", "2024-03-01T00:00:00Z", ev("introduced", "2.5.0rc1", "fixed", "2.5.0"), []string{"2.5.0rc1", "2.5.0rc2"}, nil),
	)
	// The same advisory, older, in a second export: the newer stays.
	writeExport(t, b, record("GHSA-jwt1", "pyjwt", "2023-01-01T00:00:00Z", ev("introduced", "0"), nil, nil))
	path := filepath.Join(dir, "db", FileName)
	meta, err := Import(path, []string{b, a}, time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	if meta.Advisories != 6 || meta.Packages != 4 || meta.Withdrawn != 1 || !meta.Newest.Equal(time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("meta %+v", meta)
	}
	db, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func ids(ms []Match) string {
	var out []string
	for _, m := range ms {
		out = append(out, m.Advisory.ID+"="+m.Verdict)
	}
	slices.Sort(out)
	return strings.Join(out, " ")
}

func TestVerdicts(t *testing.T) {
	db := testDB(t)
	look := func(name string) []Advisory {
		advs, err := db.Lookup(name)
		if err != nil {
			t.Fatal(err)
		}
		return advs
	}
	jwt := look("pyjwt")
	if len(jwt) != 1 || jwt[0].Severity != "critical" || jwt[0].CVSS != 9.8 || jwt[0].Aliases[0] != "CVE-2022-29217" || jwt[0].Fixed()[0] != "2.4.0" {
		t.Fatalf("pyjwt: %+v", jwt)
	}
	cases := []struct {
		pkg, spec, want string
	}{
		// A range is not a pin: >=2.10.0 allows no affected version.
		{"PyJWT", ">=2.10.0", ""},
		{"PyJWT", "==2.3.0", "GHSA-jwt1=affected"},
		{"PyJWT", "==2.4.0", ""},
		{"PyJWT", ">=2.1", "GHSA-jwt1=possibly-affected"},
		{"PyJWT", "", "GHSA-jwt1=possibly-affected"},
		{"PyJWT", "==2.2.*", ""}, // no enumerated affected version is a 2.2
		// Ranges without enumerated versions: the intersection decides.
		{"transformers", ">=4.40,<5", "PYSEC-tf2=possibly-affected"},
		{"transformers", "~=4.36.0", "PYSEC-tf3=possibly-affected"}, // tf3 reaches 4.39.1
		{"transformers", "~=4.49.0", ""},
		{"transformers", "==4.39.1", "PYSEC-tf2=affected PYSEC-tf3=affected"},
		{"transformers", "==4.36.0", "PYSEC-tf3=affected"},
		{"transformers", "<4.30", "PYSEC-tf3=possibly-affected"},
		{"evil-pkg", "==1.0", "MAL-2024-1=affected"},
		// Pre-releases: a set allows them only when it names one.
		{"torch", ">=2.4", ""},
		{"torch", ">=2.5.0rc1", "GHSA-pre=possibly-affected"},
		{"torch", "==2.5.0rc2", "GHSA-pre=affected"},
		{"numpy", ">=1", ""},
	}
	for _, c := range cases {
		set, err := pep440.ParseSet(c.spec)
		if err != nil {
			t.Fatal(err)
		}
		advs := look(c.pkg)
		var got []Match
		if v, ok := set.Pin(); ok {
			got = CheckVersion(advs, v)
		} else {
			got = CheckSet(advs, set)
		}
		if ids(got) != c.want {
			t.Errorf("%s %s: %q, want %q", c.pkg, c.spec, ids(got), c.want)
		}
	}
	m := CheckSet(look("transformers"), mustSet(">=4.40,<5"))
	if len(m) != 1 || m[0].Range != ">=4.40,<4.48.0" || m[0].Advisory.Severity != "medium" {
		t.Errorf("range: %+v", m)
	}
	m = CheckSet(jwt, mustSet(">=2.1"))
	if m[0].AllowedCount != 2 || m[0].Allowed[0] != "2.3.0" {
		t.Errorf("allowed: %+v", m[0])
	}
	mal := look("evil-pkg")
	if !mal[0].Malicious() || mal[0].Severity != "critical" {
		t.Errorf("MAL record: %+v", mal[0])
	}
}

func mustSet(s string) pep440.Set {
	set, err := pep440.ParseSet(s)
	if err != nil {
		panic(err)
	}
	return set
}

func TestBadInput(t *testing.T) {
	dir := t.TempDir()
	if _, err := Open(filepath.Join(dir, "none")); err != ErrNoIndex {
		t.Errorf("missing index: %v", err)
	}
	junk := filepath.Join(dir, "junk")
	os.WriteFile(junk, []byte(strings.Repeat("x", 64)), 0o644)
	if _, err := Open(junk); err == nil {
		t.Error("junk opened")
	}
	bad := filepath.Join(dir, "bad.zip")
	f, _ := os.Create(bad)
	zw := zip.NewWriter(f)
	w, _ := zw.Create("x.json")
	w.Write([]byte("{not json"))
	zw.Close()
	f.Close()
	_, err := Import(filepath.Join(dir, "out"), []string{bad}, time.Now())
	if err == nil || !strings.Contains(err.Error(), "x.json") {
		t.Errorf("bad record: %v", err)
	}
	if _, err := Import(filepath.Join(dir, "out"), []string{junk}, time.Now()); err == nil {
		t.Error("a non-zip imported")
	}
	if _, err := os.Stat(filepath.Join(dir, "out")); err == nil {
		t.Error("a failed import left an index")
	}
}

func FuzzParseRecord(f *testing.F) {
	b, _ := json.Marshal(record("GHSA-x", "pkg", "2024-01-01T00:00:00Z", ev("introduced", "0", "fixed", "1.0"), []string{"0.9"}, nil))
	f.Add(b)
	f.Fuzz(func(t *testing.T, b []byte) {
		advs, err := parseRecord(b)
		if err != nil {
			return
		}
		for _, a := range advs {
			a.adv.Affects(pep440.MustParse("1.0"))
			CheckSet([]Advisory{a.adv}, mustSet(">=0.5,<2"))
		}
	})
}

func FuzzOpen(f *testing.F) {
	f.Add([]byte("{}" + "\x00\x00\x00\x00\x00\x00\x00\x00" + footerMagic))
	f.Fuzz(func(t *testing.T, b []byte) {
		p := filepath.Join(t.TempDir(), "db")
		os.WriteFile(p, b, 0o644)
		if db, err := Open(p); err == nil {
			for name := range db.pkgs {
				db.Lookup(name)
			}
			db.Close()
		}
	})
}

// TestRealRecord imports a real PyPA record (testdata/osv/README.md).
func TestRealRecord(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("testdata", "osv", "PYSEC-2023-212.json"))
	if err != nil {
		t.Fatal(err)
	}
	var rec map[string]any
	if err := json.Unmarshal(raw, &rec); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	writeExport(t, filepath.Join(dir, "PyPI.zip"), rec)
	path := filepath.Join(dir, FileName)
	if _, err := Import(path, []string{filepath.Join(dir, "PyPI.zip")}, time.Now()); err != nil {
		t.Fatal(err)
	}
	db, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	advs, err := db.Lookup("URLLib3")
	if err != nil || len(advs) != 1 {
		t.Fatalf("lookup: %v %v", advs, err)
	}
	a := advs[0]
	// NVD rates CVE-2023-45803 4.2, medium.
	if a.CVSS != 4.2 || a.Severity != "medium" || len(a.Ranges) != 2 || !slices.Equal(a.Fixed(), []string{"2.0.7", "1.26.18"}) {
		t.Errorf("advisory: cvss %v %s ranges %+v", a.CVSS, a.Severity, a.Ranges)
	}
	for v, want := range map[string]bool{"1.26.17": true, "1.26.18": false, "2.0.6": true, "2.0.7": false, "2.2.0": false, "1.0": true} {
		if got := len(CheckVersion(advs, pep440.MustParse(v))) == 1; got != want {
			t.Errorf("urllib3 %s affected: %v, want %v", v, got, want)
		}
	}
	m := CheckSet(advs, mustSet(">=2,<2.1"))
	if len(m) != 1 || m[0].AllowedCount != 7 || m[0].Allowed[0] != "2.0.6" {
		t.Errorf("urllib3>=2,<2.1: %+v", m)
	}
	if m := CheckSet(advs, mustSet(">=2.0.7")); len(m) != 0 {
		t.Errorf("urllib3>=2.0.7: %+v", m)
	}
}
