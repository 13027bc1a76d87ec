package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/modelgate/modelgate/registry"
)

var _ registry.Store = (*DB)(nil)

// CreateModel stores a new model version and its first event.
func (s *DB) CreateModel(ctx context.Context, m *registry.Model, ev registry.Event) error {
	rec, err := json.Marshal(m)
	if err != nil {
		return err
	}
	return s.inTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO registry_models (name, version, stage, record, created_at) VALUES (?, ?, ?, ?, ?)`,
			m.Name, m.Version, string(m.Stage), string(rec), m.CreatedAt.UnixNano())
		if isUniqueViolation(err) {
			return fmt.Errorf("model %s: %w", m.Ref(), registry.ErrExists)
		}
		if err != nil {
			return fmt.Errorf("register model %s: %w", m.Ref(), err)
		}
		return insertEvents(ctx, tx, []registry.Event{ev})
	})
}

// GetModel returns one model version.
func (s *DB) GetModel(ctx context.Context, name, version string) (*registry.Model, error) {
	var rec string
	err := s.db.QueryRowContext(ctx, `SELECT record FROM registry_models WHERE name = ? AND version = ?`, name, version).Scan(&rec)
	if errors.Is(err, sql.ErrNoRows) {
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
	q, args := `SELECT record FROM registry_models ORDER BY created_at, name, version`, []any{}
	if name != "" {
		q, args = `SELECT record FROM registry_models WHERE name = ? ORDER BY created_at, version`, []any{name}
	}
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("list models: %w", err)
	}
	defer rows.Close()
	var out []*registry.Model
	for rows.Next() {
		var rec string
		if err := rows.Scan(&rec); err != nil {
			return nil, err
		}
		m := &registry.Model{}
		if err := json.Unmarshal([]byte(rec), m); err != nil {
			return nil, fmt.Errorf("list models: a stored record is corrupt: %w", err)
		}
		out = append(out, m)
	}
	return out, rows.Err()
}

// UpdateModels replaces versions that are still in the stage each update
// expects, and records events, in one transaction.
func (s *DB) UpdateModels(ctx context.Context, updates []registry.Update, events []registry.Event) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		for _, u := range updates {
			rec, err := json.Marshal(u.Model)
			if err != nil {
				return err
			}
			res, err := tx.ExecContext(ctx, `UPDATE registry_models SET stage = ?, record = ? WHERE name = ? AND version = ? AND stage = ?`,
				string(u.Model.Stage), string(rec), u.Model.Name, u.Model.Version, string(u.Was))
			if err != nil {
				return fmt.Errorf("update model %s: %w", u.Model.Ref(), err)
			}
			if n, _ := res.RowsAffected(); n != 1 {
				return fmt.Errorf("model %s: %w", u.Model.Ref(), registry.ErrStale)
			}
		}
		return insertEvents(ctx, tx, events)
	})
}

func insertEvents(ctx context.Context, tx *sql.Tx, events []registry.Event) error {
	for _, e := range events {
		b, err := json.Marshal(e)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO registry_events (name, version, event) VALUES (?, ?, ?)`, e.Name, e.Version, string(b)); err != nil {
			return fmt.Errorf("record registry event: %w", err)
		}
	}
	return nil
}

// AddEvent records an event on its own.
func (s *DB) AddEvent(ctx context.Context, ev registry.Event) error {
	return s.inTx(ctx, func(tx *sql.Tx) error { return insertEvents(ctx, tx, []registry.Event{ev}) })
}

// History returns the events of a model, or of every model and dataset,
// oldest first.
func (s *DB) History(ctx context.Context, name string) ([]registry.Event, error) {
	q, args := `SELECT event FROM registry_events ORDER BY id`, []any{}
	if name != "" {
		q, args = `SELECT event FROM registry_events WHERE name = ? ORDER BY id`, []any{name}
	}
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("read history: %w", err)
	}
	defer rows.Close()
	var out []registry.Event
	for rows.Next() {
		var b string
		var e registry.Event
		if err := rows.Scan(&b); err != nil {
			return nil, err
		}
		if err := json.Unmarshal([]byte(b), &e); err != nil {
			return nil, fmt.Errorf("read history: a stored event is corrupt: %w", err)
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// CreateDataset stores a dataset version and its event.
func (s *DB) CreateDataset(ctx context.Context, d *registry.Dataset, ev registry.Event) error {
	rec, err := json.Marshal(d)
	if err != nil {
		return err
	}
	return s.inTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO registry_datasets (name, version, record, created_at) VALUES (?, ?, ?, ?)`,
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
	err := s.db.QueryRowContext(ctx, `SELECT record FROM registry_datasets WHERE name = ? AND version = ?`, name, version).Scan(&rec)
	if errors.Is(err, sql.ErrNoRows) {
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
	rows, err := s.db.QueryContext(ctx, `SELECT record FROM registry_datasets ORDER BY created_at, name, version`)
	if err != nil {
		return nil, fmt.Errorf("list datasets: %w", err)
	}
	defer rows.Close()
	var out []*registry.Dataset
	for rows.Next() {
		var rec string
		if err := rows.Scan(&rec); err != nil {
			return nil, err
		}
		d := &registry.Dataset{}
		if err := json.Unmarshal([]byte(rec), d); err != nil {
			return nil, fmt.Errorf("list datasets: a stored record is corrupt: %w", err)
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

// inTx runs fn in a write transaction, committing when it returns nil.
func (s *DB) inTx(ctx context.Context, fn func(*sql.Tx) error) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	return tx.Commit()
}
