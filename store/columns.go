package store

import (
	"encoding/json"
	"fmt"
)

// The encodings of the columns every SQL backend stores as text, shared so
// that a database written by one backend reads the same in another.

// routeSpec is what a route's upstream column holds: everything about the
// route but its name, protocol, source and times.
type routeSpec struct {
	Upstream
	Capture  *Capture        `json:"capture,omitempty"`
	Guards   string          `json:"guards,omitempty"`
	Registry string          `json:"registry,omitempty"`
	Outputs  *OutputControls `json:"outputs,omitempty"`
	MaxBatch int             `json:"max_batch,omitempty"`
}

// EncodeRouteSpec returns the upstream column of a route.
func EncodeRouteSpec(r *Route) (string, error) {
	b, err := json.Marshal(routeSpec{Upstream: r.Upstream, Capture: r.Capture, Guards: r.Guards, Registry: r.Registry, Outputs: r.Outputs, MaxBatch: r.MaxBatch})
	if err != nil {
		return "", fmt.Errorf("route %q: %w", r.Model, err)
	}
	return string(b), nil
}

// DecodeRouteSpec fills r from its upstream column.
func DecodeRouteSpec(r *Route, col string) error {
	var spec routeSpec
	if err := json.Unmarshal([]byte(col), &spec); err != nil {
		return fmt.Errorf("route %q: corrupt upstream: %w", r.Model, err)
	}
	r.Upstream, r.Capture, r.Guards, r.Registry, r.Outputs, r.MaxBatch = spec.Upstream, spec.Capture, spec.Guards, spec.Registry, spec.Outputs, spec.MaxBatch
	return nil
}

// EncodeKeyLists returns a key's scopes and models columns (JSON arrays,
// never null).
func EncodeKeyLists(k *Key) (scopes, models string) {
	s, _ := json.Marshal(nonNil(k.Scopes))
	m, _ := json.Marshal(nonNil(k.Models))
	return string(s), string(m)
}

// DecodeKeyLists fills a key's scopes and models from their columns.
func DecodeKeyLists(k *Key, scopes, models string) error {
	if err := json.Unmarshal([]byte(scopes), &k.Scopes); err != nil {
		return fmt.Errorf("key %q: corrupt scopes: %w", k.ID, err)
	}
	if err := json.Unmarshal([]byte(models), &k.Models); err != nil {
		return fmt.Errorf("key %q: corrupt models: %w", k.ID, err)
	}
	return nil
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
