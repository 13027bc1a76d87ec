package sqlite

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/modelgate/modelgate/internal/fsync"
	"github.com/modelgate/modelgate/store"
)

// AuditFileName is the audit database's name inside a data directory. It
// is a file of its own so the evidence can be copied, retained and backed
// up apart from the access data.
const AuditFileName = "audit.db"

// AuditDB is a store.AuditStore backed by one SQLite file.
//
// Commits are written to the write-ahead log without waiting for the disk
// (synchronous=NORMAL), and Sync fsyncs the WAL file. The audit log calls
// Sync before it acknowledges anything, so what it acknowledges survives a
// power loss, while the next commit does not wait behind the previous
// one's fsync. Frames SQLite checkpoints out of the WAL it syncs itself.
type AuditDB struct {
	db   *sql.DB
	path string

	syncMu sync.Mutex
	wal    *os.File

	// Appends go through one dedicated connection with statements
	// prepared once: preparing multi-row inserts for every batch cost more
	// than running them.
	wmu   sync.Mutex
	wconn *sql.Conn
	stmts map[string]*sql.Stmt
}

var _ store.AuditStore = (*AuditDB)(nil)

// OpenAuditDir opens (creating if needed) the audit database in a data
// directory.
func OpenAuditDir(ctx context.Context, dir string) (*AuditDB, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create data directory: %w", err)
	}
	return OpenAudit(ctx, filepath.Join(dir, AuditFileName))
}

// OpenAudit opens (creating if needed) an audit database file.
func OpenAudit(ctx context.Context, path string) (*AuditDB, error) {
	db, err := openDB(ctx, path, "NORMAL", auditSchema)
	if err != nil {
		return nil, err
	}
	return &AuditDB{db: db, path: path, stmts: map[string]*sql.Stmt{}}, nil
}

// Sync fsyncs the write-ahead log, making every commit so far durable.
func (a *AuditDB) Sync(ctx context.Context) error {
	a.syncMu.Lock()
	defer a.syncMu.Unlock()
	if a.wal == nil {
		f, err := os.Open(a.path + "-wal")
		if err != nil {
			return fmt.Errorf("audit: open write-ahead log: %w", err)
		}
		a.wal = f
	}
	if err := fsync.Data(a.wal); err != nil {
		// Reopen next time: the file may have been replaced.
		a.wal.Close()
		a.wal = nil
		return fmt.Errorf("audit: sync: %w", err)
	}
	return nil
}

// Path returns the database file's path.
func (a *AuditDB) Path() string { return a.path }

// Close closes the database.
func (a *AuditDB) Close() error {
	a.wmu.Lock()
	a.dropConn()
	a.wmu.Unlock()
	a.syncMu.Lock()
	if a.wal != nil {
		a.wal.Close()
		a.wal = nil
	}
	a.syncMu.Unlock()
	return a.db.Close()
}

// AppendAudit runs fn between BEGIN IMMEDIATE and COMMIT on the write
// connection: the write lock is taken up front, so no other writer, in
// this process or another, runs between fn's reads and its writes.
func (a *AuditDB) AppendAudit(ctx context.Context, fn func(store.AuditTx) error) (err error) {
	a.wmu.Lock()
	defer a.wmu.Unlock()
	if a.wconn == nil {
		if a.wconn, err = a.db.Conn(ctx); err != nil {
			return fmt.Errorf("audit: %w", err)
		}
	}
	if err := a.exec(ctx, `BEGIN IMMEDIATE`); err != nil {
		a.dropConn()
		return fmt.Errorf("audit: begin: %w", err)
	}
	committed := false
	defer func() {
		if !committed {
			// A failed ROLLBACK leaves the connection in doubt: drop it.
			if rerr := a.exec(context.WithoutCancel(ctx), `ROLLBACK`); rerr != nil {
				a.dropConn()
			}
		}
	}()
	if err := fn(&auditTx{ctx: ctx, a: a}); err != nil {
		return err
	}
	if err := a.exec(ctx, `COMMIT`); err != nil {
		return fmt.Errorf("audit: commit: %w", err)
	}
	committed = true
	return nil
}

