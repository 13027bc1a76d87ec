package registry

import (
	"context"
	"errors"
)

// ErrNotFound is returned for a model or dataset version that is not
// registered; ErrExists when registering one that is; ErrStale when a
// version's stage changed under a concurrent update.
var (
	ErrNotFound = errors.New("not registered")
	ErrExists   = errors.New("already registered")
	ErrStale    = errors.New("changed by someone else meanwhile; try again")
)

// Store persists the registry.
type Store interface {
	// CreateModel stores a new version and its register event; ErrExists
	// if the version exists.
	CreateModel(ctx context.Context, m *Model, ev Event) error
	// GetModel returns a version or ErrNotFound.
	GetModel(ctx context.Context, name, version string) (*Model, error)
	// ListModels returns every version of a model, or of every model
	// when name is "", oldest first.
	ListModels(ctx context.Context, name string) ([]*Model, error)
	// UpdateModels replaces the given versions and records events, in one
	// transaction. Each update holds only if the stored version is still
	// in the stage Update.Was says (ErrStale otherwise), so two
	// concurrent promotions cannot both win.
	UpdateModels(ctx context.Context, updates []Update, events []Event) error
	// AddEvent records an event that changes no version (a policy
	// change).
	AddEvent(ctx context.Context, ev Event) error
	// History returns a model's events (every model's when name is ""),
	// oldest first.
	History(ctx context.Context, name string) ([]Event, error)

	// CreateDataset stores a dataset version; ErrExists if it exists.
	CreateDataset(ctx context.Context, d *Dataset, ev Event) error
	// GetDataset returns a dataset version or ErrNotFound.
	GetDataset(ctx context.Context, name, version string) (*Dataset, error)
	// ListDatasets returns every dataset version, oldest first.
	ListDatasets(ctx context.Context) ([]*Dataset, error)
}

// Update replaces a stored version with Model, provided it is still in
// stage Was.
type Update struct {
	Model *Model
	Was   Stage
}
