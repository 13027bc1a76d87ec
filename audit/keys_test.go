package audit

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestInstallKeys: a pair from a secret mount (group-readable, as the
// kubelet leaves it) lands in the data directory with the modes the
// loader demands, and the loader accepts it.
func TestInstallKeys(t *testing.T) {
	src, dir := t.TempDir(), filepath.Join(t.TempDir(), "data")
	s0, _, err := LoadOrCreateKeys(src)
	if err != nil {
		t.Fatal(err)
	}
	os.Chmod(filepath.Join(src, SignerKeyFile), 0o440)
	if err := InstallKeys(src, dir); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(filepath.Join(dir, SignerKeyFile))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("installed signing key: %v %v", fi.Mode(), err)
	}
	s, _, err := LoadOrCreateKeys(dir)
	if err != nil {
		t.Fatal(err)
	}
	if s.Name() != s0.Name() {
		t.Errorf("installed %s, want %s", s.Name(), s0.Name())
	}
	// Again: the same pair is fine.
	if err := InstallKeys(src, dir); err != nil {
		t.Errorf("reinstalling the same pair: %v", err)
	}

	// Another pair over it is refused, and a mismatched pair is refused.
	other := t.TempDir()
	LoadOrCreateKeys(other)
	if err := InstallKeys(other, dir); err == nil || !strings.Contains(err.Error(), "another audit key pair") {
		t.Errorf("installing over another pair: %v", err)
	}
	mixed := t.TempDir()
	b, _ := os.ReadFile(filepath.Join(src, SignerKeyFile))
	os.WriteFile(filepath.Join(mixed, SignerKeyFile), b, 0o600)
	b, _ = os.ReadFile(filepath.Join(other, VerifierKeyFile))
	os.WriteFile(filepath.Join(mixed, VerifierKeyFile), b, 0o644)
	if err := InstallKeys(mixed, t.TempDir()); err == nil || !strings.Contains(err.Error(), "do not belong together") {
		t.Errorf("a mismatched pair: %v", err)
	}
	if err := InstallKeys(t.TempDir(), t.TempDir()); err == nil {
		t.Error("an empty source installed")
	}
}
