package postgres

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"math"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/modelgate/modelgate/store"
)

// AuditDB is a store.AuditStore on PostgreSQL, shared by every replica.
//
// Each replica runs its own audit.Log over it. A group commit takes a
// transaction-scoped advisory lock before it reads the log's size, so
// commits from all replicas form one sequence: whichever holds the lock
// sequences its batch into the Merkle tree (rebuilding its frontier from
// the stored hashes when another replica appended since) and signs the
// checkpoints due. The lock belongs to the transaction, so a replica that
// dies mid-commit releases it with its connection and the others carry on
// at once, with nothing half-written. A commit is durable when it returns
// (synchronous_commit), so Sync has nothing to do.
type AuditDB struct {
	db    *DB
	lock  int64
	owner bool // Close closes db (OpenAudit)
}

var _ store.AuditStore = (*AuditDB)(nil)

// Audit returns the audit store in the same database (and schema).
func (s *DB) Audit() *AuditDB {
	return &AuditDB{db: s, lock: auditLockKey(s.pool.Config().ConnConfig.RuntimeParams["search_path"])}
}

// auditLockKey derives the advisory lock from the schema, so that logs in
// different schemas of one database do not wait on each other.
func auditLockKey(schema string) int64 {
	h := fnv.New64a()
	h.Write([]byte("modelgate audit log\x00" + schema))
	return int64(h.Sum64() & math.MaxInt64)
}

// OpenAudit opens the audit store of the database at dsn on its own, for
// tools that need nothing else; closing it closes the database.
func OpenAudit(ctx context.Context, dsn string, o Options) (*AuditDB, error) {
	db, err := Open(ctx, dsn, o)
	if err != nil {
		return nil, err
	}
	a := db.Audit()
	a.owner = true
	return a, nil
}

// Close closes the database when the store was opened with OpenAudit;
// one from DB.Audit leaves it to the DB.
func (a *AuditDB) Close() error {
	if a.owner {
		return a.db.Close()
	}
	return nil
}

// Sync does nothing: PostgreSQL made each commit durable before it
// returned.
func (a *AuditDB) Sync(context.Context) error { return nil }

// AppendAudit runs fn in a transaction holding the log's advisory lock.
func (a *AuditDB) AppendAudit(ctx context.Context, fn func(store.AuditTx) error) error {
	err := pgx.BeginFunc(ctx, a.db.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, a.lock); err != nil {
			return err
		}
		return fn(&auditTx{ctx: ctx, tx: tx})
	})
	if err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	return nil
}

type querier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

const sizeQuery = `SELECT first + count FROM audit_batches ORDER BY first DESC LIMIT 1`

func auditSize(ctx context.Context, q querier) (int64, error) {
	var n int64
	err := q.QueryRow(ctx, sizeQuery).Scan(&n)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("audit: size: %w", err)
	}
	return n, nil
}

const hashSize = 32

// readHashes reads stored hashes by index in one round trip: for each
// index, the run (row) that starts at or before it. A commit that follows
// another replica's reloads its frontier this way while it holds the log's
// lock, so one query instead of one per run keeps the lock short.
func readHashes(ctx context.Context, q querier, indexes []int64) ([][]byte, error) {
	out := make([][]byte, len(indexes))
	if len(indexes) == 0 {
		return out, nil
	}
	rows, err := q.Query(ctx, `SELECT n.ord, h.first, h.hashes
		FROM unnest($1::bigint[]) WITH ORDINALITY AS n(idx, ord)
		LEFT JOIN LATERAL (SELECT first, hashes FROM audit_hashes WHERE first <= n.idx ORDER BY first DESC LIMIT 1) h ON true`, indexes)
	if err != nil {
		return nil, fmt.Errorf("audit: read hashes: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			ord   int64
			first *int64
			data  []byte
		)
		if err := rows.Scan(&ord, &first, &data); err != nil {
			return nil, fmt.Errorf("audit: read hashes: %w", err)
		}
		i := ord - 1
		idx := indexes[i]
		if first == nil || idx >= *first+int64(len(data)/hashSize) {
			return nil, fmt.Errorf("audit: stored hash %d is missing: %w", idx, store.ErrNotFound)
		}
		off := (idx - *first) * hashSize
		out[i] = data[off : off+hashSize]
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("audit: read hashes: %w", err)
	}
	return out, nil
}

// AuditSize returns the number of events.
func (a *AuditDB) AuditSize(ctx context.Context) (int64, error) { return auditSize(ctx, a.db.pool) }

// AuditHashes returns stored tree hashes.
func (a *AuditDB) AuditHashes(ctx context.Context, indexes []int64) ([][]byte, error) {
	return readHashes(ctx, a.db.pool, indexes)
}

