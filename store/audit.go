package store

import (
	"context"
	"fmt"
	"time"
)

// The audit log is stored in batches: each group commit of the log writes
// one batch, holding its events' canonical JSON (the leaves the Merkle tree
// commits to) end to end, and beside it what is kept of their payloads.
// One row per commit rather than one per event is what lets the log keep
// up with a gateway: the cost of a write is paid per commit.

// AuditLeaf is one event as stored.
type AuditLeaf struct {
	Index int64
	Data  []byte // canonical JSON

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

// AuditBatch is what one commit appends: consecutive events from First,
// and the span of their times, which lets queries by time skip batches.
type AuditBatch struct {
	First            int64
	Leaves           []*AuditLeaf // Index First, First+1, ...
	MinTime, MaxTime time.Time
}

// AuditCheckpoint is a signed checkpoint of the log at Size events.
type AuditCheckpoint struct {
	Size      int64
	Note      []byte // C2SP tlog-checkpoint signed note
	CreatedAt time.Time
}

// AuditRange selects events by index and, coarsely, by time: a store may
// return events outside [Since, Until) from batches that overlap it, and
// callers that care filter exactly.
type AuditRange struct {
	FromIndex    int64     // events with Index >= FromIndex
	BeforeIndex  int64     // events with Index < BeforeIndex (when > 0)
	Since, Until time.Time // batches overlapping [Since, Until)
	Descending   bool      // newest first
	Limit        int       // at most this many events (0: no limit)
	WithPayloads bool      // fill Input and Output
}

// AuditStore keeps the audit log: events, tree hashes, checkpoints,
// payloads and forwarder cursors.
type AuditStore interface {
	// AppendAudit runs fn in a write transaction that excludes every other
	// writer, in this process or another; what fn writes is committed
	// together or not at all. The commit may not yet be durable: see Sync.
	AppendAudit(ctx context.Context, fn func(tx AuditTx) error) error
	// Sync makes every append that has returned durable. Separating it
	// lets one append commit while the previous one is being synced.
	Sync(ctx context.Context) error

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
	// ScanAudit calls fn for the events in a range, in index order (or
	// reverse). The leaf is valid only during the call.
	ScanAudit(ctx context.Context, r AuditRange, fn func(*AuditLeaf) error) error
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
	InsertBatch(b *AuditBatch) error
	// InsertHashes stores hashes with consecutive stored-hash indexes
	// starting at first.
	InsertHashes(first int64, hashes [][]byte) error
	InsertCheckpoint(c AuditCheckpoint) error
	LatestCheckpointSize() (int64, error)
	// ErasePayloads deletes the payloads of the given events, or with
	// before > 0 of every event with an index below it, and returns the
	// indexes whose payloads were deleted.
	ErasePayloads(indexes []int64, before int64) ([]int64, error)
}

// AuditQueue is an AuditStore shared by several writers (gateway
// replicas on PostgreSQL). Each writer queues its events durably, which is
// all a request waits for; one writer at a time, the sequencer, moves
// queued events into the log, gives them their indexes, extends the
// Merkle tree and signs checkpoints.
type AuditQueue interface {
	AuditStore
	// Enqueue stores events durably, in one transaction, in order.
	Enqueue(ctx context.Context, events []QueuedEvent) error
	// Lead blocks until the caller is the sequencer, or ctx ends. The
	// returned context ends if leadership is lost (the lock's connection
	// died); release gives leadership up.
	Lead(ctx context.Context) (lead context.Context, release func(), err error)
	// Sequence runs fn in an AppendAudit transaction with up to max
	// queued events, oldest first, and deletes them from the queue in
	// the same transaction, so each is sequenced exactly once. It returns
	// how many fn was given; with none queued, fn is not called.
	Sequence(ctx context.Context, max int, fn func(tx AuditTx, events []QueuedEvent) error) (int, error)
	// QueueLen returns how many events wait to be sequenced.
	QueueLen(ctx context.Context) (int64, error)
}

// AuditJournal is an AuditQueue kept on one host: every process that
// writes queues into an append-only journal of its own, at the cost of one
// write and one sync per batch (store/sqlite with store/journal). Two
// things follow for the log. A batch of one costs what a batch of many
// does, so the writer sends each batch as soon as the previous one is on
// disk instead of pacing them. And one server owns the data directory, so
// when it starts, every stream still open was cut off by a process that is
// gone.
type AuditJournal interface {
	AuditQueue
	// WaitSequenced returns once every event queued before the call, by
	// any process, is in the log, or when ctx ends.
	WaitSequenced(ctx context.Context) error
}

// QueuedEvent is an event waiting for its index: its canonical JSON before
// and after the index value, and its payloads.
type QueuedEvent struct {
	Time          time.Time
	Head, Tail    []byte
	Input, Output *AuditBlob
}

// LeafByScan returns event index with its payloads by scanning a range of
// one: how stores that keep events in batches, and so cannot read one
// alone, implement AuditLeaf.
func LeafByScan(ctx context.Context, s interface {
	ScanAudit(ctx context.Context, r AuditRange, fn func(*AuditLeaf) error) error
}, index int64) (*AuditLeaf, error) {
	var found *AuditLeaf
	err := s.ScanAudit(ctx, AuditRange{FromIndex: index, BeforeIndex: index + 1, WithPayloads: true}, func(l *AuditLeaf) error {
		c := *l
		found = &c
		return nil
	})
	if err != nil {
		return nil, err
	}
	if found == nil {
		return nil, fmt.Errorf("audit event %d: %w", index, ErrNotFound)
	}
	return found, nil
}
