// Package store defines what modelgate persists and the interfaces a storage
// backend implements. Backends live in subpackages (store/sqlite,
// store/postgres) and must pass the conformance suite in store/storetest.
//
// The types here are plain records: the packages that enforce policy (access,
// gateway) interpret them.
package store

import (
	"context"
	"errors"
	"time"
)

// ErrNotFound is returned when a record does not exist.
var ErrNotFound = errors.New("not found")

// ErrConflict is returned when a record cannot be created or changed because
// of the state of another record (a duplicate id, a revoked key).
var ErrConflict = errors.New("conflict")

// Store is the storage a gateway needs.
type Store interface {
	KeyStore
	RouteStore
	IPRuleStore

	// Generation returns a number that changes whenever a key, route or IP
	// rule changes, whether the change was made by this process or by
	// another one sharing the same storage. Callers use it to invalidate
	// caches; only values from the same Store are comparable.
	Generation(ctx context.Context) (uint64, error)

	// Ping reports whether the storage is reachable and usable.
	Ping(ctx context.Context) error

	Close() error
}

// KeyStore stores API keys. Secrets are never stored, only their hashes.
type KeyStore interface {
	// CreateKey stores a new key. It returns ErrConflict if the id exists.
	CreateKey(ctx context.Context, k *Key) error
	// GetKey returns the key with the given id or ErrNotFound.
	GetKey(ctx context.Context, id string) (*Key, error)
	// ListKeys returns every key, revoked ones included, oldest first.
	ListKeys(ctx context.Context) ([]*Key, error)
	// RevokeKey marks a key revoked at the given time. Revoking a revoked
	// key keeps the first revocation time and is not an error.
	RevokeKey(ctx context.Context, id string, at time.Time) (*Key, error)
	// RotateKey replaces a key's secret hash. The previous hash stays valid
	// until prevValidUntil (zero: not at all). It returns ErrConflict if the
	// key is revoked: a rotation must never bring a revoked key back.
	RotateKey(ctx context.Context, id string, newHash []byte, at, prevValidUntil time.Time) (*Key, error)
}

// RouteStore stores the routes from public model names to upstreams.
type RouteStore interface {
	// PutRoute creates or replaces the route for r.Model.
	PutRoute(ctx context.Context, r *Route) error
	// GetRoute returns the route for a public model name or ErrNotFound.
	GetRoute(ctx context.Context, model string) (*Route, error)
	// ListRoutes returns every route ordered by model name.
	ListRoutes(ctx context.Context) ([]*Route, error)
	// DeleteRoute removes a route or returns ErrNotFound.
	DeleteRoute(ctx context.Context, model string) error
	// ReplaceRoutes makes the routes whose Source is source exactly rs, in
	// one transaction: routes of that source not in rs are deleted, and a
	// route in rs replaces any route of the same model, whatever its source.
	ReplaceRoutes(ctx context.Context, source string, rs []*Route) error
}

// IPRuleStore stores IP allow and deny rules.
type IPRuleStore interface {
	// CreateIPRule stores a rule; the store assigns r.ID and r.CreatedAt
	// when they are empty.
	CreateIPRule(ctx context.Context, r *IPRule) error
	// ListIPRules returns every rule, oldest first.
	ListIPRules(ctx context.Context) ([]*IPRule, error)
	// DeleteIPRule removes a rule or returns ErrNotFound.
	DeleteIPRule(ctx context.Context, id string) error
}
