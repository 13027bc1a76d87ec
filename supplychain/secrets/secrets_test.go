package secrets

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// Credentials shaped like real ones, varied enough for the rules'
// entropy checks.
const (
	githubPAT = "ghp_R8vKq2mZt7XwLp4nHs9dYc3bFj6gTe1uAo5i"
	mgKey     = "mg_abcdefghijkm_q2w3e4r5t6y7u2i3o4p5a6s7d2f3g4h5j6k7l2z3x4c5v6b7n2m3"
)

func write(t *testing.T, dir, name, body string) string {
	t.Helper()
	p := filepath.Join(dir, filepath.FromSlash(name))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func rules(ls []Leak) string {
	var out []string
	for _, l := range ls {
		out = append(out, filepath.Base(l.Path)+":"+l.Rule)
	}
	return strings.Join(out, " ")
}

func TestScanFiles(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "app/settings.py", "import os\n\nTOKEN = \""+githubPAT+"\"\n")
	write(t, dir, "app/allowed.py", "TOKEN = \""+githubPAT+"\"  # modelgate:allow (a test fixture)\n")
	write(t, dir, "ops/client.env", "MODELGATE_KEY="+mgKey+"\n")
	// A credential inside a binary file: a pickle's string, after a NUL.
	write(t, dir, "models/model.pkl", "\x80\x04\x95\x00\x00\x8c\x28"+githubPAT+"\x94\x00.")
	write(t, dir, "node_modules/pkg/index.js", "const t = '"+githubPAT+"'\n")
	ls, err := ScanFiles(context.Background(), []string{dir})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := rules(ls), "settings.py:github-pat model.pkl:github-pat client.env:modelgate-api-key"; got != want {
		t.Fatalf("leaks %q, want %q", got, want)
	}
	if ls[0].Line != 3 || !ls[1].InBinary {
		t.Errorf("places: %+v", ls)
	}
	out, _ := json.Marshal(ls)
	if strings.Contains(string(out), githubPAT) || strings.Contains(string(out), mgKey) {
		t.Fatal("a value is in the serialised leaks")
	}
	rep := Report(ls, nil)
	out, _ = json.Marshal(rep)
	if strings.Contains(string(out), githubPAT[4:20]) || rep.Summary.Findings != 3 {
		t.Fatalf("report: %s", out)
	}
}

func TestBaselineSurvivesMovedLines(t *testing.T) {
	dir := t.TempDir()
	p := write(t, dir, "a.py", "x = 1\nTOKEN = \""+githubPAT+"\"\n")
	ls, err := ScanFiles(context.Background(), []string{dir})
	if err != nil || len(ls) != 1 {
		t.Fatalf("%v %v", ls, err)
	}
	bpath := filepath.Join(t.TempDir(), "baseline.json")
	if err := NewBaseline(ls).Write(bpath); err != nil {
		t.Fatal(err)
	}
	raw, _ := os.ReadFile(bpath)
	if strings.Contains(string(raw), githubPAT) {
		t.Fatal("the baseline holds the value")
	}
	// Ten lines inserted above: the leak moved, the baseline still holds.
	os.WriteFile(p, []byte(strings.Repeat("# comment\n", 10)+"x = 1\nTOKEN = \""+githubPAT+"\"\n"), 0o644)
	ls, _ = ScanFiles(context.Background(), []string{dir})
	b, err := LoadBaseline(bpath)
	if err != nil {
		t.Fatal(err)
	}
	if len(ls) != 1 || ls[0].Line != 12 || !b.Accepts(&ls[0]) {
		t.Errorf("moved leak not accepted: %+v", ls)
	}
	// A different value in the same place is new.
	os.WriteFile(p, []byte("TOKEN = \"ghp_Z9yXw8Vu7Ts6Rq5Po4Nm3Lk2Ji1Hg0FeDcBa\"\n"), 0o644)
	ls, _ = ScanFiles(context.Background(), []string{dir})
	if len(ls) != 1 || b.Accepts(&ls[0]) {
		t.Errorf("a new value is accepted: %+v", ls)
	}
	for _, bad := range []string{`{`, `{"version": 2, "entries": []}`, `{"version": 1, "entries": [{"rule": "x"}]}`} {
		os.WriteFile(bpath, []byte(bad), 0o644)
		if _, err := LoadBaseline(bpath); err == nil {
			t.Errorf("baseline %s loaded", bad)
		}
	}
}