// ScanAuditHashes calls fn for every stored hash below limit, in order.
func (a *AuditDB) ScanAuditHashes(ctx context.Context, limit int64, fn func(int64, []byte) error) error {
	rows, err := a.db.pool.Query(ctx, `SELECT first, hashes FROM audit_hashes WHERE first < $1 ORDER BY first`, limit)
	if err != nil {
		return fmt.Errorf("audit: scan hashes: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			first int64
			data  []byte
		)
		if err := rows.Scan(&first, &data); err != nil {
			return err
		}
		for i := 0; i+hashSize <= len(data); i += hashSize {
			idx := first + int64(i/hashSize)
			if idx >= limit {
				break
			}
			if err := fn(idx, data[i:i+hashSize]); err != nil {
				return err
			}
		}
	}
	return rows.Err()
}

const batchStart = `COALESCE((SELECT first FROM audit_batches WHERE first <= $1 ORDER BY first DESC LIMIT 1), 0)`

// AuditLeaf returns one event with its payloads.
func (a *AuditDB) AuditLeaf(ctx context.Context, index int64) (*store.AuditLeaf, error) {
	return store.LeafByScan(ctx, a, index)
}

// ScanAudit calls fn for the events in a range.
func (a *AuditDB) ScanAudit(ctx context.Context, r store.AuditRange, fn func(*store.AuditLeaf) error) error {
	before := r.BeforeIndex
	if before <= 0 {
		before = math.MaxInt64
	}
	cols := `first, count, leaves`
	if r.WithPayloads {
		cols += `, payloads`
	}
	q := `SELECT ` + cols + ` FROM audit_batches WHERE first >= ` + batchStart + ` AND first < $2`
	args := []any{r.FromIndex, before}
	if !r.Since.IsZero() {
		args = append(args, r.Since.UnixNano())
		q += fmt.Sprintf(` AND max_time >= $%d`, len(args))
	}
	if !r.Until.IsZero() {
		args = append(args, r.Until.UnixNano())
		q += fmt.Sprintf(` AND min_time < $%d`, len(args))
	}
	if r.Descending {
		q += ` ORDER BY first DESC`
	} else {
		q += ` ORDER BY first`
	}
	rows, err := a.db.pool.Query(ctx, q, args...)
	if err != nil {
		return fmt.Errorf("audit: read: %w", err)
	}
	defer rows.Close()
	sent := 0
	for rows.Next() {
		var (
			first           int64
			count           int
			leaves, payload []byte
		)
		dest := []any{&first, &count, &leaves}
		if r.WithPayloads {
			dest = append(dest, &payload)
		}
		if err := rows.Scan(dest...); err != nil {
			return err
		}
		batch, err := store.DecodeBatch(first, count, leaves, payload)
		if err != nil {
			return fmt.Errorf("audit: read: %w", err)
		}
		for i := range batch {
			l := batch[i]
			if r.Descending {
				l = batch[len(batch)-1-i]
			}
			if l.Index < r.FromIndex || l.Index >= before {
				continue
			}
			if err := fn(l); err != nil {
				return err
			}
			if sent++; r.Limit > 0 && sent >= r.Limit {
				return nil
			}
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("audit: read: %w", err)
	}
	return nil
}

// AuditCheckpoints returns every checkpoint, smallest first.
func (a *AuditDB) AuditCheckpoints(ctx context.Context) ([]store.AuditCheckpoint, error) {
	rows, err := a.db.pool.Query(ctx, `SELECT size, note, created_ns FROM audit_checkpoints ORDER BY size`)
	if err != nil {
		return nil, fmt.Errorf("audit: checkpoints: %w", err)
	}
	defer rows.Close()
	var out []store.AuditCheckpoint
	for rows.Next() {
		var (
			c       store.AuditCheckpoint
			created int64
		)
		if err := rows.Scan(&c.Size, &c.Note, &created); err != nil {
			return nil, err
		}
		c.CreatedAt = fromNanos(created)
		out = append(out, c)
	}
	return out, rows.Err()
}

// LatestAuditCheckpoint returns the largest checkpoint.
func (a *AuditDB) LatestAuditCheckpoint(ctx context.Context) (*store.AuditCheckpoint, error) {
	var (
		c       store.AuditCheckpoint
		created int64
	)
	err := a.db.pool.QueryRow(ctx, `SELECT size, note, created_ns FROM audit_checkpoints ORDER BY size DESC LIMIT 1`).
		Scan(&c.Size, &c.Note, &created)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("audit checkpoint: %w", store.ErrNotFound)
	}
	if err != nil {
		return nil, err
	}
	c.CreatedAt = fromNanos(created)
	return &c, nil
}

