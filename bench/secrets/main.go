// Command secrets measures `modelgate scan secrets` against the gitleaks
// CLI on the same inputs in the same run:
//
//   - a source tree of about 500 MB (50,000 files of about 10 KB: code,
//     configuration, notes), one file in a thousand holding a credential;
//   - a git repository whose history holds about 150 MB of blobs (300
//     commits, each changing 50 of 5,000 files), with credentials added
//     and later deleted.
//
// Both tools run as child processes (modelgate built from this checkout),
// best of three. The gitleaks CLI must be on PATH
// or given with -gitleaks (go install github.com/zricethezav/gitleaks/v8@v8.30.1,
// for the benchmark only); its history scan needs the git binary, which
// modelgate's does not. The goal: modelgate at least as fast as gitleaks
// on both.
//
//	go run ./bench/secrets [-dir D] [-keep] [-gitleaks PATH]
package main

import (
	"flag"
	"fmt"
	"log"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing/object"
)

func main() {
	dir := flag.String("dir", "", "work directory (default: a temporary one)")
	keep := flag.Bool("keep", false, "keep the work directory")
	gitleaks := flag.String("gitleaks", "gitleaks", "the gitleaks CLI")
	files := flag.Int("files", 50_000, "files in the tree")
	flag.Parse()
	if _, err := exec.LookPath(*gitleaks); err != nil {
		log.Fatalf("no gitleaks CLI (%v): go install github.com/zricethezav/gitleaks/v8@v8.30.1", err)
	}
	root := *dir
	if root == "" {
		var err error
		if root, err = os.MkdirTemp("", "mg-secrets-"); err != nil {
			log.Fatal(err)
		}
	}
	os.MkdirAll(root, 0o755)
	if !*keep {
		defer os.RemoveAll(root)
	}
	mg := filepath.Join(root, "modelgate")
	if out, err := exec.Command("go", "build", "-o", mg, "./cmd/modelgate").CombinedOutput(); err != nil {
		log.Fatalf("building modelgate: %v\n%s", err, out)
	}
	tree, repo := filepath.Join(root, "tree"), filepath.Join(root, "repo")
	if _, err := os.Stat(tree); err != nil {
		size, err := generateTree(tree, *files)
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("tree: %d files, %.0f MB\n", *files, float64(size)/1e6)
	}
	if _, err := os.Stat(repo); err != nil {
		if err := generateRepo(repo); err != nil {
			log.Fatal(err)
		}
		fmt.Println("repository: 300 commits over 5,000 files")
	}
	data := filepath.Join(root, "data") // no key store: nothing to verify
	report := filepath.Join(root, "gitleaks-report.json")
	cases := []struct {
		name string
		mg   []string
		gl   []string
	}{
		{"source tree", []string{mg, "--data-dir", data, "scan", "secrets", tree, "--format", "json"},
			[]string{*gitleaks, "dir", tree, "--no-banner", "--exit-code", "0", "--report-path", report, "--log-level", "error"}},
		{"git history", []string{mg, "--data-dir", data, "scan", "secrets", "--git", repo, "--format", "json"},
			[]string{*gitleaks, "git", repo, "--no-banner", "--exit-code", "0", "--report-path", report, "--log-level", "error"}},
	}
	fmt.Printf("\n%-14s %12s %12s %10s\n", "input", "modelgate", "gitleaks", "ratio")
	for _, c := range cases {
		tm, tg := best(c.mg), best(c.gl)
		fmt.Printf("%-14s %12s %12s %9.2f×  (modelgate / gitleaks; goal ≤ 1)\n", c.name, tm.Round(time.Millisecond), tg.Round(time.Millisecond), float64(tm)/float64(tg))
	}
}

// best runs a command three times and returns its fastest run.
func best(argv []string) time.Duration {
	var b time.Duration
	for range 3 {
		cmd := exec.Command(argv[0], argv[1:]...)
		began := time.Now()
		if err := cmd.Run(); err != nil {
			if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() > 1 {
				log.Fatalf("%s: %v", strings.Join(argv, " "), err)
			}
		}
		if d := time.Since(began); b == 0 || d < b {
			b = d
		}
	}
	return b
}

func source(r *rand.Rand, n int) string {
	var sb strings.Builder
	sb.WriteString("import os\nimport json\n\n")
	for sb.Len() < n {
		fmt.Fprintf(&sb, "def handler_%d(event, context):\n    value = compute(event['id'], retries=%d)\n    return json.dumps({'ok': True, 'value': value})\n\n", r.IntN(1e6), r.IntN(5))
	}
	return sb.String()
}

func token(r *rand.Rand) string {
	const alnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	b := []byte("ghp_")
	for range 36 {
		b = append(b, alnum[r.IntN(len(alnum))])
	}
	return string(b)
}

func generateTree(tree string, n int) (int64, error) {
	r := rand.New(rand.NewPCG(3, 4))
	var total int64
	for i := range n {
		p := filepath.Join(tree, fmt.Sprintf("svc%02d/pkg%03d/mod%d.py", i%50, i%500, i))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return 0, err
		}
		body := source(r, 6000+r.IntN(8000))
		if i%1000 == 0 {
			body += "GITHUB_TOKEN = \"" + token(r) + "\"\n"
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			return 0, err
		}
		total += int64(len(body))
	}
	return total, nil
}

func generateRepo(dir string) error {
	r := rand.New(rand.NewPCG(5, 6))
	repo, err := git.PlainInit(dir, false)
	if err != nil {
		return err
	}
	wt, err := repo.Worktree()
	if err != nil {
		return err
	}
	write := func(i int, extra string) error {
		p := filepath.Join(dir, fmt.Sprintf("src/m%02d/f%d.py", i%40, i))
		os.MkdirAll(filepath.Dir(p), 0o755)
		return os.WriteFile(p, []byte(source(r, 6000+r.IntN(8000))+extra), 0o644)
	}
	for i := range 5000 {
		if err := write(i, ""); err != nil {
			return err
		}
	}
	sig := &object.Signature{Name: "dev", Email: "dev@example.com", When: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	for c := range 300 {
		if c > 0 {
			for range 50 {
				extra := ""
				if r.IntN(200) == 0 {
					extra = "TOKEN = \"" + token(r) + "\"\n" // removed again by a later change to the file
				}
				if err := write(r.IntN(5000), extra); err != nil {
					return err
				}
			}
		}
		if _, err := wt.Add("."); err != nil {
			return err
		}
		sig.When = sig.When.Add(time.Hour)
		if _, err := wt.Commit(fmt.Sprintf("change %d", c), &git.CommitOptions{Author: sig}); err != nil {
			return err
		}
	}
	return nil
}
