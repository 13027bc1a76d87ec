package audit

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/mod/sumdb/note"
)

// Key files in the data directory.
const (
	SignerKeyFile   = "audit-signing.key" // mode 0600: signs checkpoints
	VerifierKeyFile = "audit-verifier.pub"
)

// LoadOrCreateKeys returns the log's signer and verifier, creating an
// Ed25519 key pair on first use. The key's name is the log's origin:
// "modelgate.audit/<host>-<random>", unique per log.
func LoadOrCreateKeys(dir string) (note.Signer, note.Verifier, error) {
	skeyPath := filepath.Join(dir, SignerKeyFile)
	skey, err := os.ReadFile(skeyPath)
	if errors.Is(err, fs.ErrNotExist) {
		if err := createKeys(dir); err != nil {
			return nil, nil, err
		}
		skey, err = os.ReadFile(skeyPath)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("audit signing key: %w", err)
	}
	if fi, err := os.Stat(skeyPath); err == nil && fi.Mode().Perm()&0o077 != 0 {
		return nil, nil, fmt.Errorf("audit signing key %s is readable by others (mode %v): run chmod 600 on it", skeyPath, fi.Mode().Perm())
	}
	signer, err := note.NewSigner(strings.TrimSpace(string(skey)))
	if err != nil {
		return nil, nil, fmt.Errorf("audit signing key %s: %w", skeyPath, err)
	}
	vkey, err := os.ReadFile(filepath.Join(dir, VerifierKeyFile))
	if err != nil {
		return nil, nil, fmt.Errorf("audit verifier key: %w", err)
	}
	verifier, err := note.NewVerifier(strings.TrimSpace(string(vkey)))
	if err != nil {
		return nil, nil, fmt.Errorf("audit verifier key: %w", err)
	}
	if verifier.Name() != signer.Name() || verifier.KeyHash() != signer.KeyHash() {
		return nil, nil, fmt.Errorf("audit keys in %s do not belong together", dir)
	}
	return signer, verifier, nil
}

func createKeys(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	host, _ := os.Hostname()
	host = strings.Map(func(r rune) rune {
		if r == ' ' || r == '+' || r < 0x21 || r > 0x7e {
			return '-'
		}
		return r
	}, host)
	var b [4]byte
	rand.Read(b[:])
	name := "modelgate.audit/" + host + "-" + hex.EncodeToString(b[:])
	skey, vkey, err := note.GenerateKey(rand.Reader, name)
	if err != nil {
		return err
	}
	// O_EXCL: if another process created the pair meanwhile, keep theirs.
	f, err := os.OpenFile(filepath.Join(dir, SignerKeyFile), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, VerifierKeyFile), []byte(vkey+"\n"), 0o644); err != nil {
		f.Close()
		return err
	}
	if _, err := f.WriteString(skey + "\n"); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// LoadVerifier reads a verifier key from a file or, if arg is not a file,
// takes arg itself as the key.
func LoadVerifier(arg string) (note.Verifier, error) {
	key := arg
	if b, err := os.ReadFile(arg); err == nil {
		key = strings.TrimSpace(string(b))
	}
	v, err := note.NewVerifier(key)
	if err != nil {
		return nil, fmt.Errorf("verifier key %q: %w", arg, err)
	}
	return v, nil
}

// InstallKeys copies the audit key pair from dir from (a mounted secret,
// whose file modes the mount decides) into the data directory dir with
// the modes LoadOrCreateKeys demands, so that every replica signs with
// the same pair. The pair must belong together; a pair already in dir
// must be the same one, or nothing is written.
func InstallKeys(from, dir string) error {
	skey, err := os.ReadFile(filepath.Join(from, SignerKeyFile))
	if err != nil {
		return fmt.Errorf("audit signing key: %w", err)
	}
	vkey, err := os.ReadFile(filepath.Join(from, VerifierKeyFile))
	if err != nil {
		return fmt.Errorf("audit verifier key: %w", err)
	}
	signer, err := note.NewSigner(strings.TrimSpace(string(skey)))
	if err != nil {
		return fmt.Errorf("audit signing key in %s: %w", from, err)
	}
	verifier, err := note.NewVerifier(strings.TrimSpace(string(vkey)))
	if err != nil {
		return fmt.Errorf("audit verifier key in %s: %w", from, err)
	}
	if verifier.Name() != signer.Name() || verifier.KeyHash() != signer.KeyHash() {
		return fmt.Errorf("audit keys in %s do not belong together", from)
	}
	if old, err := os.ReadFile(filepath.Join(dir, SignerKeyFile)); err == nil {
		if strings.TrimSpace(string(old)) != strings.TrimSpace(string(skey)) {
			return fmt.Errorf("%s already holds another audit key pair: remove it first if replacing it is intended", dir)
		}
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	if err := writeFileMode(filepath.Join(dir, VerifierKeyFile), vkey, 0o644); err != nil {
		return err
	}
	return writeFileMode(filepath.Join(dir, SignerKeyFile), skey, 0o600)
}

// writeFileMode writes a file through a temporary one and sets its mode
// whatever the umask.
func writeFileMode(path string, b []byte, mode fs.FileMode) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, mode); err != nil {
		return err
	}
	if err := os.Chmod(tmp, mode); err != nil {
		os.Remove(tmp)
		return err
	}
	return os.Rename(tmp, path)
}