func TestIgnoreFile(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "a.py", "TOKEN = \""+githubPAT+"\"\n")
	write(t, dir, ".gitleaksignore", "# reviewed\na.py:github-pat:1\n")
	ig, err := LoadIgnore(filepath.Join(dir, ".gitleaksignore"))
	if err != nil {
		t.Fatal(err)
	}
	ls, _ := ScanFiles(context.Background(), []string{filepath.Join(dir, "a.py")})
	if len(ls) != 1 || !ig.Ignores(&ls[0], "a.py") || ig.Ignores(&ls[0], "b.py") {
		t.Errorf("ignore: %+v", ls)
	}
}

// TestHistory commits a credential and then deletes it: the files on
// disk are clean, history is not.
func TestHistory(t *testing.T) {
	dir := t.TempDir()
	repo, err := git.PlainInit(dir, false)
	if err != nil {
		t.Fatal(err)
	}
	wt, _ := repo.Worktree()
	sig := &object.Signature{Name: "dev", Email: "dev@example.com", When: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	commit := func(msg string) string {
		t.Helper()
		if _, err := wt.Add("."); err != nil {
			t.Fatal(err)
		}
		h, err := wt.Commit(msg, &git.CommitOptions{Author: sig, AllowEmptyCommits: true})
		if err != nil {
			t.Fatal(err)
		}
		return h.String()
	}
	write(t, dir, "readme.md", "hello\n")
	first := commit("first")
	write(t, dir, "config/prod.env", "GITHUB_TOKEN="+githubPAT+"\n")
	added := commit("add config")
	write(t, dir, "copy.env", "GITHUB_TOKEN="+githubPAT+"\n") // the same blob again
	commit("copy")
	os.Remove(filepath.Join(dir, "config", "prod.env"))
	os.Remove(filepath.Join(dir, "copy.env"))
	if _, err := wt.Remove("config/prod.env"); err != nil {
		t.Fatal(err)
	}
	wt.Remove("copy.env")
	commit("remove the secret")

	if ls, _ := ScanFiles(context.Background(), []string{dir}); len(ls) != 0 {
		t.Fatalf("files on disk: %+v", ls)
	}
	ls, err := ScanHistory(context.Background(), dir, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(ls) != 1 || ls[0].Path != "config/prod.env" && ls[0].Path != "copy.env" || ls[0].Author != "dev@example.com" {
		t.Fatalf("history: %+v", ls)
	}
	if ls[0].Commit == "" || ls[0].Commit == first {
		t.Errorf("commit %s (added in %s)", ls[0].Commit, added)
	}
	// Since the commit that added it, nothing older is read; since the
	// one before, the secret is found.
	if ls, _ := ScanHistory(context.Background(), dir, added); len(ls) != 1 {
		t.Errorf("since the adding commit the copy still holds it: %+v", ls)
	}
	if _, err := ScanHistory(context.Background(), dir, "no-such-rev"); err == nil {
		t.Error("an unknown --since revision is accepted")
	}
	if _, err := ScanHistory(context.Background(), t.TempDir(), ""); err == nil {
		t.Error("a directory without a repository is accepted")
	}
}

func TestStaged(t *testing.T) {
	dir := t.TempDir()
	repo, _ := git.PlainInit(dir, false)
	wt, _ := repo.Worktree()
	write(t, dir, "old.env", "GITHUB_TOKEN="+githubPAT+"\n") // committed long ago and baselined elsewhere
	wt.Add(".")
	wt.Commit("c", &git.CommitOptions{Author: &object.Signature{Name: "d", Email: "d@x", When: time.Now()}})
	write(t, dir, "new.py", "KEY = \""+mgKey+"\"\n")
	wt.Add("new.py")
	// What is staged counts, not the working tree: change it after.
	write(t, dir, "new.py", "KEY = None\n")
	ls, changed, err := ScanStaged(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	if rules(ls) != "new.py:modelgate-api-key" || strings.Join(changed, ",") != "new.py" {
		t.Errorf("staged: %q %v", rules(ls), changed)
	}
}

func FuzzScanContent(f *testing.F) {
	f.Add([]byte("TOKEN = \"" + githubPAT + "\"\n"))
	f.Add([]byte("\x00\x01" + mgKey + "\x00"))
	d, err := detector()
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, l := range scanContent(d, "f", b) {
			if len(l.SecretSHA256) != 64 {
				t.Fatalf("leak without a digest: %+v", l)
			}
		}
	})
}
