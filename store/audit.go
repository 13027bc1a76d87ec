package store

import (
	"context"
	"time"
)

// AuditLeaf is one event of the audit log as stored. Data is the canonical
// JSON the Merkle tree commits to; the other fields are copies kept beside
// it for queries, and `audit verify` checks that they agree with Data.
type AuditLeaf struct {
	Index     int64
	Data      []byte
	TimeNanos int64
	RequestID string
	ActorKind string
	ActorID   string
	Action    string
	Model     string
	Outcome   string

	// Input and Output are what is kept of the payloads the event commits
	// to, outside the leaf: nil when never captured or erased. Erasing
	// deletes the salt too, so the digest in the leaf can no longer be
	// linked to any content.
	Input, Output *AuditBlob
}

// AuditBlob is a payload's salt and, unless only its digest is kept, its
// bytes.
type AuditBlob struct {
	Salt []byte
	Data []byte // nil when only the digest is kept
}

// AuditCheckpoint is a signed checkpoint of the log at Size events.
type AuditCheckpoint struct {
	Size      int64
	Note      []byte // C2SP tlog-checkpoint signed note
	CreatedAt time.Time
}

// AuditFilter selects events for queries. Zero fields match everything.
type AuditFilter struct {
	Since, Until time.Time // [Since, Until)
	FromIndex    int64     // events with Index >= FromIndex
	BeforeIndex  int64     // events with Index < BeforeIndex (when > 0)
	ActorID      string
	Action       string // exact, or a prefix ending in "." ("inference.")
	Model        string
	Outcome      string
	RequestID    string
	Limit        int  // 0: no limit
	Descending   bool // newest first
	WithPayloads bool // fill AuditLeaf.Input and Output
}

// AuditStore keeps the audit log: events, tree hashes, checkpoints,
// payloads and forwarder cursors.
type AuditStore interface {
	// AppendAudit runs fn in a write transaction that excludes every other
	// writer, in this process or another; what fn writes is committed
	// durably together or not at all.
	AppendAudit(ctx context.Context, fn func(tx AuditTx) error) error

	// AuditSize returns the number of events.
	AuditSize(ctx context.Context) (int64, error)
	// AuditHashes returns stored tree hashes by their stored-hash indexes
	// (golang.org/x/mod/sumdb/tlog numbering).
	AuditHashes(ctx context.Context, indexes []int64) ([][]byte, error)
	// ScanAuditHashes calls fn for every stored hash with an index below
	// limit, in index order.
	ScanAuditHashes(ctx context.Context, limit int64, fn func(index int64, hash []byte) error) error
	// AuditLeaf returns one event, with its payloads, or ErrNotFound.
	AuditLeaf(ctx context.Context, index int64) (*AuditLeaf, error)
	// ScanAudit calls fn for the events the filter selects, in index order
	// (or reverse with Descending). The leaf is valid only during the call.
	ScanAudit(ctx context.Context, f AuditFilter, fn func(*AuditLeaf) error) error
	// AuditCheckpoints returns every checkpoint, smallest first.
	AuditCheckpoints(ctx context.Context) ([]AuditCheckpoint, error)
	// LatestAuditCheckpoint returns the largest checkpoint or ErrNotFound.
	LatestAuditCheckpoint(ctx context.Context) (*AuditCheckpoint, error)

	// AuditCursor returns the next index a forwarder should send (0 if it
	// never ran); SetAuditCursor records progress.
	AuditCursor(ctx context.Context, name string) (int64, error)
	SetAuditCursor(ctx context.Context, name string, next int64) error

	Close() error
}

// AuditTx is the write side of AuditStore, valid during AppendAudit.
type AuditTx interface {
	Size() (int64, error)
	Hashes(indexes []int64) ([][]byte, error)
	InsertLeaves(leaves []*AuditLeaf) error
	InsertHashes(indexes []int64, hashes [][]byte) error
	InsertCheckpoint(c AuditCheckpoint) error
	LatestCheckpointSize() (int64, error)
	// ErasePayloads deletes the payloads of the given events, or with
	// before > 0 of every event with an index below it, and returns the
	// indexes whose payloads were deleted.
	ErasePayloads(indexes []int64, before int64) ([]int64, error)
}
