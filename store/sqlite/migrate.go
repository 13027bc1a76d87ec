package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"
)

//go:embed migrations/*.sql
var accessMigrations embed.FS

//go:embed audit_migrations/*.sql
var auditMigrations embed.FS

// schema is a database's set of migrations: the files in dir of fsys.
type schema struct {
	fsys embed.FS
	dir  string
}

var (
	accessSchema = schema{accessMigrations, "migrations"}
	auditSchema  = schema{auditMigrations, "audit_migrations"}
)

// migration is one numbered schema change, applied in its own transaction.
type migration struct {
	version int
	name    string
	sql     string
}

// migrations returns the schema's migrations ordered by version. File
// names are NNNN_description.sql.
func (sc schema) migrations() ([]migration, error) {
	entries, err := fs.ReadDir(sc.fsys, sc.dir)
	if err != nil {
		return nil, err
	}
	var ms []migration
	for _, e := range entries {
		num, _, ok := strings.Cut(e.Name(), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v <= 0 {
			return nil, fmt.Errorf("migration %q: name must start with a positive number and an underscore", e.Name())
		}
		b, err := sc.fsys.ReadFile(path.Join(sc.dir, e.Name()))
		if err != nil {
			return nil, err
		}
		ms = append(ms, migration{version: v, name: e.Name(), sql: string(b)})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].version < ms[j].version })
	for i, m := range ms {
		if m.version != i+1 {
			return nil, fmt.Errorf("migration %q: expected version %d (versions must be consecutive)", m.name, i+1)
		}
	}
	return ms, nil
}

// migrate brings the schema up to the newest embedded version. Each step
// reads the current version inside its own write transaction, so two
// processes opening the same new database cannot apply a migration twice. It
// refuses a database written by a newer modelgate rather than guess at its
// schema.
func migrate(ctx context.Context, db *sql.DB, sc schema) error {
	ms, err := sc.migrations()
	if err != nil {
		return err
	}
	if _, err := db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    INTEGER PRIMARY KEY,
		name       TEXT NOT NULL,
		applied_at INTEGER NOT NULL
	) STRICT`); err != nil {
		return fmt.Errorf("create schema_migrations: %w", err)
	}
	for {
		done, err := migrateStep(ctx, db, ms)
		if err != nil || done {
			return err
		}
	}
}

// migrateStep applies the first migration not yet applied and reports
// whether there was none left.
func migrateStep(ctx context.Context, db *sql.DB, ms []migration) (done bool, err error) {
	tx, err := db.BeginTx(ctx, nil) // BEGIN IMMEDIATE: the DSN sets _txlock
	if err != nil {
		return false, err
	}
	defer tx.Rollback()
	var current int
	if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&current); err != nil {
		return false, fmt.Errorf("read schema version: %w", err)
	}
	if current > len(ms) {
		return false, fmt.Errorf("database schema version %d is newer than this modelgate supports (%d): upgrade modelgate", current, len(ms))
	}
	if current == len(ms) {
		return true, nil
	}
	m := ms[current]
	if _, err := tx.ExecContext(ctx, m.sql); err != nil {
		return false, fmt.Errorf("migration %s: %w", m.name, err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)`,
		m.version, m.name, time.Now().UnixNano()); err != nil {
		return false, fmt.Errorf("migration %s: record version: %w", m.name, err)
	}
	if err := tx.Commit(); err != nil {
		return false, fmt.Errorf("migration %s: commit: %w", m.name, err)
	}
	return false, nil
}
