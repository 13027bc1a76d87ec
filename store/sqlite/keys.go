package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/modelgate/modelgate/store"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

const keyColumns = `id, name, secret_hash, prev_secret_hash, prev_valid_until, scopes, models,
	rpm, tpm, burst, max_concurrent, created_at, expires_at, revoked_at, rotated_at`

// CreateKey stores a new key.
func (s *DB) CreateKey(ctx context.Context, k *store.Key) error {
	scopes, models := store.EncodeKeyLists(k)
	_, err := s.db.ExecContext(ctx, `INSERT INTO api_keys (`+keyColumns+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		k.ID, k.Name, k.SecretHash, k.PrevSecretHash, nullTime(k.PrevValidUntil), scopes, models,
		k.RPM, k.TPM, k.Burst, k.MaxConcurrent, k.CreatedAt.UnixNano(),
		nullTime(k.ExpiresAt), nullTime(k.RevokedAt), nullTime(k.RotatedAt))
	if err != nil {
		if isUniqueViolation(err) {
			return fmt.Errorf("key %q: %w", k.ID, store.ErrConflict)
		}
		return fmt.Errorf("create key: %w", err)
	}
	return nil
}

// GetKey returns one key.
func (s *DB) GetKey(ctx context.Context, id string) (*store.Key, error) {
	k, err := scanKey(s.db.QueryRowContext(ctx, `SELECT `+keyColumns+` FROM api_keys WHERE id = ?`, id))
	if err != nil {
		return nil, notFound(err, "key", id)
	}
	return k, nil
}

// ListKeys returns every key, oldest first.
func (s *DB) ListKeys(ctx context.Context) ([]*store.Key, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+keyColumns+` FROM api_keys ORDER BY created_at, id`)
	if err != nil {
		return nil, fmt.Errorf("list keys: %w", err)
	}
	defer rows.Close()
	var ks []*store.Key
	for rows.Next() {
		k, err := scanKey(rows)
		if err != nil {
			return nil, err
		}
		ks = append(ks, k)
	}
	return ks, rows.Err()
}

// RevokeKey marks a key revoked, keeping the first revocation time.
func (s *DB) RevokeKey(ctx context.Context, id string, at time.Time) (*store.Key, error) {
	res, err := s.db.ExecContext(ctx,
		`UPDATE api_keys SET revoked_at = COALESCE(revoked_at, ?) WHERE id = ?`, at.UnixNano(), id)
	if err != nil {
		return nil, fmt.Errorf("revoke key: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return nil, fmt.Errorf("key %q: %w", id, store.ErrNotFound)
	}
	return s.GetKey(ctx, id)
}

// RotateKey replaces a key's secret hash, refusing revoked keys.
func (s *DB) RotateKey(ctx context.Context, id string, newHash []byte, at, prevValidUntil time.Time) (*store.Key, error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	var revoked sql.NullInt64
	if err := tx.QueryRowContext(ctx, `SELECT revoked_at FROM api_keys WHERE id = ?`, id).Scan(&revoked); err != nil {
		return nil, notFound(err, "key", id)
	}
	if revoked.Valid {
		return nil, fmt.Errorf("key %q is revoked and cannot be rotated: %w", id, store.ErrConflict)
	}
	// With a grace period the old hash moves aside; without one it is gone.
	q, args := `UPDATE api_keys SET prev_secret_hash = NULL, prev_valid_until = NULL,
		secret_hash = ?, rotated_at = ? WHERE id = ?`, []any{newHash, at.UnixNano(), id}
	if !prevValidUntil.IsZero() {
		q, args = `UPDATE api_keys SET prev_secret_hash = secret_hash, prev_valid_until = ?,
			secret_hash = ?, rotated_at = ? WHERE id = ?`, []any{prevValidUntil.UnixNano(), newHash, at.UnixNano(), id}
	}
	if _, err := tx.ExecContext(ctx, q, args...); err != nil {
		return nil, fmt.Errorf("rotate key: %w", err)
	}
	k, err := scanKey(tx.QueryRowContext(ctx, `SELECT `+keyColumns+` FROM api_keys WHERE id = ?`, id))
	if err != nil {
		return nil, err
	}
	return k, tx.Commit()
}

type scanner interface{ Scan(dest ...any) error }

func scanKey(row scanner) (*store.Key, error) {
	var (
		k                                    store.Key
		scopes, models                       string
		created                              int64
		prevUntil, expires, revoked, rotated sql.NullInt64
	)
	if err := row.Scan(&k.ID, &k.Name, &k.SecretHash, &k.PrevSecretHash, &prevUntil, &scopes, &models,
		&k.RPM, &k.TPM, &k.Burst, &k.MaxConcurrent, &created, &expires, &revoked, &rotated); err != nil {
		return nil, err
	}
	if err := store.DecodeKeyLists(&k, scopes, models); err != nil {
		return nil, err
	}
	k.CreatedAt = fromNanos(created)
	k.PrevValidUntil = fromNull(prevUntil)
	k.ExpiresAt = fromNull(expires)
	k.RevokedAt = fromNull(revoked)
	k.RotatedAt = fromNull(rotated)
	return &k, nil
}

// isUniqueViolation reports a primary-key or UNIQUE constraint failure.
func isUniqueViolation(err error) bool {
	var se *sqlite.Error
	if !errors.As(err, &se) {
		return false
	}
	return se.Code() == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY || se.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE
}