// exec runs a statement prepared once on the write connection.
func (a *AuditDB) exec(ctx context.Context, q string, args ...any) error {
	st, err := a.stmt(ctx, q)
	if err != nil {
		return err
	}
	_, err = st.ExecContext(ctx, args...)
	return err
}

// queryInt runs a prepared single-value query on the write connection.
func (a *AuditDB) queryInt(ctx context.Context, q string) (int64, error) {
	st, err := a.stmt(ctx, q)
	if err != nil {
		return 0, err
	}
	var n sql.NullInt64
	if err := st.QueryRowContext(ctx).Scan(&n); err != nil {
		return 0, err
	}
	return n.Int64, nil
}

func (a *AuditDB) dropConn() {
	for _, s := range a.stmts {
		s.Close()
	}
	a.stmts = map[string]*sql.Stmt{}
	if a.wconn != nil {
		a.wconn.Close()
		a.wconn = nil
	}
}

// stmt returns a statement prepared on the write connection.
func (a *AuditDB) stmt(ctx context.Context, q string) (*sql.Stmt, error) {
	if s := a.stmts[q]; s != nil {
		return s, nil
	}
	s, err := a.wconn.PrepareContext(ctx, q)
	if err != nil {
		return nil, err
	}
	a.stmts[q] = s
	return s, nil
}

type queryer interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// sizeQuery finds the end of the last batch by its primary key.
const sizeQuery = `SELECT first + count FROM audit_batches ORDER BY first DESC LIMIT 1`

func auditSize(ctx context.Context, q queryer) (int64, error) {
	var n int64
	err := q.QueryRowContext(ctx, sizeQuery).Scan(&n)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("audit: size: %w", err)
	}
	return n, nil
}

// hashSize is the size of one stored tree hash.
const hashSize = 32

// readHashes reads stored hashes by index. Each row holds a run of
// consecutive hashes; a run is read once however many of its hashes are
// wanted.
func readHashes(ctx context.Context, q queryer, indexes []int64) ([][]byte, error) {
	out := make([][]byte, len(indexes))
	type run struct {
		first int64
		data  []byte
	}
	var runs []run
	for i, idx := range indexes {
		var r *run
		for j := range runs {
			if idx >= runs[j].first && idx < runs[j].first+int64(len(runs[j].data)/hashSize) {
				r = &runs[j]
				break
			}
		}
		if r == nil {
			var nr run
			err := q.QueryRowContext(ctx, `SELECT first, hashes FROM audit_hashes WHERE first <= ? ORDER BY first DESC LIMIT 1`, idx).
				Scan(&nr.first, &nr.data)
			if errors.Is(err, sql.ErrNoRows) || err == nil && idx >= nr.first+int64(len(nr.data)/hashSize) {
				return nil, fmt.Errorf("audit: stored hash %d is missing: %w", idx, store.ErrNotFound)
			}
			if err != nil {
				return nil, fmt.Errorf("audit: read hashes: %w", err)
			}
			runs = append(runs, nr)
			r = &runs[len(runs)-1]
		}
		off := (idx - r.first) * hashSize
		out[i] = r.data[off : off+hashSize]
	}
	return out, nil
}

func placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?,", n), ",")
}

// rawScan runs a query on a connection of its own and hands each row's
// driver values to fn, skipping database/sql's per-column conversion and
// copying: verification reads every event, and that overhead was most of
// what reading one cost. fn must not keep dest; byte slices it holds are
// fresh for every row.
func (a *AuditDB) rawScan(ctx context.Context, query string, args []any, fn func(dest []driver.Value) error) error {
	conn, err := a.db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	return conn.Raw(func(dc any) error {
		q, ok := dc.(driver.QueryerContext)
		if !ok {
			return fmt.Errorf("sqlite driver connection %T cannot query", dc)
		}
		named := make([]driver.NamedValue, len(args))
		for i, v := range args {
			named[i] = driver.NamedValue{Ordinal: i + 1, Value: v}
		}
		rows, err := q.QueryContext(ctx, query, named)
		if err != nil {
			return err
		}
		defer rows.Close()
		dest := make([]driver.Value, len(rows.Columns()))
		for {
			if err := rows.Next(dest); err == io.EOF {
				return nil
			} else if err != nil {
				return err
			}
			if err := fn(dest); err != nil {
				return err
			}
		}
	})
}

