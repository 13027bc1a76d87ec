package kri

import (
	"context"
	"fmt"
	"time"

	"github.com/modelgate/modelgate/audit"
	"github.com/modelgate/modelgate/config"
	"github.com/modelgate/modelgate/inventory"
	"github.com/modelgate/modelgate/registry"
	"github.com/modelgate/modelgate/store"
)

// Sources are where the evidence is.
type Sources struct {
	Audit    store.AuditStore
	Registry registry.Store // nil: no registry
	// Routes, when set, are the gateway's routes (the store's); with
	// Config they say which models are behind guards.
	Routes []*store.Route
	Config *config.Config
	Now    time.Time
	Since  time.Time
	Period time.Duration
	Costs  Costs
}

// actionSnapshot is the inventory's snapshot event.
const actionSnapshot = "inventory.snapshot"

// Gather reads the evidence and computes the report. The audit log is
// read from Since (and, for the times of the events alerts name, from a
// day before it).
func Gather(ctx context.Context, src Sources) (*Report, error) {
	if src.Now.IsZero() {
		src.Now = time.Now()
	}
	in := Inputs{Now: src.Now, Since: src.Since, Period: src.Period, Costs: src.Costs}
	var missing []string
	if src.Registry != nil {
		models, err := src.Registry.ListModels(ctx, "")
		if err != nil {
			return nil, fmt.Errorf("registry: %w", err)
		}
		in.Models = models
		if in.Models == nil {
			in.Models = []*registry.Model{}
		}
	} else {
		missing = append(missing, "model registry")
	}
	if src.Config != nil {
		in.Guarded = map[string]bool{}
		routes := src.Routes
		if routes == nil {
			routes = src.Config.Routes
		}
		for _, r := range routes {
			input, output := src.Config.RouteGuards(r)
			name := r.Model
			if r.Registry != "" {
				name = r.Registry
			}
			in.Guarded[name] = in.Guarded[name] || len(input) > 0 && len(output) > 0
		}
	} else {
		missing = append(missing, "gateway configuration (which routes have guards)")
	}
	inv, err := LatestSnapshot(ctx, src.Audit)
	if err != nil {
		return nil, err
	}
	if inv == nil {
		missing = append(missing, "inventory snapshot (modelgate inventory snapshot)")
	}
	in.Inventory = inv
	if in.Period <= 0 {
		in.Period = 24 * time.Hour
	}
	ev := NewEvents(in.Since, in.Period)
	from := time.Time{}
	if !in.Since.IsZero() {
		from = in.Since.Add(-24 * time.Hour)
	}
	err = audit.Query(ctx, src.Audit, audit.Filter{Since: from}, func(e *audit.Event, _ *store.AuditLeaf) error {
		ev.Add(e)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("audit log: %w", err)
	}
	r := Compute(ev, in)
	r.Missing = missing
	return r, nil
}

// LatestSnapshot reads the newest inventory snapshot in the audit log,
// checked against the digest the log committed to; nil when there is
// none, or when its contents were erased.
func LatestSnapshot(ctx context.Context, st store.AuditStore) (*inventory.Inventory, error) {
	var inv *inventory.Inventory
	err := audit.Query(ctx, st, audit.Filter{Action: actionSnapshot, WithPayloads: true, Descending: true, Limit: 1}, func(e *audit.Event, l *store.AuditLeaf) error {
		data, err := audit.StoredOutput(e, l)
		if err != nil || data == nil { // nil: erased, its digest remains
			if err != nil {
				err = fmt.Errorf("inventory snapshot %s: %w", e.Resource.ID, err)
			}
			return err
		}
		if inv, err = inventory.DecodeSnapshot(data); err != nil {
			return fmt.Errorf("inventory snapshot %s: %w", e.Resource.ID, err)
		}
		return nil
	})
	return inv, err
}
