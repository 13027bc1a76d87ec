package sqlite

import (
	"context"
	"fmt"

	"github.com/modelgate/modelgate/store"
)

// CreateIPRule stores a rule, assigning its id and time when empty.
func (s *DB) CreateIPRule(ctx context.Context, r *store.IPRule) error {
	store.FillIPRule(r)
	_, err := s.db.ExecContext(ctx, `INSERT INTO ip_rules (id, cidr, action, key_id, comment, created_at)
		VALUES (?, ?, ?, ?, ?, ?)`, r.ID, r.CIDR, r.Action, r.KeyID, r.Comment, r.CreatedAt.UnixNano())
	if err != nil {
		if isUniqueViolation(err) {
			return fmt.Errorf("ip rule %q: %w", r.ID, store.ErrConflict)
		}
		return fmt.Errorf("create ip rule: %w", err)
	}
	return nil
}

// ListIPRules returns every rule, oldest first.
func (s *DB) ListIPRules(ctx context.Context) ([]*store.IPRule, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT id, cidr, action, key_id, comment, created_at FROM ip_rules ORDER BY created_at, id`)
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
	res, err := s.db.ExecContext(ctx, `DELETE FROM ip_rules WHERE id = ?`, id)
	if err != nil {
		return fmt.Errorf("delete ip rule: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("ip rule %q: %w", id, store.ErrNotFound)
	}
	return nil
}
