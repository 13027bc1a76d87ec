package audit

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/go-json-experiment/json"
	"golang.org/x/mod/sumdb/tlog"
)

// A log's own checkpoints prove it was not altered, but not that it was
// not cut back: whoever can delete the newest events can delete the
// checkpoints that cover them too, and the key that signs checkpoints
// lives beside the log. Witnesses are the outside anchor. Each signed
// checkpoint is pushed to them with a consistency proof from the last one
// they accepted (the C2SP tlog-witness protocol); a witness keeps only the
// newest, refuses to go back, and refuses a tree that is not an extension
// of the one it holds. A log shorter than, or inconsistent with, what a
// witness holds has been truncated or rewritten: CheckWitness says so,
// `audit verify --witness` reports it, and a server refuses to start on
// it.

// Witness keeps the newest checkpoint of a log outside it.
type Witness interface {
	// Name says which witness it is, in messages.
	Name() string
	// AddCheckpoint submits a signed checkpoint with a consistency proof
	// from oldSize, the size of the last checkpoint the witness accepted
	// (0 for none), and returns the witness's cosignature lines, if it
	// signs. A witness holding another size answers *SizeConflict.
	AddCheckpoint(ctx context.Context, oldSize int64, proof tlog.TreeProof, checkpoint []byte) ([]byte, error)
}

// WitnessReader is a witness that can also return the newest checkpoint
// it holds for the log with the given origin (nil when it holds none).
type WitnessReader interface {
	Witness
	Latest(ctx context.Context, origin string) ([]byte, error)
}

// SizeConflict is a witness's answer when the old size of a submission is
// not the size it holds.
type SizeConflict struct {
	Witness string
	Size    int64 // the size of the newest checkpoint the witness holds
}

func (e *SizeConflict) Error() string {
	return fmt.Sprintf("witness %s holds a checkpoint of size %d", e.Witness, e.Size)
}

// Errors a witness answers with.
var (
	// ErrWitnessRootConflict: a checkpoint of the size the witness holds,
	// with another root: the log was rewritten.
	ErrWitnessRootConflict = errors.New("the witness holds another tree of this size")
	// ErrWitnessProof: the consistency proof does not verify: the log is
	// not an extension of what the witness holds.
	ErrWitnessProof = errors.New("the witness rejected the consistency proof")
	// ErrWitnessSignature: the witness does not trust the checkpoint's
	// signature (or does not know the log).
	ErrWitnessSignature = errors.New("the witness does not accept the checkpoint's signature")
	// ErrWitnessBadRequest: the request was malformed (an old size above
	// the checkpoint's, too many proof lines).
	ErrWitnessBadRequest = errors.New("the witness refused the request as malformed")
)

// maxProofLines bounds a consistency proof, as the protocol does.
const maxProofLines = 63

// EncodeAddCheckpoint renders an add-checkpoint request body: "old N",
// one base64 hash per line, an empty line, the checkpoint.
func EncodeAddCheckpoint(oldSize int64, proof tlog.TreeProof, checkpoint []byte) []byte {
	b := fmt.Appendf(nil, "old %d\n", oldSize)
	for _, h := range proof {
		b = append(b, base64.StdEncoding.EncodeToString(h[:])...)
		b = append(b, '\n')
	}
	b = append(b, '\n')
	return append(b, checkpoint...)
}

// DecodeAddCheckpoint parses an add-checkpoint request body.
func DecodeAddCheckpoint(body []byte) (oldSize int64, proof tlog.TreeProof, checkpoint []byte, err error) {
	head, cp, ok := bytes.Cut(body, []byte("\n\n"))
	if !ok {
		return 0, nil, nil, fmt.Errorf("%w: no empty line before the checkpoint", ErrWitnessBadRequest)
	}
	lines := strings.Split(string(head), "\n")
	sizeText, ok := strings.CutPrefix(lines[0], "old ")
	if !ok {
		return 0, nil, nil, fmt.Errorf("%w: the first line is not \"old <size>\"", ErrWitnessBadRequest)
	}
	oldSize, err = strconv.ParseInt(sizeText, 10, 64)
	if err != nil || oldSize < 0 || strconv.FormatInt(oldSize, 10) != sizeText {
		return 0, nil, nil, fmt.Errorf("%w: old size %q", ErrWitnessBadRequest, sizeText)
	}
	if len(lines)-1 > maxProofLines {
		return 0, nil, nil, fmt.Errorf("%w: %d proof lines, at most %d", ErrWitnessBadRequest, len(lines)-1, maxProofLines)
	}
	for i, l := range lines[1:] {
		raw, err := base64.StdEncoding.Strict().DecodeString(l)
		if err != nil || len(raw) != tlog.HashSize {
			return 0, nil, nil, fmt.Errorf("%w: proof line %d is not a base64 SHA-256", ErrWitnessBadRequest, i+1)
		}
		proof = append(proof, tlog.Hash(raw))
	}
	return oldSize, proof, cp, nil
}

