package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/modelgate/modelgate/store"
)

// AuditFileName is the audit database's name inside a data directory. It
// is a file of its own so the evidence can be copied, retained and backed
// up apart from the access data.
const AuditFileName = "audit.db"

// AuditDB is a store.AuditStore backed by one SQLite file.
type AuditDB struct {
	db   *sql.DB
	path string
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
	db, err := openDB(ctx, path, "FULL", auditSchema)
	if err != nil {
		return nil, err
	}
	return &AuditDB{db: db, path: path}, nil
}

// Path returns the database file's path.
func (a *AuditDB) Path() string { return a.path }

// Close closes the database.
func (a *AuditDB) Close() error { return a.db.Close() }

// AppendAudit runs fn in one immediate (write-locked) transaction.
func (a *AuditDB) AppendAudit(ctx context.Context, fn func(store.AuditTx) error) error {
	tx, err := a.db.BeginTx(ctx, nil) // BEGIN IMMEDIATE: the DSN sets _txlock
	if err != nil {
		return fmt.Errorf("audit: begin: %w", err)
	}
	defer tx.Rollback()
	if err := fn(&auditTx{ctx: ctx, tx: tx}); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("audit: commit: %w", err)
	}
	return nil
}

type queryer interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

func auditSize(ctx context.Context, q queryer) (int64, error) {
	var n sql.NullInt64
	if err := q.QueryRowContext(ctx, `SELECT MAX(idx) FROM audit_events`).Scan(&n); err != nil {
		return 0, fmt.Errorf("audit: size: %w", err)
	}
	if !n.Valid {
		return 0, nil
	}
	return n.Int64 + 1, nil
}

// readHashes reads stored hashes in one query per chunk.
func readHashes(ctx context.Context, q queryer, indexes []int64) ([][]byte, error) {
	out := make([][]byte, len(indexes))
	pos := make(map[int64][]int, len(indexes))
	for i, idx := range indexes {
		pos[idx] = append(pos[idx], i)
	}
	for start := 0; start < len(indexes); start += 500 {
		chunk := indexes[start:min(start+500, len(indexes))]
		args := make([]any, len(chunk))
		for i, idx := range chunk {
			args[i] = idx
		}
		rows, err := q.QueryContext(ctx, `SELECT idx, hash FROM audit_hashes WHERE idx IN (`+placeholders(len(chunk))+`)`, args...)
		if err != nil {
			return nil, fmt.Errorf("audit: read hashes: %w", err)
		}
		for rows.Next() {
			var (
				idx int64
				h   []byte
			)
			if err := rows.Scan(&idx, &h); err != nil {
				rows.Close()
				return nil, err
			}
			for _, i := range pos[idx] {
				out[i] = h
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	for i, h := range out {
		if h == nil {
			return nil, fmt.Errorf("audit: stored hash %d is missing: %w", indexes[i], store.ErrNotFound)
		}
	}
	return out, nil
}

func placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?,", n), ",")
}

// AuditSize returns the number of events.
func (a *AuditDB) AuditSize(ctx context.Context) (int64, error) { return auditSize(ctx, a.db) }

// AuditHashes returns stored tree hashes.
func (a *AuditDB) AuditHashes(ctx context.Context, indexes []int64) ([][]byte, error) {
	return readHashes(ctx, a.db, indexes)
}

// ScanAuditHashes calls fn for every stored hash in index order.
func (a *AuditDB) ScanAuditHashes(ctx context.Context, limit int64, fn func(int64, []byte) error) error {
	rows, err := a.db.QueryContext(ctx, `SELECT idx, hash FROM audit_hashes WHERE idx < ? ORDER BY idx`, limit)
	if err != nil {
		return fmt.Errorf("audit: scan hashes: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			idx int64
			h   []byte
		)
		if err := rows.Scan(&idx, &h); err != nil {
			return err
		}
		if err := fn(idx, h); err != nil {
			return err
		}
	}
	return rows.Err()
}

const leafColumns = `idx, data, time_ns, request_id, actor_kind, actor_id, action, model, outcome`

func scanLeaf(row scanner, l *store.AuditLeaf) error {
	return row.Scan(&l.Index, &l.Data, &l.TimeNanos, &l.RequestID, &l.ActorKind, &l.ActorID, &l.Action, &l.Model, &l.Outcome)
}

// AuditLeaf returns one event.
func (a *AuditDB) AuditLeaf(ctx context.Context, index int64) (*store.AuditLeaf, error) {
	var l store.AuditLeaf
	err := scanLeaf(a.db.QueryRowContext(ctx, `SELECT `+leafColumns+` FROM audit_events WHERE idx = ?`, index), &l)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("audit event %d: %w", index, store.ErrNotFound)
	}
	return &l, err
}

// ScanAudit calls fn for each event the filter selects.
func (a *AuditDB) ScanAudit(ctx context.Context, f store.AuditFilter, fn func(*store.AuditLeaf) error) error {
	var (
		where []string
		args  []any
	)
	add := func(cond string, v any) { where = append(where, cond); args = append(args, v) }
	if !f.Since.IsZero() {
		add("time_ns >= ?", f.Since.UnixNano())
	}
	if !f.Until.IsZero() {
		add("time_ns < ?", f.Until.UnixNano())
	}
	if f.FromIndex > 0 {
		add("idx >= ?", f.FromIndex)
	}
	if f.BeforeIndex > 0 {
		add("idx < ?", f.BeforeIndex)
	}
	if f.ActorID != "" {
		add("actor_id = ?", f.ActorID)
	}
	if f.Action != "" {
		if strings.HasSuffix(f.Action, ".") {
			add("substr(action, 1, ?) = ?", len(f.Action))
			args = append(args, f.Action)
		} else {
			add("action = ?", f.Action)
		}
	}
	if f.Model != "" {
		add("model = ?", f.Model)
	}
	if f.Outcome != "" {
		add("outcome = ?", f.Outcome)
	}
	if f.RequestID != "" {
		add("request_id = ?", f.RequestID)
	}
	q := `SELECT ` + leafColumns + ` FROM audit_events`
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, " AND ")
	}
	if f.Descending {
		q += ` ORDER BY idx DESC`
	} else {
		q += ` ORDER BY idx`
	}
	if f.Limit > 0 {
		q += fmt.Sprintf(` LIMIT %d`, f.Limit)
	}
	rows, err := a.db.QueryContext(ctx, q, args...)
	if err != nil {
		return fmt.Errorf("audit: query: %w", err)
	}
	defer rows.Close()
	var l store.AuditLeaf
	for rows.Next() {
		if err := scanLeaf(rows, &l); err != nil {
			return err
		}
		if err := fn(&l); err != nil {
			return err
		}
	}
	return rows.Err()
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

