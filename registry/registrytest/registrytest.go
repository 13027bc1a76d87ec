// Package registrytest is the conformance suite for registry.Store
// backends (store/sqlite, store/postgres).
package registrytest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/modelgate/modelgate/registry"
)

// Run runs every conformance test; open returns an empty store.
func Run(t *testing.T, open func(t *testing.T) registry.Store) {
	t.Run("Models", func(t *testing.T) { testModels(t, open(t)) })
	t.Run("StaleUpdate", func(t *testing.T) { testStale(t, open(t)) })
	t.Run("Datasets", func(t *testing.T) { testDatasets(t, open(t)) })
	t.Run("History", func(t *testing.T) { testHistory(t, open(t)) })
}

func at(sec int64) time.Time { return time.Unix(1_790_000_000+sec, 0).UTC() }

func model(name, version string, sec int64) *registry.Model {
	return &registry.Model{Name: name, Version: version, Path: "/m/" + name + version, Stage: registry.Candidate,
		RiskTier: registry.RiskHigh, Metrics: map[string]float64{"accuracy": 0.9},
		Manifest:  registry.Manifest{Digest: "abc", Files: []registry.File{{Name: "w.bin", Size: 3, SHA256: "00"}}},
		Signature: registry.Signature{Signed: true, Valid: true}, CreatedAt: at(sec), UpdatedAt: at(sec)}
}

func ev(name, version, action string, sec int64) registry.Event {
	return registry.Event{Name: name, Version: version, Action: action, To: registry.Candidate, At: at(sec)}
}

func testModels(t *testing.T, s registry.Store) {
	ctx := context.Background()
	if _, err := s.GetModel(ctx, "fraud", "1"); !errors.Is(err, registry.ErrNotFound) {
		t.Fatalf("get from an empty store: %v", err)
	}
	for i, v := range []string{"2", "1", "10"} {
		if err := s.CreateModel(ctx, model("fraud", v, int64(i)), ev("fraud", v, registry.ActionRegister, int64(i))); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.CreateModel(ctx, model("other", "1", 5), ev("other", "1", registry.ActionRegister, 5)); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateModel(ctx, model("fraud", "1", 9), ev("fraud", "1", registry.ActionRegister, 9)); !errors.Is(err, registry.ErrExists) {
		t.Fatalf("duplicate: %v", err)
	}
	m, err := s.GetModel(ctx, "fraud", "1")
	if err != nil || m.Metrics["accuracy"] != 0.9 || m.Manifest.Files[0].SHA256 != "00" || !m.CreatedAt.Equal(at(1)) {
		t.Fatalf("get: %+v %v", m, err)
	}
	ms, err := s.ListModels(ctx, "fraud")
	if err != nil || len(ms) != 3 || ms[0].Version != "2" || ms[2].Version != "10" {
		t.Fatalf("list one model, oldest first: %v %v", versions(ms), err)
	}
	if all, _ := s.ListModels(ctx, ""); len(all) != 4 {
		t.Fatalf("list all: %d", len(all))
	}
}

func versions(ms []*registry.Model) []string {
	var out []string
	for _, m := range ms {
		out = append(out, m.Ref())
	}
	return out
}

func testStale(t *testing.T, s registry.Store) {
	ctx := context.Background()
	m := model("fraud", "1", 0)
	if err := s.CreateModel(ctx, m, ev("fraud", "1", registry.ActionRegister, 0)); err != nil {
		t.Fatal(err)
	}
	m.Stage = registry.Staging
	if err := s.UpdateModels(ctx, []registry.Update{{Model: m, Was: registry.Candidate}}, []registry.Event{ev("fraud", "1", registry.ActionPromote, 1)}); err != nil {
		t.Fatal(err)
	}
	// A second writer that read the version as a candidate loses, and
	// nothing of its transaction is kept.
	other := model("fraud", "1", 0)
	other.Stage = registry.Retired
	err := s.UpdateModels(ctx, []registry.Update{{Model: other, Was: registry.Candidate}}, []registry.Event{ev("fraud", "1", "lost", 2)})
	if !errors.Is(err, registry.ErrStale) {
		t.Fatalf("stale update: %v", err)
	}
	if got, _ := s.GetModel(ctx, "fraud", "1"); got.Stage != registry.Staging {
		t.Fatalf("stage %s after a stale update", got.Stage)
	}
	hist, _ := s.History(ctx, "fraud")
	for _, e := range hist {
		if e.Action == "lost" {
			t.Fatal("a refused update's event was kept")
		}
	}
}

func testDatasets(t *testing.T, s registry.Store) {
	ctx := context.Background()
	d := &registry.Dataset{Name: "tx", Version: "1", Path: "/d", Contract: registry.ContractFailed, ContractFailed: []string{"amount: minimum"}, CreatedAt: at(0)}
	if err := s.CreateDataset(ctx, d, ev("tx", "1", registry.ActionDatasetRegister, 0)); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateDataset(ctx, d, ev("tx", "1", registry.ActionDatasetRegister, 0)); !errors.Is(err, registry.ErrExists) {
		t.Fatalf("duplicate dataset: %v", err)
	}
	got, err := s.GetDataset(ctx, "tx", "1")
	if err != nil || got.Contract != registry.ContractFailed || got.ContractFailed[0] != "amount: minimum" {
		t.Fatalf("get dataset: %+v %v", got, err)
	}
	if _, err := s.GetDataset(ctx, "tx", "2"); !errors.Is(err, registry.ErrNotFound) {
		t.Fatalf("missing dataset: %v", err)
	}
	if all, err := s.ListDatasets(ctx); err != nil || len(all) != 1 {
		t.Fatalf("list datasets: %d %v", len(all), err)
	}
}

func testHistory(t *testing.T, s registry.Store) {
	ctx := context.Background()
	for i, v := range []string{"1", "2"} {
		if err := s.CreateModel(ctx, model("fraud", v, int64(i)), ev("fraud", v, registry.ActionRegister, int64(i))); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.AddEvent(ctx, registry.Event{Action: registry.ActionPolicy, Version: "digest", At: at(5)}); err != nil {
		t.Fatal(err)
	}
	h, err := s.History(ctx, "fraud")
	if err != nil || len(h) != 2 || h[0].Version != "1" || h[1].Version != "2" {
		t.Fatalf("history: %+v %v", h, err)
	}
	all, _ := s.History(ctx, "")
	if len(all) != 3 || all[2].Action != registry.ActionPolicy {
		t.Fatalf("all history: %+v", all)
	}
}
