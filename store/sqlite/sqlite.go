// Package sqlite implements store.Store on an embedded SQLite database
// (modernc.org/sqlite, pure Go, so the binary stays CGO-free).
package sqlite

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"sync"

	"github.com/modelgate/modelgate/store"
	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

// FileName is the database file's name inside a data directory.
const FileName = "modelgate.db"

// DB is a store.Store backed by one SQLite file.
type DB struct {
	db   *sql.DB
	path string

	// Generation runs on every gateway request, so it skips database/sql:
	// one dedicated connection, one prepared driver statement, a mutex
	// (a driver connection serves one caller at a time).
	genMu   sync.Mutex
	genConn *sql.Conn
	genStmt driver.Stmt
	genDest []driver.Value
	closed  bool
}

// errClosed is returned by a closed DB.
var errClosed = errors.New("sqlite store is closed")

var _ store.Store = (*DB)(nil)

// OpenDir opens (creating if needed) the database in a data directory.
func OpenDir(ctx context.Context, dir string) (*DB, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create data directory: %w", err)
	}
	return Open(ctx, filepath.Join(dir, FileName))
}

// Open opens (creating if needed) the database at path and migrates it to
// the current schema.
func Open(ctx context.Context, path string) (*DB, error) {
	db, err := openDB(ctx, path, "NORMAL", accessSchema)
	if err != nil {
		return nil, err
	}
	s := &DB{db: db, path: path, genDest: make([]driver.Value, 1)}
	if err := s.prepareGeneration(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return s, nil
}

// openDB opens a SQLite file with the pragmas modelgate relies on and
// migrates it. WAL lets the gateway read while the CLI writes from another
// process; busy_timeout makes such a writer wait instead of failing;
// immediate transactions take the write lock up front so two writers never
// deadlock upgrading a read lock. synchronous is NORMAL for access data
// (an application crash loses nothing) and FULL for the audit log (a power
// loss loses nothing that was acknowledged).
func openDB(ctx context.Context, path, synchronous string, sc schema) (*sql.DB, error) {
	q := url.Values{}
	for _, p := range []string{"journal_mode(WAL)", "busy_timeout(10000)", "synchronous(" + synchronous + ")", "foreign_keys(1)", "mmap_size(1073741824)"} {
		q.Add("_pragma", p)
	}
	q.Set("_txlock", "immediate")
	dsn := "file:" + (&url.URL{Path: path}).EscapedPath() + "?" + q.Encode()
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	// The default of two idle connections makes a busy gateway open and
	// close SQLite connections all the time; keep a few.
	db.SetMaxOpenConns(32)
	db.SetMaxIdleConns(8)
	if err := migrate(ctx, db, sc); err != nil {
		db.Close()
		return nil, fmt.Errorf("migrate %s: %w", path, err)
	}
	return db, nil
}

func (s *DB) prepareGeneration(ctx context.Context) error {
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return err
	}
	err = conn.Raw(func(dc any) error {
		p, ok := dc.(driver.ConnPrepareContext)
		if !ok {
			return fmt.Errorf("sqlite driver connection %T cannot prepare statements", dc)
		}
		s.genStmt, err = p.PrepareContext(ctx, `SELECT value FROM generation WHERE id = 1`)
		return err
	})
	if err != nil {
		conn.Close()
		return fmt.Errorf("prepare generation query: %w", err)
	}
	s.genConn = conn
	return nil
}

// Path returns the database file's path.
func (s *DB) Path() string { return s.path }

// Close closes the database.
func (s *DB) Close() error {
	s.genMu.Lock()
	if s.closed {
		s.genMu.Unlock()
		return nil
	}
	s.closed = true
	s.genStmt.Close()
	s.genConn.Close()
	s.genMu.Unlock()
	return s.db.Close()
}

// Ping reports whether the database can be read.
func (s *DB) Ping(ctx context.Context) error {
	_, err := s.Generation(ctx)
	return err
}

// Generation returns the change counter that triggers on the access tables
// maintain, so that writes by other processes are seen too.
func (s *DB) Generation(ctx context.Context) (uint64, error) {
	s.genMu.Lock()
	defer s.genMu.Unlock()
	if s.closed {
		return 0, errClosed
	}
	q, ok := s.genStmt.(driver.StmtQueryContext)
	if !ok {
		return 0, fmt.Errorf("read generation: driver statement %T cannot query", s.genStmt)
	}
	rows, err := q.QueryContext(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("read generation: %w", err)
	}
	err = rows.Next(s.genDest)
	rows.Close()
	if err != nil {
		return 0, fmt.Errorf("read generation: %w", err)
	}
	v, ok := s.genDest[0].(int64)
	if !ok {
		return 0, fmt.Errorf("read generation: unexpected value %v", s.genDest[0])
	}
	return uint64(v), nil
}

// notFound maps sql.ErrNoRows to store.ErrNotFound with context.
func notFound(err error, what, id string) error {
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("%s %q: %w", what, id, store.ErrNotFound)
	}
	return err
}
