package sqlite

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/modelgate/modelgate/store"
)

const routeColumns = `model, protocol, upstream, source, created_at, updated_at`

// PutRoute creates or replaces a route, keeping its creation time.
func (s *DB) PutRoute(ctx context.Context, r *store.Route) error {
	return putRoute(ctx, s.db, r)
}

type execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

func putRoute(ctx context.Context, db execer, r *store.Route) error {
	up, err := store.EncodeRouteSpec(r)
	if err != nil {
		return err
	}
	_, err = db.ExecContext(ctx, `INSERT INTO routes (`+routeColumns+`) VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (model) DO UPDATE SET protocol = excluded.protocol, upstream = excluded.upstream,
			source = excluded.source, updated_at = excluded.updated_at`,
		r.Model, r.Protocol, up, r.Source, r.CreatedAt.UnixNano(), r.UpdatedAt.UnixNano())
	if err != nil {
		return fmt.Errorf("put route %q: %w", r.Model, err)
	}
	return nil
}

// GetRoute returns one route.
func (s *DB) GetRoute(ctx context.Context, model string) (*store.Route, error) {
	r, err := scanRoute(s.db.QueryRowContext(ctx, `SELECT `+routeColumns+` FROM routes WHERE model = ?`, model))
	if err != nil {
		return nil, notFound(err, "route", model)
	}
	return r, nil
}

// ListRoutes returns every route ordered by model name.
func (s *DB) ListRoutes(ctx context.Context) ([]*store.Route, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+routeColumns+` FROM routes ORDER BY model`)
	if err != nil {
		return nil, fmt.Errorf("list routes: %w", err)
	}
	defer rows.Close()
	var rs []*store.Route
	for rows.Next() {
		r, err := scanRoute(rows)
		if err != nil {
			return nil, err
		}
		rs = append(rs, r)
	}
	return rs, rows.Err()
}

// DeleteRoute removes a route.
func (s *DB) DeleteRoute(ctx context.Context, model string) error {
	res, err := s.db.ExecContext(ctx, `DELETE FROM routes WHERE model = ?`, model)
	if err != nil {
		return fmt.Errorf("delete route: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("route %q: %w", model, store.ErrNotFound)
	}
	return nil
}

// ReplaceRoutes makes the routes of one source exactly rs.
func (s *DB) ReplaceRoutes(ctx context.Context, source string, rs []*store.Route) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	keep := make(map[string]bool, len(rs))
	for _, r := range rs {
		keep[r.Model] = true
	}
	rows, err := tx.QueryContext(ctx, `SELECT model FROM routes WHERE source = ?`, source)
	if err != nil {
		return fmt.Errorf("replace routes: %w", err)
	}
	var drop []string
	for rows.Next() {
		var m string
		if err := rows.Scan(&m); err != nil {
			rows.Close()
			return err
		}
		if !keep[m] {
			drop = append(drop, m)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for _, m := range drop {
		if _, err := tx.ExecContext(ctx, `DELETE FROM routes WHERE model = ?`, m); err != nil {
			return fmt.Errorf("replace routes: %w", err)
		}
	}
	for _, r := range rs {
		r.Source = source
		if err := putRoute(ctx, tx, r); err != nil {
			return err
		}
	}
	return tx.Commit()
}

func scanRoute(row scanner) (*store.Route, error) {
	var (
		r                store.Route
		up               string
		created, updated int64
	)
	if err := row.Scan(&r.Model, &r.Protocol, &up, &r.Source, &created, &updated); err != nil {
		return nil, err
	}
	if err := store.DecodeRouteSpec(&r, up); err != nil {
		return nil, err
	}
	r.CreatedAt, r.UpdatedAt = fromNanos(created), fromNanos(updated)
	return &r, nil
}