// WitnessState is what CheckWitness found.
type WitnessState struct {
	Witness string
	Size    int64 // the witness's newest checkpoint size (0: none)
	// Cosignature lines the witness returned for the log's checkpoint,
	// when checking submitted one.
	Cosignatures []byte
}

// CheckWitness compares a log with what a witness holds. A witness that
// can be read (WitnessReader) is read; any other is asked through
// add-checkpoint, which also brings it up to date. The log's tree must
// extend the witness's: an error wrapping ErrTruncated means the log is
// shorter than what the witness saw, one wrapping ErrWitnessRootConflict
// or ErrWitnessProof that it was rewritten.
func CheckWitness(ctx context.Context, tr *TreeReader, w Witness) (*WitnessState, error) {
	st := &WitnessState{Witness: w.Name()}
	cp, err := tr.LatestCheckpoint(ctx)
	if err != nil {
		return nil, err
	}
	if r, ok := w.(WitnessReader); ok {
		note, err := r.Latest(ctx, cp.Origin)
		if err != nil && !errors.Is(err, ErrNotSupported) {
			return nil, fmt.Errorf("witness %s: %w", w.Name(), err)
		}
		if err == nil {
			if note == nil {
				return st, nil
			}
			wcp, err := OpenCheckpoint(note, tr.verifier)
			if err != nil {
				return nil, fmt.Errorf("witness %s holds a checkpoint this log's key does not verify: %w", w.Name(), err)
			}
			st.Size = wcp.Tree.N
			if err := tr.extends(ctx, w.Name(), wcp.Tree); err != nil {
				return st, err
			}
			if wcp.Tree.N > cp.Tree.N {
				return st, fmt.Errorf("%w: witness %s holds a checkpoint of %d events, but the log's newest checkpoint covers %d: newer checkpoints were deleted", ErrTruncated, w.Name(), wcp.Tree.N, cp.Tree.N)
			}
			return st, nil
		}
	}
	// Ask by submitting: 0 first; a conflict tells the witness's size.
	cos, err := w.AddCheckpoint(ctx, 0, nil, cp.Note)
	var sc *SizeConflict
	if errors.As(err, &sc) {
		st.Size = sc.Size
		if sc.Size > tr.size {
			return st, fmt.Errorf("%w: witness %s holds a checkpoint of %d events, but the log has %d", ErrTruncated, w.Name(), sc.Size, tr.size)
		}
		if sc.Size > cp.Tree.N {
			// The witness saw more than the log's newest checkpoint
			// covers: the log's newer checkpoints are gone.
			return st, fmt.Errorf("%w: witness %s holds a checkpoint of %d events, but the log's newest checkpoint covers %d: newer checkpoints were deleted", ErrTruncated, w.Name(), sc.Size, cp.Tree.N)
		}
		proof, err := tr.ProveTree(ctx, cp.Tree.N, sc.Size)
		if err != nil {
			return st, err
		}
		cos, err = w.AddCheckpoint(ctx, sc.Size, proof, cp.Note)
	}
	if err != nil {
		return st, fmt.Errorf("witness %s: %w", w.Name(), err)
	}
	st.Size, st.Cosignatures = cp.Tree.N, cos
	return st, nil
}

// ErrNotSupported is returned by a WitnessReader that cannot be read.
var ErrNotSupported = errors.New("not supported by this witness")

// ErrTruncated wraps every finding that a log is shorter than a checkpoint
// of it that someone holds.
var ErrTruncated = errors.New("the audit log was truncated")

// CheckpointFile is a read-only witness: a file holding a checkpoint the
// log signed, as a directory witness stores it, or a JSON-lines export
// from a forwarder (its newest "checkpoint" record counts), kept where
// the log's host cannot reach.
type CheckpointFile struct{ Path string }

// Name returns the path.
func (f CheckpointFile) Name() string { return f.Path }

// AddCheckpoint is not possible on a file.
func (f CheckpointFile) AddCheckpoint(context.Context, int64, tlog.TreeProof, []byte) ([]byte, error) {
	return nil, fmt.Errorf("%s is a file, not a witness that takes checkpoints: %w", f.Path, ErrNotSupported)
}

// Latest returns the file's newest checkpoint for origin.
func (f CheckpointFile) Latest(_ context.Context, origin string) ([]byte, error) {
	b, err := os.ReadFile(f.Path)
	if err != nil {
		return nil, err
	}
	if !bytes.HasPrefix(bytes.TrimSpace(b), []byte("{")) {
		return b, nil // a signed note
	}
	var newest []byte
	var newestSize int64 = -1
	for line := range bytes.Lines(b) {
		var rec struct {
			Type       string `json:"type"`
			Origin     string `json:"origin"`
			Size       int64  `json:"size"`
			Checkpoint string `json:"checkpoint"`
		}
		if json.Unmarshal(bytes.TrimSpace(line), &rec) != nil || rec.Type != CheckpointRecordType || rec.Origin != origin {
			continue
		}
		if rec.Size > newestSize {
			newest, newestSize = []byte(rec.Checkpoint), rec.Size
		}
	}
	return newest, nil
}
