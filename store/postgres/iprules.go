package postgres

import (
	"context"
	"fmt"

	"github.com/modelgate/modelgate/store"
)

// CreateIPRule stores a rule, assigning its id and time when empty.
func (s *DB) CreateIPRule(ctx context.Context, r *store.IPRule) error {
	store.FillIPRule(r)
	_, err := s.pool.Exec(ctx, `INSERT INTO ip_rules (id, cidr, action, key_id, comment, created_at)
		VALUES ($1, $2, $3, $4, $5, $6)`, r.ID, r.CIDR, r.Action, r.KeyID, r.Comment, r.CreatedAt.UnixNano())
	if err != nil {
		if isUniqueViolation(err) {
			return fmt.Errorf("ip rule %q: %w", r.ID, store.ErrConflict)
		}
		return fmt.Errorf("create ip rule: %w", err)
	}
	s.changed(ctx)
	return nil
}

// ListIPRules returns every rule, oldest first.
func (s *DB) ListIPRules(ctx context.Context) ([]*store.IPRule, error) {
	rows, err := s.pool.Query(ctx, `SELECT id, cidr, action, key_id, comment, created_at FROM ip_rules ORDER BY created_at, id COLLATE "C"`)
	if err != nil {
		return nil, fmt.Errorf("list ip rules: %w", err)
	}
	defer rows.Close()
	var rs []*store.IPRule
	for rows.Next() {
		var (
			r       store.IPRule
			created int64
		)
		if err := rows.Scan(&r.ID, &r.CIDR, &r.Action, &r.KeyID, &r.Comment, &created); err != nil {
			return nil, err
		}
		r.CreatedAt = fromNanos(created)
		rs = append(rs, &r)
	}
	return rs, rows.Err()
}

// DeleteIPRule removes a rule.
func (s *DB) DeleteIPRule(ctx context.Context, id string) error {
	tag, err := s.pool.Exec(ctx, `DELETE FROM ip_rules WHERE id = $1`, id)
	if err != nil {
		return fmt.Errorf("delete ip rule: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("ip rule %q: %w", id, store.ErrNotFound)
	}
	s.changed(ctx)
	return nil
}
