package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/modelgate/modelgate/store"
)

const routeColumns = `model, protocol, upstream, source, created_at, updated_at`

type execer interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
}

// PutRoute creates or replaces a route, keeping its creation time.
func (s *DB) PutRoute(ctx context.Context, r *store.Route) error {
	if err := putRoute(ctx, s.pool, r); err != nil {
		return err
	}
	s.changed(ctx)
	return nil
}

func putRoute(ctx context.Context, db execer, r *store.Route) error {
	up, err := store.EncodeRouteSpec(r)
	if err != nil {
		return err
	}
	_, err = db.Exec(ctx, `INSERT INTO routes (`+routeColumns+`) VALUES ($1, $2, $3, $4, $5, $6)
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
	r, err := scanRoute(s.pool.QueryRow(ctx, `SELECT `+routeColumns+` FROM routes WHERE model = $1`, model))
	if err != nil {
		return nil, notFound(err, "route", model)
	}
	return r, nil
}

// ListRoutes returns every route ordered by model name.
func (s *DB) ListRoutes(ctx context.Context) ([]*store.Route, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+routeColumns+` FROM routes ORDER BY model COLLATE "C"`)
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
	tag, err := s.pool.Exec(ctx, `DELETE FROM routes WHERE model = $1`, model)
	if err != nil {
		return fmt.Errorf("delete route: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("route %q: %w", model, store.ErrNotFound)
	}
	s.changed(ctx)
	return nil
}

// ReplaceRoutes makes the routes of one source exactly rs, in one
// transaction.
func (s *DB) ReplaceRoutes(ctx context.Context, source string, rs []*store.Route) error {
	models := make([]string, len(rs))
	for i, r := range rs {
		models[i] = r.Model
	}
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `DELETE FROM routes WHERE source = $1 AND NOT (model = ANY($2))`, source, models); err != nil {
			return fmt.Errorf("replace routes: %w", err)
		}
		for _, r := range rs {
			r.Source = source
			if err := putRoute(ctx, tx, r); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	s.changed(ctx)
	return nil
}

func scanRoute(row pgx.Row) (*store.Route, error) {
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
