package audit

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// DirWitness is a witness that keeps the newest checkpoint of each log it
// trusts in a directory: another disk, a mount the log's host can append
// to but not rewrite, a path a backup or a SIEM collects. It checks what
// it is given as any witness must (the log's signature, the old size, the
// consistency proof) and, with a Cosigner, cosigns it; the witness server
// (WitnessHandler) serves one over HTTP.
type DirWitness struct {
	Dir string
	// Logs are the keys of the logs it witnesses.
	Logs note.Verifiers
	// Cosigner, when set, cosigns each checkpoint it accepts.
	Cosigner *Cosigner
	mu       sync.Mutex // one check-and-store at a time in this process
}

// Name returns the directory.
func (d *DirWitness) Name() string { return d.Dir }

// ErrWitnessUnknownLog is returned for a checkpoint of a log the witness
// does not witness.
var ErrWitnessUnknownLog = errors.New("the witness does not witness this log")

func (d *DirWitness) path(origin string) string {
	safe := strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '-' || r == '_' {
			return r
		}
		return '_'
	}, origin)
	sum := sha256.Sum256([]byte(origin))
	return filepath.Join(d.Dir, fmt.Sprintf("%s.%x.checkpoint", safe, sum[:6]))
}

// Latest returns the newest checkpoint the directory holds for origin, as
// stored (with the witness's cosignatures), or nil.
func (d *DirWitness) Latest(_ context.Context, origin string) ([]byte, error) {
	b, err := os.ReadFile(d.path(origin))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	return b, err
}

// AddCheckpoint accepts a checkpoint that extends the one it holds.
func (d *DirWitness) AddCheckpoint(_ context.Context, oldSize int64, proof tlog.TreeProof, checkpoint []byte) ([]byte, error) {
	n, err := note.Open(checkpoint, d.Logs)
	if err != nil {
		var unverified *note.UnverifiedNoteError
		var invalid *note.InvalidSignatureError
		if errors.As(err, &invalid) {
			return nil, fmt.Errorf("%w: the signature of %s does not verify", ErrWitnessSignature, invalid.Name)
		}
		if !errors.As(err, &unverified) {
			return nil, fmt.Errorf("%w: %v", ErrWitnessBadRequest, err)
		}
		for _, sig := range unverified.Note.UnverifiedSigs {
			if _, err := d.Logs.Verifier(sig.Name, sig.Hash); err == nil {
				return nil, fmt.Errorf("%w: the signature of %s does not verify", ErrWitnessSignature, sig.Name)
			}
		}
		return nil, ErrWitnessUnknownLog
	}
	cp, err := parseCheckpointBody(n.Text)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrWitnessBadRequest, err)
	}
	if cp.Origin != n.Sigs[0].Name {
		return nil, fmt.Errorf("%w: origin %q is not the signing key's name %q", ErrWitnessSignature, cp.Origin, n.Sigs[0].Name)
	}
	if oldSize > cp.Tree.N {
		return nil, fmt.Errorf("%w: old size %d is above the checkpoint's %d", ErrWitnessBadRequest, oldSize, cp.Tree.N)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	unlock, err := lockDir(d.Dir)
	if err != nil {
		return nil, err
	}
	defer unlock()
	var held tlog.Tree
	if prev, err := d.Latest(context.Background(), cp.Origin); err != nil {
		return nil, err
	} else if prev != nil {
		pn, err := note.Open(prev, d.Logs)
		if err != nil {
			return nil, fmt.Errorf("the witness's stored checkpoint for %s does not verify: %w", cp.Origin, err)
		}
		pcp, err := parseCheckpointBody(pn.Text)
		if err != nil {
			return nil, err
		}
		held = pcp.Tree
	}
	if oldSize != held.N {
		return nil, &SizeConflict{Witness: d.Name(), Size: held.N}
	}
	switch {
	case oldSize == cp.Tree.N:
		if held.N > 0 && held.Hash != cp.Tree.Hash {
			return nil, ErrWitnessRootConflict
		}
	case held.N == 0:
		if len(proof) != 0 {
			return nil, fmt.Errorf("%w: a proof from size 0 must be empty", ErrWitnessBadRequest)
		}
	default:
		if err := tlog.CheckTree(proof, cp.Tree.N, cp.Tree.Hash, held.N, held.Hash); err != nil {
			return nil, fmt.Errorf("%w: %v", ErrWitnessProof, err)
		}
	}
	var cos []byte
	if d.Cosigner != nil {
		signed, err := note.Sign(&note.Note{Text: n.Text}, d.Cosigner)
		if err != nil {
			return nil, err
		}
		cos = signed[len(n.Text)+1:] // the signature lines after the blank line
	}
	stored := append(bytes.TrimRight(checkpoint, "\n"), '\n')
	stored = append(stored, cos...)
	if err := writeFileAtomic(d.path(cp.Origin), stored); err != nil {
		return nil, err
	}
	return cos, nil
}

// parseCheckpointBody parses a checkpoint's body (the note text).
func parseCheckpointBody(text string) (*Checkpoint, error) {
	lines := strings.Split(text, "\n")
	if len(lines) < 4 || lines[len(lines)-1] != "" {
		return nil, errors.New("the checkpoint is not origin, size and root hash lines")
	}
	size, err := parseSize(lines[1])
	if err != nil {
		return nil, err
	}
	root, err := parseRoot(lines[2])
	if err != nil {
		return nil, err
	}
	return &Checkpoint{Origin: lines[0], Tree: tlog.Tree{N: size, Hash: root}}, nil
}

// writeFileAtomic replaces path with data so that a crash leaves the old
// file or the new one whole.
func writeFileAtomic(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".checkpoint-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return err
	}
	dir, err := os.Open(filepath.Dir(path))
	if err != nil {
		return err
	}
	defer dir.Close()
	return dir.Sync()
}
