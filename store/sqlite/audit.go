package sqlite

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
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
	db, err := openDB(ctx, path, "FULL", auditSchema)
	if err != nil {
		return nil, err
	}
	return &AuditDB{db: db, path: path, stmts: map[string]*sql.Stmt{}}, nil
}

// Path returns the database file's path.
func (a *AuditDB) Path() string { return a.path }

// Close closes the database.
func (a *AuditDB) Close() error {
	a.wmu.Lock()
	for _, s := range a.stmts {
		s.Close()
	}
	a.stmts = map[string]*sql.Stmt{}
	if a.wconn != nil {
		a.wconn.Close()
		a.wconn = nil
	}
	a.wmu.Unlock()
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
	if _, err := a.wconn.ExecContext(ctx, `BEGIN IMMEDIATE`); err != nil {
		a.dropConn()
		return fmt.Errorf("audit: begin: %w", err)
	}
	committed := false
	defer func() {
		if !committed {
			// A failed ROLLBACK leaves the connection in doubt: drop it.
			if _, rerr := a.wconn.ExecContext(context.WithoutCancel(ctx), `ROLLBACK`); rerr != nil {
				a.dropConn()
			}
		}
	}()
	if err := fn(&auditTx{ctx: ctx, a: a}); err != nil {
		return err
	}
	if _, err := a.wconn.ExecContext(ctx, `COMMIT`); err != nil {
		return fmt.Errorf("audit: commit: %w", err)
	}
	committed = true
	return nil
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

// ScanAuditHashes calls fn for every stored hash below limit in index order.
func (a *AuditDB) ScanAuditHashes(ctx context.Context, limit int64, fn func(int64, []byte) error) error {
	err := a.rawScan(ctx, `SELECT idx, hash FROM audit_hashes WHERE idx < ? ORDER BY idx`, []any{limit}, func(d []driver.Value) error {
		return fn(asInt(d[0]), asBytes(d[1]))
	})
	if err != nil {
		return fmt.Errorf("audit: scan hashes: %w", err)
	}
	return nil
}

const (
	leafColumns    = `idx, data, time_ns, request_id, actor_kind, actor_id, action, model, outcome`
	payloadColumns = `, in_salt, in_data, out_salt, out_data`
)

func scanLeaf(row scanner, l *store.AuditLeaf, payloads bool) error {
	dest := []any{&l.Index, &l.Data, &l.TimeNanos, &l.RequestID, &l.ActorKind, &l.ActorID, &l.Action, &l.Model, &l.Outcome}
	var inSalt, inData, outSalt, outData []byte
	if payloads {
		dest = append(dest, &inSalt, &inData, &outSalt, &outData)
	}
	if err := row.Scan(dest...); err != nil {
		return err
	}
	l.Input, l.Output = blob(inSalt, inData), blob(outSalt, outData)
	return nil
}

func blob(salt, data []byte) *store.AuditBlob {
	if salt == nil {
		return nil
	}
	return &store.AuditBlob{Salt: salt, Data: data}
}

// AuditLeaf returns one event with its payloads.
func (a *AuditDB) AuditLeaf(ctx context.Context, index int64) (*store.AuditLeaf, error) {
	var l store.AuditLeaf
	err := scanLeaf(a.db.QueryRowContext(ctx, `SELECT `+leafColumns+payloadColumns+` FROM audit_events WHERE idx = ?`, index), &l, true)
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
	add := func(cond string, v ...any) { where = append(where, cond); args = append(args, v...) }
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
			add("substr(action, 1, ?) = ?", len(f.Action), f.Action)
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
	cols := leafColumns
	if f.WithPayloads {
		cols += payloadColumns
	}
	q := `SELECT ` + cols + ` FROM audit_events`
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
	var l store.AuditLeaf
	err := a.rawScan(ctx, q, args, func(d []driver.Value) error {
		l = store.AuditLeaf{Index: asInt(d[0]), Data: asBytes(d[1]), TimeNanos: asInt(d[2]), RequestID: asString(d[3]),
			ActorKind: asString(d[4]), ActorID: asString(d[5]), Action: asString(d[6]), Model: asString(d[7]), Outcome: asString(d[8])}
		if f.WithPayloads {
			l.Input, l.Output = blob(asBytes(d[9]), asBytes(d[10])), blob(asBytes(d[11]), asBytes(d[12]))
		}
		return fn(&l)
	})
	if err != nil {
		return fmt.Errorf("audit: query: %w", err)
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

func (t *auditTx) Size() (int64, error) { return auditSize(t.ctx, t.a.wconn) }

func (t *auditTx) Hashes(indexes []int64) ([][]byte, error) {
	return readHashes(t.ctx, t.a.wconn, indexes)
}

// chunkSizes are the row counts of the prepared multi-row inserts; a batch
// is cut into these, largest first.
var chunkSizes = []int{256, 32, 4, 1}

// insertRows inserts n rows of cols columns with prepared multi-row
// statements.
func (t *auditTx) insertRows(prefix string, cols, n int, arg func(i int) []any) error {
	row := "(" + placeholders(cols) + ")"
	for start := 0; start < n; {
		size := 1
		for _, c := range chunkSizes {
			if n-start >= c {
				size = c
				break
			}
		}
		q := prefix + strings.TrimSuffix(strings.Repeat(row+",", size), ",")
		st, err := t.a.stmt(t.ctx, q)
		if err != nil {
			return err
		}
		args := make([]any, 0, size*cols)
		for i := start; i < start+size; i++ {
			args = append(args, arg(i)...)
		}
		if _, err := st.ExecContext(t.ctx, args...); err != nil {
			return err
		}
		start += size
	}
	return nil
}

func blobArgs(b *store.AuditBlob) (salt, data any) {
	if b == nil {
		return nil, nil
	}
	if b.Data == nil {
		return b.Salt, nil
	}
	return b.Salt, b.Data
}

func (t *auditTx) InsertLeaves(leaves []*store.AuditLeaf) error {
	err := t.insertRows(`INSERT INTO audit_events (`+leafColumns+payloadColumns+`) VALUES `, 13, len(leaves), func(i int) []any {
		l := leaves[i]
		inSalt, inData := blobArgs(l.Input)
		outSalt, outData := blobArgs(l.Output)
		return []any{l.Index, l.Data, l.TimeNanos, l.RequestID, l.ActorKind, l.ActorID, l.Action, l.Model, l.Outcome,
			inSalt, inData, outSalt, outData}
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

func (t *auditTx) InsertCheckpoint(c store.AuditCheckpoint) error {
	_, err := t.a.wconn.ExecContext(t.ctx, `INSERT INTO audit_checkpoints (size, note, created_ns) VALUES (?, ?, ?)
		ON CONFLICT (size) DO NOTHING`, c.Size, c.Note, c.CreatedAt.UnixNano())
	if err != nil {
		return fmt.Errorf("audit: insert checkpoint: %w", err)
	}
	return nil
}

func (t *auditTx) LatestCheckpointSize() (int64, error) {
	var n sql.NullInt64
	if err := t.a.wconn.QueryRowContext(t.ctx, `SELECT MAX(size) FROM audit_checkpoints`).Scan(&n); err != nil {
		return 0, err
	}
	return n.Int64, nil
}

const erasePayloads = `UPDATE audit_events SET in_salt = NULL, in_data = NULL, out_salt = NULL, out_data = NULL
	WHERE (in_salt IS NOT NULL OR out_salt IS NOT NULL) AND `

func (t *auditTx) ErasePayloads(indexes []int64, before int64) ([]int64, error) {
	var erased []int64
	collect := func(q string, args ...any) error {
		rows, err := t.a.wconn.QueryContext(t.ctx, q+` RETURNING idx`, args...)
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
		if err := collect(erasePayloads+`idx < ?`, before); err != nil {
			return nil, fmt.Errorf("audit: erase: %w", err)
		}
	}
	for start := 0; start < len(indexes); start += 500 {
		chunk := indexes[start:min(start+500, len(indexes))]
		args := make([]any, len(chunk))
		for i, idx := range chunk {
			args[i] = idx
		}
		if err := collect(erasePayloads+`idx IN (`+placeholders(len(chunk))+`)`, args...); err != nil {
			return nil, fmt.Errorf("audit: erase: %w", err)
		}
	}
	return erased, nil
}
