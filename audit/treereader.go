package audit

import (
	"context"
	"fmt"

	"github.com/modelgate/modelgate/store"
	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// TreeReader reads a stored log's Merkle tree: its size, its newest
// checkpoint, its root at any size and the proofs between sizes.
type TreeReader struct {
	st       store.AuditStore
	verifier note.Verifier
	size     int64
}

// NewTreeReader reads the log's size now; the reader answers for the log
// as it stood then.
func NewTreeReader(ctx context.Context, st store.AuditStore, v note.Verifier) (*TreeReader, error) {
	size, err := st.AuditSize(ctx)
	if err != nil {
		return nil, err
	}
	return &TreeReader{st: st, verifier: v, size: size}, nil
}

// Size returns the number of events.
func (t *TreeReader) Size() int64 { return t.size }

// LatestCheckpoint returns the newest stored checkpoint, verified.
func (t *TreeReader) LatestCheckpoint(ctx context.Context) (*Checkpoint, error) {
	c, err := t.st.LatestAuditCheckpoint(ctx)
	if err != nil {
		return nil, fmt.Errorf("the log has no checkpoint: %w", err)
	}
	return OpenCheckpoint(c.Note, t.verifier)
}

// Root returns the tree's root hash at size n.
func (t *TreeReader) Root(ctx context.Context, n int64) (tlog.Hash, error) {
	if n > t.size {
		return tlog.Hash{}, fmt.Errorf("the log has %d events, fewer than %d", t.size, n)
	}
	return tlog.TreeHash(n, storeHashes{ctx, t.st})
}

// ProveTree returns a consistency proof from size m to size n.
func (t *TreeReader) ProveTree(ctx context.Context, n, m int64) (tlog.TreeProof, error) {
	if m == 0 || m == n {
		return nil, nil
	}
	return tlog.ProveTree(n, m, storeHashes{ctx, t.st})
}

// extends checks that the log's tree extends tree w, which witness holds.
func (t *TreeReader) extends(ctx context.Context, witness string, w tlog.Tree) error {
	if w.N > t.size {
		return fmt.Errorf("%w: witness %s holds a checkpoint of %d events, but the log has %d", ErrTruncated, witness, w.N, t.size)
	}
	if w.N == 0 {
		return nil
	}
	root, err := t.Root(ctx, w.N)
	if err != nil {
		return err
	}
	if root != w.Hash {
		return fmt.Errorf("%w: witness %s holds another tree of %d events than the log's: the log was rewritten", ErrWitnessRootConflict, witness, w.N)
	}
	return nil
}
