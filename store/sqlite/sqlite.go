// Package sqlite implements store.Store on an embedded SQLite database
// (modernc.org/sqlite, pure Go, so the binary stays CGO-free).
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"

	"github.com/modelgate/modelgate/store"
	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

// FileName is the database file's name inside a data directory.
const FileName = "modelgate.db"

// DB is a store.Store backed by one SQLite file.
type DB struct {
	db   *sql.DB
	gen  *sql.Stmt
	path string
}

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
	// WAL lets the gateway read while the CLI writes from another process;
	// busy_timeout makes such a writer wait instead of failing; immediate
	// transactions take the write lock up front so two writers never
	// deadlock upgrading a read lock.
	q := url.Values{}
	for _, p := range []string{"journal_mode(WAL)", "busy_timeout(10000)", "synchronous(NORMAL)", "foreign_keys(1)"} {
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
	if err := migrate(ctx, db); err != nil {
		db.Close()
		return nil, fmt.Errorf("migrate %s: %w", path, err)
	}
	gen, err := db.PrepareContext(ctx, `SELECT value FROM generation WHERE id = 1`)
	if err != nil {
		db.Close()
		return nil, err
	}
	return &DB{db: db, gen: gen, path: path}, nil
}

// Path returns the database file's path.
func (s *DB) Path() string { return s.path }

// Close closes the database.
func (s *DB) Close() error {
	s.gen.Close()
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
	var v int64
	if err := s.gen.QueryRowContext(ctx).Scan(&v); err != nil {
		return 0, fmt.Errorf("read generation: %w", err)
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
