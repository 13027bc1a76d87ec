package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/modelgate/modelgate/registry"
)

var _ registry.Store = (*DB)(nil)

// CreateModel stores a new model version and its first event.
func (s *DB) CreateModel(ctx context.Context, m *registry.Model, ev registry.Event) error {
	rec, err := json.Marshal(m)
	if err != nil {
		return err
	}
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO registry_models (name, version, stage, record, created_at) VALUES ($1, $2, $3, $4, $5)`,
			m.Name, m.Version, string(m.Stage), string(rec), m.CreatedAt.UnixNano())
		if isUniqueViolation(err) {
			return fmt.Errorf("model %s: %w", m.Ref(), registry.ErrExists)
		}
		if err != nil {
			return fmt.Errorf("register model %s: %w", m.Ref(), err)
		}
		return insertEvents(ctx, tx, []registry.Event{ev})
	})
	if err == nil {
		s.changed(ctx)
	}
	return err
}

// GetModel returns one model version.
func (s *DB) GetModel(ctx context.Context, name, version string) (*registry.Model, error) {
	var rec string
	err := s.pool.QueryRow(ctx, `SELECT record FROM registry_models WHERE name = $1 AND version = $2`, name, version).Scan(&rec)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, registry.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("read model %s@%s: %w", name, version, err)
	}
	m := &registry.Model{}
	if err := json.Unmarshal([]byte(rec), m); err != nil {
		return nil, fmt.Errorf("model %s@%s: stored record is corrupt: %w", name, version, err)
	}
	return m, nil
}

// ListModels returns the versions of one model, or of all, oldest first.
func (s *DB) ListModels(ctx context.Context, name string) ([]*registry.Model, error) {
	q, args := `SELECT record FROM registry_models ORDER BY created_at, name COLLATE "C", version COLLATE "C"`, []any{}
	if name != "" {
		q, args = `SELECT record FROM registry_models WHERE name = $1 ORDER BY created_at, version COLLATE "C"`, []any{name}
	}
	return listJSON[registry.Model](ctx, s, q, args, "models")
}

// UpdateModels replaces versions still in the stage each update expects,
// and records events, in one transaction.
func (s *DB) UpdateModels(ctx context.Context, updates []registry.Update, events []registry.Event) error {
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		for _, u := range updates {
			rec, err := json.Marshal(u.Model)
			if err != nil {
				return err
			}
			tag, err := tx.Exec(ctx, `UPDATE registry_models SET stage = $1, record = $2 WHERE name = $3 AND version = $4 AND stage = $5`,
				string(u.Model.Stage), string(rec), u.Model.Name, u.Model.Version, string(u.Was))
			if err != nil {
				return fmt.Errorf("update model %s: %w", u.Model.Ref(), err)
			}
			if tag.RowsAffected() != 1 {
				return fmt.Errorf("model %s: %w", u.Model.Ref(), registry.ErrStale)
			}
		}
		return insertEvents(ctx, tx, events)
	})
	if err == nil {
		s.changed(ctx)
	}
	return err
}

func insertEvents(ctx context.Context, tx pgx.Tx, events []registry.Event) error {
	for _, e := range events {
		b, err := json.Marshal(e)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO registry_events (name, version, event) VALUES ($1, $2, $3)`, e.Name, e.Version, string(b)); err != nil {
			return fmt.Errorf("record registry event: %w", err)
		}
	}
	return nil
}

// AddEvent records an event on its own.
func (s *DB) AddEvent(ctx context.Context, ev registry.Event) error {
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error { return insertEvents(ctx, tx, []registry.Event{ev}) })
}

// History returns the events of a model, or of all, oldest first.
func (s *DB) History(ctx context.Context, name string) ([]registry.Event, error) {
	q, args := `SELECT event FROM registry_events ORDER BY id`, []any{}
	if name != "" {
		q, args = `SELECT event FROM registry_events WHERE name = $1 ORDER BY id`, []any{name}
	}
	evs, err := listJSON[registry.Event](ctx, s, q, args, "history")
	if err != nil {
		return nil, err
	}
	out := make([]registry.Event, len(evs))
	for i, e := range evs {
		out[i] = *e
	}
	return out, nil
}

// CreateDataset stores a dataset version and its event.
func (s *DB) CreateDataset(ctx context.Context, d *registry.Dataset, ev registry.Event) error {
	rec, err := json.Marshal(d)
	if err != nil {
		return err
	}
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO registry_datasets (name, version, record, created_at) VALUES ($1, $2, $3, $4)`,
			d.Name, d.Version, string(rec), d.CreatedAt.UnixNano())
		if isUniqueViolation(err) {
			return fmt.Errorf("dataset %s: %w", d.Ref(), registry.ErrExists)
		}
		if err != nil {
			return fmt.Errorf("register dataset %s: %w", d.Ref(), err)
		}
		return insertEvents(ctx, tx, []registry.Event{ev})
	})
}

// GetDataset returns one dataset version.
func (s *DB) GetDataset(ctx context.Context, name, version string) (*registry.Dataset, error) {
	var rec string
	err := s.pool.QueryRow(ctx, `SELECT record FROM registry_datasets WHERE name = $1 AND version = $2`, name, version).Scan(&rec)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, registry.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("read dataset %s@%s: %w", name, version, err)
	}
	d := &registry.Dataset{}
	if err := json.Unmarshal([]byte(rec), d); err != nil {
		return nil, fmt.Errorf("dataset %s@%s: stored record is corrupt: %w", name, version, err)
	}
	return d, nil
}

// ListDatasets returns every dataset version, oldest first.
func (s *DB) ListDatasets(ctx context.Context) ([]*registry.Dataset, error) {
	return listJSON[registry.Dataset](ctx, s, `SELECT record FROM registry_datasets ORDER BY created_at, name COLLATE "C", version COLLATE "C"`, nil, "datasets")
}

// listJSON reads one JSON record per row.
func listJSON[T any](ctx context.Context, s *DB, q string, args []any, what string) ([]*T, error) {
	rows, err := s.pool.Query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", what, err)
	}
	defer rows.Close()
	var out []*T
	for rows.Next() {
		var rec string
		if err := rows.Scan(&rec); err != nil {
			return nil, err
		}
		v := new(T)
		if err := json.Unmarshal([]byte(rec), v); err != nil {
			return nil, fmt.Errorf("list %s: a stored record is corrupt: %w", what, err)
		}
		out = append(out, v)
	}
	return out, rows.Err()
}
