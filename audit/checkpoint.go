package audit

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// A checkpoint is the C2SP tlog-checkpoint signed note:
//
//	<origin>
//	<tree size>
//	<root hash, base64>
//
//	— <key name> <signature>
//
// The origin names the log and equals the signing key's name, so a
// checkpoint from another log (another key) never verifies as this one's.

// Checkpoint is a verified checkpoint.
type Checkpoint struct {
	Origin string
	Tree   tlog.Tree
	Note   []byte // the signed note as stored
}

func checkpointBody(origin string, t tlog.Tree) []byte {
	return fmt.Appendf(nil, "%s\n%d\n%s\n", origin, t.N, base64.StdEncoding.EncodeToString(t.Hash[:]))
}

// signCheckpoint signs a checkpoint of tree t.
func signCheckpoint(signer note.Signer, t tlog.Tree) ([]byte, error) {
	return note.Sign(&note.Note{Text: string(checkpointBody(signer.Name(), t))}, signer)
}

// ErrBadCheckpoint is wrapped by every checkpoint that fails to verify.
var ErrBadCheckpoint = errors.New("bad checkpoint")

// OpenCheckpoint verifies a signed checkpoint with the log's verifier and
// parses it.
func OpenCheckpoint(msg []byte, v note.Verifier) (*Checkpoint, error) {
	n, err := note.Open(msg, note.VerifierList(v))
	if err != nil {
		return nil, fmt.Errorf("%w: signature: %v", ErrBadCheckpoint, err)
	}
	cp, err := parseCheckpointBody(n.Text)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadCheckpoint, err)
	}
	if cp.Origin != v.Name() {
		return nil, fmt.Errorf("%w: origin %q is not this log's (%q)", ErrBadCheckpoint, cp.Origin, v.Name())
	}
	cp.Note = msg
	return cp, nil
}

func parseSize(s string) (int64, error) {
	size, err := strconv.ParseInt(s, 10, 64)
	if err != nil || size < 0 || s != strconv.FormatInt(size, 10) {
		return 0, fmt.Errorf("tree size %q", s)
	}
	return size, nil
}

func parseRoot(s string) (tlog.Hash, error) {
	raw, err := base64.StdEncoding.DecodeString(s)
	if err != nil || len(raw) != tlog.HashSize {
		return tlog.Hash{}, fmt.Errorf("root hash %q", s)
	}
	return tlog.Hash(raw), nil
}

// ParseCheckpointNote parses a signed checkpoint without verifying its
// signature: for relaying it (forwarders), never for trusting it.
func ParseCheckpointNote(msg []byte) (*Checkpoint, error) {
	text, _, ok := bytes.Cut(msg, []byte("\n\n"))
	if !ok {
		return nil, fmt.Errorf("%w: not a signed note", ErrBadCheckpoint)
	}
	cp, err := parseCheckpointBody(string(text) + "\n")
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadCheckpoint, err)
	}
	cp.Note = msg
	return cp, nil
}