func asInt(v driver.Value) int64 {
	n, _ := v.(int64)
	return n
}

func asString(v driver.Value) string {
	switch s := v.(type) {
	case string:
		return s
	case []byte:
		return string(s)
	}
	return ""
}

func asBytes(v driver.Value) []byte {
	switch b := v.(type) {
	case []byte:
		return b
	case string:
		return []byte(b)
	}
	return nil
}

// AuditSize returns the number of events.
func (a *AuditDB) AuditSize(ctx context.Context) (int64, error) { return auditSize(ctx, a.db) }

// AuditHashes returns stored tree hashes.
func (a *AuditDB) AuditHashes(ctx context.Context, indexes []int64) ([][]byte, error) {
	return readHashes(ctx, a.db, indexes)
}

// ScanAuditHashes calls fn for every stored hash below limit in index
// order. A run whose length is not a whole number of hashes, or runs that
// overlap or leave a gap, are reported as they are found: the caller
// decides what a missing or extra hash means.
func (a *AuditDB) ScanAuditHashes(ctx context.Context, limit int64, fn func(int64, []byte) error) error {
	err := a.rawScan(ctx, `SELECT first, hashes FROM audit_hashes WHERE first < ? ORDER BY first`, []any{limit}, func(d []driver.Value) error {
		first, data := asInt(d[0]), asBytes(d[1])
		for i := 0; i+hashSize <= len(data); i += hashSize {
			idx := first + int64(i/hashSize)
			if idx >= limit {
				return nil
			}
			if err := fn(idx, data[i:i+hashSize]); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("audit: scan hashes: %w", err)
	}
	return nil
}

// batchStart is the first index of the batch holding event idx.
const batchStart = `COALESCE((SELECT first FROM audit_batches WHERE first <= ? ORDER BY first DESC LIMIT 1), 0)`

// AuditLeaf returns one event with its payloads.
func (a *AuditDB) AuditLeaf(ctx context.Context, index int64) (*store.AuditLeaf, error) {
	return store.LeafByScan(ctx, a, index)
}

// ScanAudit calls fn for the events in a range, decoding the batches that
// hold them.
func (a *AuditDB) ScanAudit(ctx context.Context, r store.AuditRange, fn func(*store.AuditLeaf) error) error {
	before := r.BeforeIndex
	if before <= 0 {
		before = math.MaxInt64
	}
	cols := `first, count, leaves`
	if r.WithPayloads {
		cols += `, payloads`
	}
	q := `SELECT ` + cols + ` FROM audit_batches WHERE first >= ` + batchStart + ` AND first < ?`
	args := []any{r.FromIndex, before}
	if !r.Since.IsZero() {
		// The time index finds where the span starts, so that a query for
		// the last hour does not walk the log from the beginning.
		q += ` AND first >= COALESCE((SELECT MIN(first) FROM audit_batches INDEXED BY audit_batches_time WHERE max_time >= ?), ` +
			strconv.FormatInt(math.MaxInt64, 10) + `) AND max_time >= ?`
		args = append(args, r.Since.UnixNano(), r.Since.UnixNano())
	}
	if !r.Until.IsZero() {
		q += ` AND min_time < ?`
		args = append(args, r.Until.UnixNano())
	}
	if r.Descending {
		q += ` ORDER BY first DESC`
	} else {
		q += ` ORDER BY first`
	}
	sent := 0
	errStop := errors.New("stop")
	err := a.rawScan(ctx, q, args, func(d []driver.Value) error {
		var payloads []byte
		if r.WithPayloads {
			payloads = asBytes(d[3])
		}
		leaves, err := store.DecodeBatch(asInt(d[0]), int(asInt(d[1])), asBytes(d[2]), payloads)
		if err != nil {
			return err
		}
		for i := range leaves {
			l := leaves[i]
			if r.Descending {
				l = leaves[len(leaves)-1-i]
			}
			if l.Index < r.FromIndex || l.Index >= before {
				continue
			}
			if err := fn(l); err != nil {
				return err
			}
			if sent++; r.Limit > 0 && sent >= r.Limit {
				return errStop
			}
		}
		return nil
	})
	if err != nil && !errors.Is(err, errStop) {
		return fmt.Errorf("audit: read: %w", err)
	}
	return nil
}

// AuditCheckpoints returns every checkpoint, smallest first.
func (a *AuditDB) AuditCheckpoints(ctx context.Context) ([]store.AuditCheckpoint, error) {
	rows, err := a.db.QueryContext(ctx, `SELECT size, note, created_ns FROM audit_checkpoints ORDER BY size`)
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
	err := a.db.QueryRowContext(ctx, `SELECT size, note, created_ns FROM audit_checkpoints ORDER BY size DESC LIMIT 1`).
		Scan(&c.Size, &c.Note, &created)
	if errors.Is(err, sql.ErrNoRows) {
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
	err := a.db.QueryRowContext(ctx, `SELECT next_idx FROM audit_cursors WHERE name = ?`, name).Scan(&next)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	return next, err
}

// SetAuditCursor records a forwarder's progress.
func (a *AuditDB) SetAuditCursor(ctx context.Context, name string, next int64) error {
	_, err := a.db.ExecContext(ctx, `INSERT INTO audit_cursors (name, next_idx, updated_ns) VALUES (?, ?, ?)
		ON CONFLICT (name) DO UPDATE SET next_idx = excluded.next_idx, updated_ns = excluded.updated_ns`,
		name, next, time.Now().UnixNano())
	return err
}

// auditTx is the write side, inside one transaction on the write
// connection.
type auditTx struct {
	ctx context.Context
	a   *AuditDB
}

func (t *auditTx) Size() (int64, error) {
	n, err := t.a.queryInt(t.ctx, sizeQuery)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return 0, fmt.Errorf("audit: size: %w", err)
	}
	return n, nil
}

func (t *auditTx) Hashes(indexes []int64) ([][]byte, error) {
	return readHashes(t.ctx, t.a.wconn, indexes)
}

func (t *auditTx) InsertBatch(b *store.AuditBatch) error {
	if len(b.Leaves) == 0 {
		return nil
	}
	var payloads any
	if p := store.EncodePayloads(b.Leaves); p != nil {
		payloads = p
	}
	err := t.a.exec(t.ctx, `INSERT INTO audit_batches (first, count, min_time, max_time, leaves, payloads) VALUES (?, ?, ?, ?, ?, ?)`,
		b.First, len(b.Leaves), b.MinTime.UnixNano(), b.MaxTime.UnixNano(), store.EncodeLeaves(b.Leaves), payloads)
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
	st, err := t.a.stmt(t.ctx, `INSERT INTO audit_hashes (first, hashes) VALUES (?, ?)`)
	if err == nil {
		_, err = st.ExecContext(t.ctx, first, run)
	}
	if err != nil {
		return fmt.Errorf("audit: insert hashes: %w", err)
	}
	return nil
}

func (t *auditTx) InsertCheckpoint(c store.AuditCheckpoint) error {
	err := t.a.exec(t.ctx, `INSERT INTO audit_checkpoints (size, note, created_ns) VALUES (?, ?, ?)
		ON CONFLICT (size) DO NOTHING`, c.Size, c.Note, c.CreatedAt.UnixNano())
	if err != nil {
		return fmt.Errorf("audit: insert checkpoint: %w", err)
	}
	return nil
}

func (t *auditTx) LatestCheckpointSize() (int64, error) {
	return t.a.queryInt(t.ctx, `SELECT MAX(size) FROM audit_checkpoints`)
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
	var batches []batch
	rows, err := t.a.wconn.QueryContext(t.ctx, `SELECT first, count, leaves, payloads FROM audit_batches
		WHERE payloads IS NOT NULL AND first >= `+batchStart+` AND first <= ? ORDER BY first`, plan.Lo, plan.Hi)
	if err != nil {
		return nil, fmt.Errorf("audit: erase: %w", err)
	}
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
		var p any
		if enc != nil {
			p = enc
		}
		if err := t.a.exec(t.ctx, `UPDATE audit_batches SET payloads = ? WHERE first = ?`, p, b.first); err != nil {
			return nil, fmt.Errorf("audit: erase: %w", err)
		}
		erased = append(erased, done...)
	}
	return erased, nil
}
