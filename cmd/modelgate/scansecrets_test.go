package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/go-git/go-git/v5"
	"github.com/modelgate/modelgate/internal/osvtest"
)

func TestScanSecretsCLI(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	code, out, errOut := cli(t, "keys", "create", "--name", "ci-bot", "--scopes", "inference:invoke", "--models", "*", "--data-dir", data)
	if code != 0 {
		t.Fatalf("keys create: %d %s%s", code, out, errOut)
	}
	key := regexp.MustCompile(`mg_[a-z2-7]{12}_[a-z2-7]{52}`).FindString(out)
	if key == "" {
		t.Fatalf("no key printed: %s", out)
	}
	id := key[3:15]
	tree := filepath.Join(dir, "tree")
	os.MkdirAll(tree, 0o755)
	os.WriteFile(filepath.Join(tree, "deploy.sh"), []byte("export MG_KEY="+key+"\n"), 0o644)
	run := func(want int, args ...string) string {
		t.Helper()
		code, out, errOut := cli(t, append(args, "--data-dir", data)...)
		if code != want {
			t.Fatalf("%v: exit %d, want %d\n%s%s", args, code, want, out, errOut)
		}
		return out
	}
	out = run(1, "scan", "secrets", tree)
	if !strings.Contains(out, "CRITICAL") || !strings.Contains(out, "LIVE: key "+id) {
		t.Errorf("live key:\n%s", out)
	}
	if js := run(1, "scan", "secrets", tree, "--format", "json"); !strings.Contains(js, "never used") || !strings.Contains(js, "modelgate keys revoke "+id) || strings.Contains(js, key[15:]) {
		t.Errorf("live key, json:\n%s", js)
	}
	if strings.Contains(out, key[15:]) {
		t.Fatal("the key's secret is printed")
	}
	run(0, "keys", "revoke", id)
	if out := run(1, "scan", "secrets", tree); !strings.Contains(out, "is revoked") || strings.Contains(out, "CRITICAL") {
		t.Errorf("revoked key:\n%s", out)
	}
	// A baseline accepts it; the table says so.
	base := filepath.Join(dir, "baseline.json")
	run(0, "scan", "secrets", tree, "--write-baseline", base)
	if out := run(0, "scan", "secrets", tree, "--baseline", base); !strings.Contains(out, "1 findings accepted by the baseline") {
		t.Errorf("baseline:\n%s", out)
	}
	run(2, "scan", "secrets", tree, "--since", "HEAD")
	run(2, "scan", "secrets", tree, "--git") // not a repository
	run(2, "scan", "secrets", filepath.Join(dir, "missing"))

	// The hook: installed once, never over someone else's.
	repo := filepath.Join(dir, "repo")
	os.MkdirAll(filepath.Join(repo, ".git", "hooks"), 0o755)
	run(0, "hook", "install", repo)
	hook, _ := os.ReadFile(filepath.Join(repo, ".git", "hooks", "pre-commit"))
	if !strings.Contains(string(hook), "scan secrets --staged .") {
		t.Errorf("hook:\n%s", hook)
	}
	run(0, "hook", "install", repo)
	os.WriteFile(filepath.Join(repo, ".git", "hooks", "pre-commit"), []byte("#!/bin/sh\necho mine\n"), 0o755)
	run(2, "hook", "install", repo)
	run(0, "hook", "install", repo, "--force")
	run(2, "hook", "install", tree)
}

// TestStagedHook stages a credential and a vulnerable pin in a repository
// (made with go-git: no git binary): scan secrets --staged refuses both.
func TestStagedHook(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	exp := filepath.Join(dir, "all.zip")
	osvtest.Write(t, exp, osvtest.Advisory("GHSA-h", "torch", "introduced", "0", "fixed", "2.6.0").
		With("database_specific", map[string]string{"severity": "CRITICAL"}))
	if code, out, errOut := cli(t, "vulndb", "import", exp, "--data-dir", data); code != 0 {
		t.Fatal(out, errOut)
	}
	repoDir := filepath.Join(dir, "repo")
	repo, err := git.PlainInit(repoDir, false)
	if err != nil {
		t.Fatal(err)
	}
	wt, _ := repo.Worktree()
	os.WriteFile(filepath.Join(repoDir, "requirements.txt"), []byte("torch==2.5.0 --hash=sha256:aa\n"), 0o644)
	wt.Add("requirements.txt")
	code, out, errOut := cli(t, "scan", "secrets", "--staged", repoDir, "--data-dir", data)
	if code != 1 || !strings.Contains(out, "staged dependency files") || !strings.Contains(out, "GHSA-h") {
		t.Fatalf("staged vulnerable pin: %d\n%s%s", code, out, errOut)
	}
	os.WriteFile(filepath.Join(repoDir, "requirements.txt"), []byte("torch==2.6.0 --hash=sha256:aa\n"), 0o644)
	wt.Add("requirements.txt")
	if code, out, errOut := cli(t, "scan", "secrets", "--staged", repoDir, "--data-dir", data); code != 0 {
		t.Fatalf("staged fixed pin: %d\n%s%s", code, out, errOut)
	}
	os.WriteFile(filepath.Join(repoDir, "ci.env"), []byte("GITHUB_TOKEN=ghp_R8vKq2mZt7XwLp4nHs9dYc3bFj6gTe1uAo5i\n"), 0o644)
	wt.Add("ci.env")
	if code, out, _ := cli(t, "scan", "secrets", "--staged", repoDir, "--data-dir", data); code != 1 || !strings.Contains(out, "ci.env") {
		t.Fatalf("staged credential: %d\n%s", code, out)
	}
}