// AuditPayloads returns one event's payloads.
func (a *AuditDB) AuditPayloads(ctx context.Context, index int64) ([]store.AuditPayload, error) {
	rows, err := a.db.QueryContext(ctx, `SELECT idx, kind, salt, data FROM audit_payloads WHERE idx = ? ORDER BY kind`, index)
	if err != nil {
		return nil, fmt.Errorf("audit: payloads: %w", err)
	}
	defer rows.Close()
	var out []store.AuditPayload
	for rows.Next() {
		var p store.AuditPayload
		if err := rows.Scan(&p.Index, &p.Kind, &p.Salt, &p.Data); err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

// ScanAuditPayloads calls fn for every payload in index order.
func (a *AuditDB) ScanAuditPayloads(ctx context.Context, limit int64, fn func(*store.AuditPayload) error) error {
	rows, err := a.db.QueryContext(ctx, `SELECT idx, kind, salt, data FROM audit_payloads WHERE idx < ? ORDER BY idx, kind`, limit)
	if err != nil {
		return fmt.Errorf("audit: scan payloads: %w", err)
	}
	defer rows.Close()
	var p store.AuditPayload
	for rows.Next() {
		if err := rows.Scan(&p.Index, &p.Kind, &p.Salt, &p.Data); err != nil {
			return err
		}
		if err := fn(&p); err != nil {
			return err
		}
	}
	return rows.Err()
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

// auditTx is the write side, inside one transaction.
type auditTx struct {
	ctx context.Context
	tx  *sql.Tx
}

func (t *auditTx) Size() (int64, error) { return auditSize(t.ctx, t.tx) }

func (t *auditTx) Hashes(indexes []int64) ([][]byte, error) { return readHashes(t.ctx, t.tx, indexes) }

// insertRows inserts rows with multi-row INSERT statements: one statement
// per few hundred rows rather than one per row, which is what lets group
// commit reach tens of thousands of events a second.
func (t *auditTx) insertRows(prefix string, cols, n int, arg func(i int) []any) error {
	const perStatement = 300
	for start := 0; start < n; start += perStatement {
		end := min(start+perStatement, n)
		var b strings.Builder
		b.WriteString(prefix)
		row := "(" + placeholders(cols) + ")"
		args := make([]any, 0, (end-start)*cols)
		for i := start; i < end; i++ {
			if i > start {
				b.WriteByte(',')
			}
			b.WriteString(row)
			args = append(args, arg(i)...)
		}
		if _, err := t.tx.ExecContext(t.ctx, b.String(), args...); err != nil {
			return err
		}
	}
	return nil
}

func (t *auditTx) InsertLeaves(leaves []*store.AuditLeaf) error {
	err := t.insertRows(`INSERT INTO audit_events (`+leafColumns+`) VALUES `, 9, len(leaves), func(i int) []any {
		l := leaves[i]
		return []any{l.Index, l.Data, l.TimeNanos, l.RequestID, l.ActorKind, l.ActorID, l.Action, l.Model, l.Outcome}
	})
	if err != nil {
		return fmt.Errorf("audit: insert events: %w", err)
	}
	return nil
}

func (t *auditTx) InsertHashes(indexes []int64, hashes [][]byte) error {
	err := t.insertRows(`INSERT INTO audit_hashes (idx, hash) VALUES `, 2, len(indexes), func(i int) []any {
		return []any{indexes[i], hashes[i]}
	})
	if err != nil {
		return fmt.Errorf("audit: insert hashes: %w", err)
	}
	return nil
}

func (t *auditTx) InsertPayloads(ps []*store.AuditPayload) error {
	err := t.insertRows(`INSERT INTO audit_payloads (idx, kind, salt, data) VALUES `, 4, len(ps), func(i int) []any {
		return []any{ps[i].Index, ps[i].Kind, ps[i].Salt, ps[i].Data}
	})
	if err != nil {
		return fmt.Errorf("audit: insert payloads: %w", err)
	}
	return nil
}

func (t *auditTx) InsertCheckpoint(c store.AuditCheckpoint) error {
	_, err := t.tx.ExecContext(t.ctx, `INSERT INTO audit_checkpoints (size, note, created_ns) VALUES (?, ?, ?)
		ON CONFLICT (size) DO NOTHING`, c.Size, c.Note, c.CreatedAt.UnixNano())
	if err != nil {
		return fmt.Errorf("audit: insert checkpoint: %w", err)
	}
	return nil
}

func (t *auditTx) LatestCheckpointSize() (int64, error) {
	var n sql.NullInt64
	if err := t.tx.QueryRowContext(t.ctx, `SELECT MAX(size) FROM audit_checkpoints`).Scan(&n); err != nil {
		return 0, err
	}
	return n.Int64, nil
}

func (t *auditTx) ErasePayloads(indexes []int64, before int64) ([]int64, error) {
	var erased []int64
	collect := func(q string, args ...any) error {
		rows, err := t.tx.QueryContext(t.ctx, q, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var i int64
			if err := rows.Scan(&i); err != nil {
				return err
			}
			erased = append(erased, i)
		}
		return rows.Err()
	}
	if before > 0 {
		if err := collect(`DELETE FROM audit_payloads WHERE idx < ? RETURNING idx`, before); err != nil {
			return nil, fmt.Errorf("audit: erase: %w", err)
		}
	}
	for start := 0; start < len(indexes); start += 500 {
		chunk := indexes[start:min(start+500, len(indexes))]
		args := make([]any, len(chunk))
		for i, idx := range chunk {
			args[i] = idx
		}
		if err := collect(`DELETE FROM audit_payloads WHERE idx IN (`+placeholders(len(chunk))+`) RETURNING idx`, args...); err != nil {
			return nil, fmt.Errorf("audit: erase: %w", err)
		}
	}
	return dedupe(erased), nil
}

func dedupe(xs []int64) []int64 {
	seen := make(map[int64]bool, len(xs))
	out := xs[:0]
	for _, x := range xs {
		if !seen[x] {
			seen[x] = true
			out = append(out, x)
		}
	}
	return out
}
