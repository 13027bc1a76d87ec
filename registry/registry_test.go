package registry_test

import (
	"context"
	"crypto/elliptic"
	"encoding/base64"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/modelgate/modelgate/policy"
	"github.com/modelgate/modelgate/registry"
	"github.com/modelgate/modelgate/signing"
	"github.com/modelgate/modelgate/store/sqlite"
)

// Card is a complete model card with the fairness metrics a high-risk
// model must report.
const Card = `---
license: apache-2.0
model-index:
  - name: fraud-detector
    results:
      - metrics:
          - {type: accuracy, value: 0.94}
          - {type: demographic_parity_difference, value: 0.04}
          - {type: equalized_odds_difference, value: 0.06}
---
# Fraud detector

## Intended Uses
Scoring card transactions for fraud review by analysts.

### Out-of-Scope Use
Automated account closure without human review.

## Training Data
Twelve months of labelled transactions.

## Evaluation Results
Accuracy 0.94 on the 2026 holdout.

## Bias, Risks, and Limitations
Under-represents merchants outside the EU.

## Model Card Contact
ml-platform@example.com
`

type recorder struct{ changes []registry.Change }

func (r *recorder) Record(_ context.Context, c registry.Change) error {
	r.changes = append(r.changes, c)
	return nil
}

type env struct {
	t    *testing.T
	reg  *registry.Registry
	rec  *recorder
	dir  string
	priv string
}

