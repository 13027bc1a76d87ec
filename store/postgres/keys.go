package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/modelgate/modelgate/store"
)

const keyColumns = `id, name, secret_hash, prev_secret_hash, prev_valid_until, scopes, models,
	rpm, tpm, burst, max_concurrent, created_at, expires_at, revoked_at, rotated_at`

// CreateKey stores a new key.
func (s *DB) CreateKey(ctx context.Context, k *store.Key) error {
	scopes, models := store.EncodeKeyLists(k)
	_, err := s.pool.Exec(ctx, `INSERT INTO api_keys (`+keyColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)`,
		k.ID, k.Name, k.SecretHash, k.PrevSecretHash, nullTime(k.PrevValidUntil), scopes, models,
		k.RPM, k.TPM, k.Burst, k.MaxConcurrent, k.CreatedAt.UnixNano(),
		nullTime(k.ExpiresAt), nullTime(k.RevokedAt), nullTime(k.RotatedAt))
	if err != nil {
		if isUniqueViolation(err) {
			return fmt.Errorf("key %q: %w", k.ID, store.ErrConflict)
		}
		return fmt.Errorf("create key: %w", err)
	}
	s.changed(ctx)
	return nil
}

// GetKey returns one key.
func (s *DB) GetKey(ctx context.Context, id string) (*store.Key, error) {
	k, err := scanKey(s.pool.QueryRow(ctx, `SELECT `+keyColumns+` FROM api_keys WHERE id = $1`, id))
	if err != nil {
		return nil, notFound(err, "key", id)
	}
	return k, nil
}

// ListKeys returns every key, oldest first.
func (s *DB) ListKeys(ctx context.Context) ([]*store.Key, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+keyColumns+` FROM api_keys ORDER BY created_at, id COLLATE "C"`)
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
	k, err := scanKey(s.pool.QueryRow(ctx, `UPDATE api_keys SET revoked_at = COALESCE(revoked_at, $1) WHERE id = $2
		RETURNING `+keyColumns, at.UnixNano(), id))
	if err != nil {
		return nil, notFound(err, "key", id)
	}
	s.changed(ctx)
	return k, nil
}

// RotateKey replaces a key's secret hash, refusing revoked keys. The row
// is locked for the transaction, so a concurrent revocation either comes
// first (and the rotation is refused) or after.
func (s *DB) RotateKey(ctx context.Context, id string, newHash []byte, at, prevValidUntil time.Time) (*store.Key, error) {
	var k *store.Key
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var revoked *int64
		if err := tx.QueryRow(ctx, `SELECT revoked_at FROM api_keys WHERE id = $1 FOR UPDATE`, id).Scan(&revoked); err != nil {
			return notFound(err, "key", id)
		}
		if revoked != nil {
			return fmt.Errorf("key %q is revoked and cannot be rotated: %w", id, store.ErrConflict)
		}
		q, args := `UPDATE api_keys SET prev_secret_hash = NULL, prev_valid_until = NULL,
			secret_hash = $1, rotated_at = $2 WHERE id = $3 RETURNING `+keyColumns, []any{newHash, at.UnixNano(), id}
		if !prevValidUntil.IsZero() {
			q, args = `UPDATE api_keys SET prev_secret_hash = secret_hash, prev_valid_until = $1,
				secret_hash = $2, rotated_at = $3 WHERE id = $4 RETURNING `+keyColumns, []any{prevValidUntil.UnixNano(), newHash, at.UnixNano(), id}
		}
		var err error
		k, err = scanKey(tx.QueryRow(ctx, q, args...))
		return err
	})
	if err != nil {
		return nil, err
	}
	s.changed(ctx)
	return k, nil
}

func scanKey(row pgx.Row) (*store.Key, error) {
	var (
		k                                    store.Key
		scopes, models                       string
		created                              int64
		prevUntil, expires, revoked, rotated *int64
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
