package registrytest

import (
	"context"
	"crypto/elliptic"
	"os"
	"path/filepath"
	"testing"

	"github.com/modelgate/modelgate/policy"
	"github.com/modelgate/modelgate/registry"
	"github.com/modelgate/modelgate/signing"
)

// Signing is a registry over a store with the default policy gate and a
// fresh signing key it trusts, for tests that need versions able to pass
// the gate.
type Signing struct {
	*registry.Registry
	key *signing.SignOptions
}

// NewSigning returns a registry over st that trusts a new key.
func NewSigning(t testing.TB, st registry.Store) *Signing {
	t.Helper()
	dir := t.TempDir()
	privPath, pubPath, err := signing.Keygen(dir, elliptic.P256())
	must(t, err)
	priv, err := signing.LoadPrivateKey(privPath)
	must(t, err)
	trust := &registry.Trust{}
	must(t, trust.Add(pubPath))
	gate, err := policy.New(context.Background(), "")
	must(t, err)
	return &Signing{Registry: &registry.Registry{Store: st, Gate: gate, Policies: gate.Modules, Trust: trust, Actor: "test"},
		key: &signing.SignOptions{Key: priv}}
}

// Staged registers a signed, complete, low-risk version of a model with
// its files under dir, and promotes it to staging: ready for production.
func (r *Signing) Staged(t testing.TB, dir, name, version string) {
	t.Helper()
	path := filepath.Join(dir, name+"-v"+version)
	must(t, os.MkdirAll(path, 0o755))
	must(t, os.WriteFile(filepath.Join(path, "weights.bin"), []byte("weights "+version), 0o644))
	must(t, os.WriteFile(filepath.Join(path, "card.json"), []byte(`{"intended_use":"fraud review","out_of_scope_use":"automated decisions",
		"training_data":"transactions","evaluation_results":"accuracy 0.9","bias_risks_limitations":"EU only",
		"owner_contact":"ml@example.com","license":"apache-2.0"}`), 0o644))
	_, err := signing.Sign(path, *r.key)
	must(t, err)
	_, err = r.RegisterModel(context.Background(), registry.ModelRequest{Name: name, Version: version, Path: path,
		CardPath: filepath.Join(path, "card.json"), RiskTier: registry.RiskLow})
	must(t, err)
	_, err = r.Promote(context.Background(), name+"@"+version, registry.Staging)
	must(t, err)
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