func newEnv(t *testing.T) *env {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	db, err := sqlite.OpenDir(ctx, filepath.Join(dir, "data"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	priv, pub, err := signing.Keygen(filepath.Join(dir, "keys"), elliptic.P256())
	if err != nil {
		t.Fatal(err)
	}
	trust := &registry.Trust{}
	if err := trust.Add(pub); err != nil {
		t.Fatal(err)
	}
	gate, err := policy.New(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	rec := &recorder{}
	reg := &registry.Registry{Store: db, Gate: gate, Policies: gate.Modules, Trust: trust, Recorder: rec, Actor: "cli:test"}
	return &env{t: t, reg: reg, rec: rec, dir: dir, priv: priv}
}

// model writes a small clean model directory, with a card, signed unless
// told otherwise.
func (e *env) model(name string, sign bool) string {
	e.t.Helper()
	dir := filepath.Join(e.dir, "models", name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		e.t.Fatal(err)
	}
	must(e.t, os.WriteFile(filepath.Join(dir, "config.json"), []byte(`{"layers":2,"name":"`+name+`"}`), 0o644))
	must(e.t, os.WriteFile(filepath.Join(dir, "weights.bin"), []byte(strings.Repeat("w", 4096)), 0o644))
	must(e.t, os.WriteFile(filepath.Join(dir, "README.md"), []byte(Card), 0o644))
	if sign {
		e.sign(dir)
	}
	return dir
}

func (e *env) sign(dir string) {
	e.t.Helper()
	k, err := signing.LoadPrivateKey(e.priv)
	if err != nil {
		e.t.Fatal(err)
	}
	if _, err := signing.Sign(dir, signing.SignOptions{Key: k}); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) register(version, dir string, mod func(*registry.ModelRequest)) *registry.Model {
	e.t.Helper()
	req := registry.ModelRequest{Name: "fraud", Version: version, Path: dir, CardPath: filepath.Join(dir, "README.md"),
		RiskTier: "high", ThreatModel: "TM-7"}
	if mod != nil {
		mod(&req)
	}
	m, err := e.reg.RegisterModel(context.Background(), req)
	if err != nil {
		e.t.Fatal(err)
	}
	return m
}

func (e *env) promote(ref string, stages ...registry.Stage) error {
	for _, s := range stages {
		if _, err := e.reg.Promote(context.Background(), ref, s); err != nil {
			return err
		}
	}
	return nil
}

func (e *env) stage(ref string) registry.Stage {
	e.t.Helper()
	name, version, _ := registry.ParseRef(ref)
	m, err := e.reg.Store.GetModel(context.Background(), name, version)
	if err != nil {
		e.t.Fatal(err)
	}
	return m.Stage
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func TestRegister(t *testing.T) {
	e := newEnv(t)
	m := e.register("1", e.model("v1", true), nil)
	if m.Stage != registry.Candidate || !m.Signature.Valid || !m.Scan.Scanned || m.CardScore.Complete != 1 {
		t.Fatalf("registered %+v", m)
	}
	if len(m.Manifest.Files) != 3 || m.Manifest.Digest == "" {
		t.Fatalf("manifest %+v", m.Manifest)
	}
	for _, f := range m.Manifest.Files {
		if f.Name == "model.sig" {
			t.Fatal("the signature is part of the manifest")
		}
		if len(f.SHA256) != 64 || f.Size == 0 {
			t.Fatalf("file %+v", f)
		}
	}
	if m.Metrics["equalized_odds_difference"] != 0.06 {
		t.Fatalf("metrics from the card: %v", m.Metrics)
	}
	if got := e.rec.changes[0]; got.Action != registry.ActionRegister || got.Target != "fraud@1" || got.Details["signature"] != "valid" {
		t.Fatalf("audit change %+v", got)
	}
	if _, err := e.reg.RegisterModel(context.Background(), registry.ModelRequest{Name: "fraud", Version: "1", Path: m.Path}); !errors.Is(err, registry.ErrExists) {
		t.Fatalf("re-register: %v", err)
	}
	for _, bad := range []registry.ModelRequest{
		{Name: "fr/aud", Version: "1", Path: m.Path},
		{Name: "fraud", Version: "../2", Path: m.Path},
		{Name: "fraud", Version: "2", Path: filepath.Join(e.dir, "absent")},
		{Name: "fraud", Version: "2", Path: m.Path, RiskTier: "extreme"},
		{Name: "fraud", Version: "2", Path: m.Path, Datasets: []string{"train@9"}},
	} {
		if _, err := e.reg.RegisterModel(context.Background(), bad); err == nil {
			t.Errorf("registered %+v", bad)
		}
	}
}

func TestStageMachine(t *testing.T) {
	legal := map[[2]registry.Stage]bool{}
	for _, p := range [][2]registry.Stage{
		{"candidate", "staging"}, {"candidate", "retired"}, {"candidate", "quarantined"},
		{"staging", "production"}, {"staging", "candidate"}, {"staging", "retired"}, {"staging", "quarantined"},
		{"production", "retired"}, {"production", "quarantined"},
		{"retired", "production"}, {"retired", "quarantined"},
		{"quarantined", "retired"},
	} {
		legal[p] = true
	}
	all := []registry.Stage{"candidate", "staging", "production", "retired", "quarantined"}
	for _, from := range all {
		for _, to := range all {
			err := registry.CanMove(from, to)
			if legal[[2]registry.Stage{from, to}] != (err == nil) {
				t.Errorf("%s → %s: %v", from, to, err)
			}
		}
	}
	if registry.CanMove("candidate", "deployed") == nil || registry.CanMove("", "staging") == nil {
		t.Error("unknown stages must be refused")
	}

	e := newEnv(t)
	e.register("1", e.model("v1", true), nil)
	err := e.promote("fraud@1", registry.Production)
	if err == nil || !strings.Contains(err.Error(), "cannot move from candidate to production") {
		t.Fatalf("candidate → production: %v", err)
	}
	if last := e.rec.changes[len(e.rec.changes)-1]; last.Outcome != registry.Denied {
		t.Fatalf("a refused transition is not recorded as denied: %+v", last)
	}
	must(t, e.promote("fraud@1", registry.Staging, registry.Production))
	if e.stage("fraud@1") != registry.Production {
		t.Fatal("not in production")
	}
}

func TestGateOnPromotion(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	// Unsigned: the gate refuses, the version stays in staging, and the
	// refusal is in the history and the audit log.
	e.register("1", e.model("unsigned", false), nil)
	must(t, e.promote("fraud@1", registry.Staging))
	err := e.promote("fraud@1", registry.Production)
	var denied *registry.DeniedError
	if !errors.As(err, &denied) || !slices.Contains(denied.Decision.Violations, "the model is not signed") {
		t.Fatalf("unsigned promotion: %v", err)
	}
	if e.stage("fraud@1") != registry.Staging {
		t.Fatal("a denied version moved")
	}
	if last := e.rec.changes[len(e.rec.changes)-1]; last.Outcome != registry.Denied || last.Reason != "gate_denied" {
		t.Fatalf("audit %+v", last)
	}

	// A file changed after registration and signing: the manifest and the
	// signature both catch it.
	dir := e.model("tampered", true)
	e.register("2", dir, nil)
	must(t, e.promote("fraud@2", registry.Staging))
	must(t, os.WriteFile(filepath.Join(dir, "weights.bin"), []byte(strings.Repeat("W", 4096)), 0o644))
	err = e.promote("fraud@2", registry.Production)
	if !errors.As(err, &denied) || !strings.Contains(denied.Decision.Violations[0], "weights.bin was modified") {
		t.Fatalf("tampered promotion: %v", err)
	}
	// A file added after registration, re-signed by an insider: the
	// signature is fine but the registry's manifest is not.
	dir = e.model("added", true)
	e.register("3", dir, nil)
	must(t, e.promote("fraud@3", registry.Staging))
	must(t, os.WriteFile(filepath.Join(dir, "extra.py"), []byte("import os"), 0o644))
	e.sign(dir)
	_, d, err := e.reg.Check(ctx, "fraud@3")
	if err != nil || d.Allow || !strings.Contains(d.Violations[0], "extra.py was added") {
		t.Fatalf("added file: %+v %v", d, err)
	}

	// Unfair for a high-risk model.
	e.register("4", e.model("unfair", true), func(r *registry.ModelRequest) {
		r.Metrics = map[string]float64{"demographic_parity_difference": 0.3}
	})
	must(t, e.promote("fraud@4", registry.Staging))
	if err := e.promote("fraud@4", registry.Production); !errors.As(err, &denied) ||
		!slices.Contains(denied.Decision.Violations, "fairness metric demographic_parity_difference is 0.3, beyond 0.1 for a high-risk model") {
		t.Fatalf("unfair promotion: %v", err)
	}
}

func TestDatasetLineage(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	data := filepath.Join(e.dir, "train.csv")
	must(t, os.WriteFile(data, []byte("id,amount\n1,10\n2,-5\n"), 0o644))
	contract := filepath.Join(e.dir, "contract.yaml")
	must(t, os.WriteFile(contract, []byte(`apiVersion: v3.0.2
kind: DataContract
id: train
schema:
  - name: train
    properties:
      - {name: id, logicalType: integer, required: true}
      - {name: amount, logicalType: number, minimum: 0}
`), 0o644))
	d, err := e.reg.RegisterDataset(ctx, registry.DatasetRequest{Name: "train", Version: "1", Path: data, ContractPath: contract})
	if err != nil {
		t.Fatal(err)
	}
	if d.Contract != registry.ContractFailed || len(d.ContractFailed) == 0 || d.Rows != 2 {
		t.Fatalf("dataset %+v", d)
	}
	e.register("1", e.model("v1", true), func(r *registry.ModelRequest) { r.Datasets = []string{"train@1"} })
	must(t, e.promote("fraud@1", registry.Staging))
	var denied *registry.DeniedError
	if err := e.promote("fraud@1", registry.Production); !errors.As(err, &denied) ||
		!slices.Contains(denied.Decision.Violations, "dataset train@1 fails its data contract (failed)") {
		t.Fatalf("promotion with a failing dataset: %v", err)
	}
}

func TestQuarantineGoldenRollback(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	for _, v := range []string{"1", "2", "3"} {
		e.register(v, e.model("v"+v, true), nil)
		must(t, e.promote("fraud@"+v, registry.Staging, registry.Production))
	}
	// Each promotion retired the one before.
	if e.stage("fraud@1") != registry.Retired || e.stage("fraud@2") != registry.Retired || e.stage("fraud@3") != registry.Production {
		t.Fatal("one production version at a time")
	}
	// No golden version: rollback goes to the previous production one.
	m, err := e.reg.Rollback(ctx, "fraud")
	if err != nil || m.Version != "2" || e.stage("fraud@3") != registry.Retired || e.stage("fraud@2") != registry.Production {
		t.Fatalf("rollback to previous: %v %v", m, err)
	}
	// Golden wins over the previous one.
	if _, err := e.reg.SetGolden(ctx, "fraud@1"); err != nil {
		t.Fatal(err)
	}
	if m, err = e.reg.Rollback(ctx, "fraud"); err != nil || m.Version != "1" {
		t.Fatalf("rollback to golden: %v %v", m, err)
	}
	// Quarantine the production version: it leaves service at once and can
	// only be retired afterwards.
	if _, err := e.reg.Quarantine(ctx, "fraud@1", ""); err == nil {
		t.Fatal("a quarantine without a reason")
	}
	if _, err := e.reg.Quarantine(ctx, "fraud@1", "backdoor trigger reported by red team"); err != nil {
		t.Fatal(err)
	}
	m1, _ := e.reg.Store.GetModel(ctx, "fraud", "1")
	if m1.Stage != registry.Quarantined || m1.Golden || m1.Reason != "backdoor trigger reported by red team" {
		t.Fatalf("quarantined %+v", m1)
	}
	if err := e.promote("fraud@1", registry.Production); err == nil {
		t.Fatal("a quarantined version went back to production")
	}
	if _, err := e.reg.SetGolden(ctx, "fraud@1"); err == nil {
		t.Fatal("a quarantined version became golden")
	}
	// Rollback after the quarantine: the last version that left production
	// and is not quarantined (3 left production last, then 2).
	if m, err = e.reg.Rollback(ctx, "fraud"); err != nil || m.Version != "2" {
		t.Fatalf("rollback after quarantine: %v %v", m, err)
	}
	// A version that was never gated cannot be golden.
	e.register("4", e.model("v4", true), nil)
	if _, err := e.reg.SetGolden(ctx, "fraud@4"); err == nil {
		t.Fatal("an ungated version became golden")
	}
	// Rollback re-gates: the restored version's files are checked again.
	must(t, os.WriteFile(filepath.Join(e.dir, "models", "v3", "weights.bin"), []byte("swapped"), 0o644))
	var denied *registry.DeniedError
	if _, err := e.reg.Rollback(ctx, "fraud"); !errors.As(err, &denied) {
		t.Fatalf("rollback to a tampered version: %v", err)
	}
	if e.stage("fraud@2") != registry.Production {
		t.Fatal("a refused rollback changed production")
	}
	hist, _ := e.reg.Store.History(ctx, "fraud")
	if len(hist) < 15 {
		t.Fatalf("history has %d events", len(hist))
	}
}

func TestStaleUpdate(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.register("1", e.model("v1", true), nil)
	m, _ := e.reg.Store.GetModel(ctx, "fraud", "1")
	must(t, e.promote("fraud@1", registry.Staging))
	m.Stage = registry.Retired
	err := e.reg.Store.UpdateModels(ctx, []registry.Update{{Model: m, Was: registry.Candidate}}, nil)
	if !errors.Is(err, registry.ErrStale) {
		t.Fatalf("stale update: %v", err)
	}
}

// TestPoliciesCannotWaiveIntegrity: a policy set that allows everything
// still cannot promote a model whose files changed since registration.
func TestPoliciesCannotWaiveIntegrity(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	dir := t.TempDir()
	must(t, os.WriteFile(filepath.Join(dir, "gate.rego"), []byte("package modelgate.gate\n\nimport rego.v1\n\ndeny contains x if { false; x := 1 }\n"), 0o644))
	open, err := policy.New(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	e.reg.Gate = open
	model := e.model("v1", false)
	e.register("1", model, nil)
	must(t, e.promote("fraud@1", registry.Staging))
	_, d, err := e.reg.Check(ctx, "fraud@1")
	if err != nil || !d.Allow {
		t.Fatalf("the open policy set denies: %+v %v", d, err)
	}
	must(t, os.Remove(filepath.Join(model, "config.json")))
	var denied *registry.DeniedError
	if err := e.promote("fraud@1", registry.Production); !errors.As(err, &denied) || !strings.Contains(err.Error(), "config.json is missing") {
		t.Fatalf("promotion after a file vanished: %v", err)
	}
}

// TestManifestResourcesMatchSigning: the resources the registry derives
// from its manifest for a serialization are exactly what signing would
// hash, empty files included, so verification may skip the second read.
func TestManifestResourcesMatchSigning(t *testing.T) {
	e := newEnv(t)
	dir := e.model("v1", true)
	must(t, os.WriteFile(filepath.Join(dir, "__init__.py"), nil, 0o644))
	must(t, os.MkdirAll(filepath.Join(dir, "sub"), 0o755))
	must(t, os.WriteFile(filepath.Join(dir, "sub", "b.bin"), []byte("bbb"), 0o644))
	ignore := append(slices.Clone(signing.DefaultIgnore), signing.DefaultSignatureName)
	files := signing.Serialization{Method: "files", HashType: "sha256", IgnorePaths: ignore}
	shards := signing.Serialization{Method: "shards", HashType: "sha256", ShardSize: signing.DefaultShardSize, IgnorePaths: ignore}
	check := func(m registry.Manifest, ser signing.Serialization) {
		t.Helper()
		want, err := signing.BuildManifest(dir, ser)
		if err != nil {
			t.Fatal(err)
		}
		got, ok := m.Resources(ser)
		if !ok || !slices.Equal(got, want.Resources) {
			t.Fatalf("%s: registry %v (ok %v)\nsigning  %v", ser.Method, got, ok, want.Resources)
		}
	}
	// Signed by files: the registry hashes by files.
	m, err := registry.BuildManifest(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	if m.Method != "files" {
		t.Fatalf("a model signed by files was hashed by %s", m.Method)
	}
	check(m, files)
	if _, ok := m.Resources(shards); ok {
		t.Fatal("shard resources from a manifest made by files")
	}
	// Unsigned: in shards, from which files can be derived too (every
	// file here fits in one shard).
	must(t, os.Rename(filepath.Join(dir, "model.sig"), filepath.Join(e.dir, "model.sig")))
	if m, err = registry.BuildManifest(dir, nil); err != nil || m.Method != "shards" {
		t.Fatalf("unsigned: %s %v", m.Method, err)
	}
	check(m, shards)
	check(m, files)
	// Another shard size or other ignored paths: the registry cannot say.
	if _, ok := m.Resources(signing.Serialization{Method: "shards", HashType: "sha256", ShardSize: 1 << 20, IgnorePaths: ignore}); ok {
		t.Fatal("resources for a shard size the manifest was not made with")
	}
	if _, ok := m.Resources(signing.Serialization{Method: "files", HashType: "sha256", IgnorePaths: []string{"sub"}}); ok {
		t.Fatal("resources for other ignored paths")
	}
	// The verdict with the manifest is the verdict without it.
	e.sign(dir)
	m, _ = registry.BuildManifest(dir, nil)
	if sig := e.reg.Trust.VerifyHashed(dir, &m, time.Now()); !sig.Valid {
		t.Fatalf("with the manifest: %+v", sig)
	}
	must(t, os.WriteFile(filepath.Join(dir, "sub", "b.bin"), []byte("BBB"), 0o644))
	m, _ = registry.BuildManifest(dir, nil)
	with, without := e.reg.Trust.VerifyHashed(dir, &m, time.Now()), e.reg.Trust.Verify(dir, time.Now())
	if with.Valid || without.Valid || !strings.Contains(with.Error, "sub/b.bin: modified") || with.Error != without.Error {
		t.Fatalf("tampered: with %q, without %q", with.Error, without.Error)
	}
}

// TestAddedEmptyFileIsSeen: an empty file has no bytes to hash, but adding
// one after registration still changes the model.
func TestAddedEmptyFileIsSeen(t *testing.T) {
	e := newEnv(t)
	dir := e.model("v1", true)
	e.register("1", dir, nil)
	must(t, e.promote("fraud@1", registry.Staging))
	must(t, os.WriteFile(filepath.Join(dir, "sitecustomize.py"), nil, 0o644))
	_, d, err := e.reg.Check(context.Background(), "fraud@1")
	if err != nil || d.Allow || !strings.Contains(d.Violations[0], "sitecustomize.py was added") {
		t.Fatalf("%+v %v", d, err)
	}
}

// TestHostileSerialization: the serialization in an unverified signature
// only chooses how to hash; a tiny shard size is not taken.
func TestHostileSerialization(t *testing.T) {
	dir := t.TempDir()
	must(t, os.WriteFile(filepath.Join(dir, "w.bin"), []byte(strings.Repeat("x", 4096)), 0o644))
	stmt := `{"predicate":{"serialization":{"method":"shards","hash_type":"sha256","shard_size":1}}}`
	sig := `{"dsseEnvelope":{"payload":"` + base64.StdEncoding.EncodeToString([]byte(stmt)) + `"}}`
	must(t, os.WriteFile(filepath.Join(dir, "model.sig"), []byte(sig), 0o644))
	m, err := registry.BuildManifest(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	if m.Method != "shards" || m.ShardSize != signing.DefaultShardSize || len(m.Files) != 1 || m.Files[0].SHA256 == "" {
		t.Fatalf("manifest %+v", m)
	}
	// A broken signature file: hashed the default way, and reported
	// invalid by verification, not an error.
	must(t, os.WriteFile(filepath.Join(dir, "model.sig"), []byte("{"), 0o644))
	if m, err = registry.BuildManifest(dir, nil); err != nil || m.Method != "shards" {
		t.Fatalf("broken signature: %+v %v", m, err)
	}
}

// TestHistoryAgreesWithAuditLog: every refusal the audit log records for a
// model is in its history too, with the same action, outcome and reason,
// so `models history` and `audit query` tell one story.
func TestHistoryAgreesWithAuditLog(t *testing.T) {
	e := newEnv(t)
	e.register("1", e.model("unsigned", false), nil)
	if err := e.promote("fraud@1", registry.Production); err == nil {
		t.Fatal("candidate → production was allowed")
	}
	must(t, e.promote("fraud@1", registry.Staging))
	if err := e.promote("fraud@1", registry.Production); err == nil {
		t.Fatal("an unsigned version passed the gate")
	}
	var audited []registry.Change
	for _, c := range e.rec.changes {
		if c.Outcome == registry.Denied {
			audited = append(audited, c)
		}
	}
	hist, err := e.reg.Store.History(context.Background(), "fraud")
	if err != nil {
		t.Fatal(err)
	}
	var denied []registry.Event
	for _, ev := range hist {
		if ev.Result() == registry.Denied {
			denied = append(denied, ev)
		}
	}
	if len(audited) != 2 || len(denied) != len(audited) {
		t.Fatalf("audit log: %+v\nhistory: %+v", audited, denied)
	}
	for i, c := range audited {
		ev := denied[i]
		if ev.Action != c.Action || ev.Action != registry.ActionPromote || !strings.HasPrefix(ev.Reason, c.Reason+":") ||
			string(ev.To) != c.Details["to"] || string(ev.From) != c.Details["from"] {
			t.Errorf("history %+v does not say what the audit log says: %+v", ev, c)
		}
	}
}
