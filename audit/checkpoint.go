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
	lines := bytes.Split([]byte(n.Text), []byte("\n"))
	// origin, size, hash, then the empty string after the final newline;
	// extension lines would come before it.
	if len(lines) < 4 || len(lines[len(lines)-1]) != 0 {
		return nil, fmt.Errorf("%w: body is not origin, size and root hash lines", ErrBadCheckpoint)
	}
	origin := string(lines[0])
	if origin != v.Name() {
		return nil, fmt.Errorf("%w: origin %q is not this log's (%q)", ErrBadCheckpoint, origin, v.Name())
	}
	size, err := strconv.ParseInt(string(lines[1]), 10, 64)
	if err != nil || size < 0 || string(lines[1]) != strconv.FormatInt(size, 10) {
		return nil, fmt.Errorf("%w: tree size %q", ErrBadCheckpoint, lines[1])
	}
	raw, err := base64.StdEncoding.DecodeString(string(lines[2]))
	if err != nil || len(raw) != tlog.HashSize {
		return nil, fmt.Errorf("%w: root hash %q", ErrBadCheckpoint, lines[2])
	}
	return &Checkpoint{Origin: origin, Tree: tlog.Tree{N: size, Hash: tlog.Hash(raw)}, Note: msg}, nil
}