// AuditCursor returns a forwarder's next index.
func (a *AuditDB) AuditCursor(ctx context.Context, name string) (int64, error) {
	var next int64
	err := a.db.pool.QueryRow(ctx, `SELECT next_idx FROM audit_cursors WHERE name = $1`, name).Scan(&next)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, nil
	}
	return next, err
}

// SetAuditCursor records a forwarder's progress.
func (a *AuditDB) SetAuditCursor(ctx context.Context, name string, next int64) error {
	_, err := a.db.pool.Exec(ctx, `INSERT INTO audit_cursors (name, next_idx, updated_ns) VALUES ($1, $2, $3)
		ON CONFLICT (name) DO UPDATE SET next_idx = excluded.next_idx, updated_ns = excluded.updated_ns`,
		name, next, time.Now().UnixNano())
	return err
}

// auditTx is the write side, inside one locked transaction.
type auditTx struct {
	ctx context.Context
	tx  pgx.Tx
}

func (t *auditTx) Size() (int64, error) { return auditSize(t.ctx, t.tx) }

func (t *auditTx) Hashes(indexes []int64) ([][]byte, error) { return readHashes(t.ctx, t.tx, indexes) }

func (t *auditTx) InsertBatch(b *store.AuditBatch) error {
	if len(b.Leaves) == 0 {
		return nil
	}
	_, err := t.tx.Exec(t.ctx, `INSERT INTO audit_batches (first, count, min_time, max_time, leaves, payloads) VALUES ($1, $2, $3, $4, $5, $6)`,
		b.First, len(b.Leaves), b.MinTime.UnixNano(), b.MaxTime.UnixNano(), store.EncodeLeaves(b.Leaves), store.EncodePayloads(b.Leaves))
	if err != nil {
		return fmt.Errorf("audit: insert batch: %w", err)
	}
	return nil
}

func (t *auditTx) InsertHashes(first int64, hashes [][]byte) error {
	if len(hashes) == 0 {
		return nil
	}
	run := make([]byte, 0, len(hashes)*hashSize)
	for _, h := range hashes {
		if len(h) != hashSize {
			return fmt.Errorf("audit: a tree hash has %d bytes", len(h))
		}
		run = append(run, h...)
	}
	if _, err := t.tx.Exec(t.ctx, `INSERT INTO audit_hashes (first, hashes) VALUES ($1, $2)`, first, run); err != nil {
		return fmt.Errorf("audit: insert hashes: %w", err)
	}
	return nil
}

func (t *auditTx) InsertCheckpoint(c store.AuditCheckpoint) error {
	_, err := t.tx.Exec(t.ctx, `INSERT INTO audit_checkpoints (size, note, created_ns) VALUES ($1, $2, $3)
		ON CONFLICT (size) DO NOTHING`, c.Size, c.Note, c.CreatedAt.UnixNano())
	if err != nil {
		return fmt.Errorf("audit: insert checkpoint: %w", err)
	}
	return nil
}

func (t *auditTx) LatestCheckpointSize() (int64, error) {
	var n *int64
	if err := t.tx.QueryRow(t.ctx, `SELECT MAX(size) FROM audit_checkpoints`).Scan(&n); err != nil {
		return 0, err
	}
	if n == nil {
		return 0, nil
	}
	return *n, nil
}

// ErasePayloads rewrites the payloads of the batches holding the events
// to erase, without them.
func (t *auditTx) ErasePayloads(indexes []int64, before int64) ([]int64, error) {
	plan := store.NewErasure(indexes, before)
	if plan.Hi < 0 {
		return nil, nil
	}
	type batch struct {
		first            int64
		count            int
		leaves, payloads []byte
	}
	rows, err := t.tx.Query(t.ctx, `SELECT first, count, leaves, payloads FROM audit_batches
		WHERE payloads IS NOT NULL AND first >= `+batchStart+` AND first <= $2 ORDER BY first`, plan.Lo, plan.Hi)
	if err != nil {
		return nil, fmt.Errorf("audit: erase: %w", err)
	}
	var batches []batch
	for rows.Next() {
		var b batch
		if err := rows.Scan(&b.first, &b.count, &b.leaves, &b.payloads); err != nil {
			rows.Close()
			return nil, err
		}
		batches = append(batches, b)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	var erased []int64
	for _, b := range batches {
		enc, done, changed, err := plan.Rewrite(b.first, b.count, b.leaves, b.payloads)
		if err != nil {
			return nil, err
		}
		if !changed {
			continue
		}
		if _, err := t.tx.Exec(t.ctx, `UPDATE audit_batches SET payloads = $1 WHERE first = $2`, enc, b.first); err != nil {
			return nil, fmt.Errorf("audit: erase: %w", err)
		}
		erased = append(erased, done...)
	}
	return erased, nil
}
