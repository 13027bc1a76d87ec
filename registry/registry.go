package registry

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/modelgate/modelgate/datacheck/contract"
	"github.com/modelgate/modelgate/datacheck/table"
	"github.com/modelgate/modelgate/modelscan"
	"github.com/modelgate/modelgate/policy"
	"github.com/modelgate/modelgate/registry/card"
)

// Gate decides whether a model record may be promoted; *policy.Engine is
// one.
type Gate interface {
	Evaluate(ctx context.Context, input any) (policy.Decision, error)
}

// Registry registers and moves model and dataset versions. Every change
// is recorded (Recorder) before it is stored: a change the audit log
// cannot take is not made.
type Registry struct {
	Store    Store
	Gate     Gate
	Policies []string // the policy modules in use, for the record
	Trust    *Trust
	Recorder Recorder
	Actor    string
	Scanner  *modelscan.Scanner
	// Dependencies, when set, checks the Python packages declared beside
	// a model for known vulnerabilities, at registration and at every
	// gate check.
	Dependencies DependencyChecker
	// ThreatModels, when set, resolves a model's threat-model reference
	// to a threat model file and checks it, at every gate check.
	ThreatModels ThreatModelChecker
	Now          func() time.Time
}

// ThreatModelChecker checks a threat model a model version refers to.
type ThreatModelChecker interface {
	CheckThreatModel(ctx context.Context, ref string) ThreatModelCheck
}

// ThreatModelCheck is what a threat-model check found. Resolved says the
// reference is a threat model file (not a ticket or a document name);
// Passes that it has no open threat of high severity or above and no
// undeclared flow.
type ThreatModelCheck struct {
	Resolved bool           `json:"resolved"`
	Passes   bool           `json:"passes"`
	Open     map[string]int `json:"open"`
	Error    string         `json:"error,omitempty"`
}

// DependencyChecker checks what a model's code depends on. It returns nil
// when nothing is declared beside the model.
type DependencyChecker interface {
	CheckDependencies(ctx context.Context, modelPath string) (*DependencyCheck, error)
}

func (r *Registry) now() time.Time {
	if r.Now != nil {
		return r.Now().UTC()
	}
	return time.Now().UTC()
}

func (r *Registry) trust() *Trust {
	if r.Trust != nil {
		return r.Trust
	}
	return &Trust{}
}

func (r *Registry) scanner() *modelscan.Scanner {
	if r.Scanner != nil {
		return r.Scanner
	}
	return &modelscan.Scanner{}
}

// Change is a registry change as the audit log records it. Target is
// NAME@VERSION (a model's name alone for a rollback).
type Change struct {
	Actor, Action, Target string
	// Outcome is Allowed for a change about to be made, Denied for a
	// refused one (a gate denial, an illegal move).
	Outcome, Reason string
	Details         map[string]string
}

// Outcomes of a Change (the audit log's decision outcomes).
const (
	Allowed = "allowed"
	Denied  = "denied"
)

// Recorder records changes durably before they are made: the audit log.
type Recorder interface {
	Record(ctx context.Context, c Change) error
}

// record sends a change to the audit log; a nil Recorder records nothing
// (tests, and tools that keep no log).
func (r *Registry) record(ctx context.Context, action, target, outcome, reason string, details map[string]string) error {
	if r.Recorder == nil {
		return nil
	}
	err := r.Recorder.Record(ctx, Change{Actor: r.Actor, Action: action, Target: target,
		Outcome: outcome, Reason: reason, Details: details})
	if err != nil {
		return fmt.Errorf("the audit log refused the change, so it was not made: %w", err)
	}
	return nil
}

// ModelRequest is what registering a model version takes.
type ModelRequest struct {
	Name, Version string
	Path          string
	CardPath      string   // optional
	Datasets      []string // NAME@VERSION, each registered
	RiskTier      string   // low, medium (default) or high
	ThreatModel   string   // a reference: a document, a ticket
	Metrics       map[string]float64
}

// RegisterModel hashes, scans and verifies a model, reads its card and
// stores it as a candidate.
func (r *Registry) RegisterModel(ctx context.Context, req ModelRequest) (*Model, error) {
	if err := ValidName("model name", req.Name); err != nil {
		return nil, err
	}
	if err := ValidName("version", req.Version); err != nil {
		return nil, err
	}
	tier := req.RiskTier
	if tier == "" {
		tier = RiskMedium
	}
	if !slices.Contains([]string{RiskLow, RiskMedium, RiskHigh}, tier) {
		return nil, fmt.Errorf("risk tier %q: use low, medium or high", tier)
	}
	if _, err := r.Store.GetModel(ctx, req.Name, req.Version); err == nil {
		return nil, fmt.Errorf("model %s@%s: %w", req.Name, req.Version, ErrExists)
	} else if !errors.Is(err, ErrNotFound) {
		return nil, err
	}
	path, err := filepath.Abs(req.Path)
	if err != nil {
		return nil, err
	}
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("model path: %w", err)
	}
	tm := strings.TrimSpace(req.ThreatModel)
	// A threat model given as a file is recorded by its absolute path, so
	// that a gate check run from elsewhere finds it.
	if fi, err := os.Stat(tm); err == nil && !fi.IsDir() {
		if abs, err := filepath.Abs(tm); err == nil {
			tm = abs
		}
	}
	m := &Model{Name: req.Name, Version: req.Version, Path: path, Stage: Candidate, RiskTier: tier,
		ThreatModel: tm, Metrics: map[string]float64{}, RegisteredBy: r.Actor}
	for _, ref := range req.Datasets {
		name, version, err := ParseRef(ref)
		if err != nil {
			return nil, fmt.Errorf("dataset: %w", err)
		}
		if _, err := r.Store.GetDataset(ctx, name, version); err != nil {
			return nil, fmt.Errorf("dataset %s: %w (register it first with modelgate datasets register)", ref, err)
		}
		m.Datasets = append(m.Datasets, name+"@"+version)
	}
	if req.CardPath != "" {
		c, err := card.Load(req.CardPath)
		if err != nil {
			return nil, err
		}
		score := c.Check()
		m.Card, m.CardScore = c, &score
		maps.Copy(m.Metrics, c.Metrics)
	}
	maps.Copy(m.Metrics, req.Metrics)
	var formats map[string]string
	if m.Scan, formats, err = Scan(r.scanner(), path); err != nil {
		return nil, fmt.Errorf("scan %s: %w", path, err)
	}
	if m.Manifest, err = BuildManifest(path, formats); err != nil {
		return nil, fmt.Errorf("hash %s: %w", path, err)
	}
	if r.Dependencies != nil {
		if m.Dependencies, err = r.Dependencies.CheckDependencies(ctx, path); err != nil {
			return nil, fmt.Errorf("dependencies of %s: %w", path, err)
		}
	}
	now := r.now()
	m.Signature = r.trust().VerifyHashed(path, &m.Manifest, now)
	m.CreatedAt, m.UpdatedAt = now, now
	details := map[string]string{"path": path, "manifest_digest": m.Manifest.Digest,
		"signature": m.Signature.Status(), "risk_tier": tier, "stage": string(Candidate)}
	if err := r.record(ctx, ActionRegister, m.Ref(), Allowed, "", details); err != nil {
		return nil, err
	}
	ev := Event{Name: m.Name, Version: m.Version, Action: ActionRegister, Outcome: Allowed, To: Candidate, Actor: r.Actor, At: now}
	if err := r.Store.CreateModel(ctx, m, ev); err != nil {
		return nil, err
	}
	return m, nil
}

// DatasetRequest is what registering a dataset version takes.
type DatasetRequest struct {
	Name, Version string
	Path          string
	ContractPath  string // optional: validate the data against it
}

// RegisterDataset hashes a dataset (a file or a directory) and, when a
// contract is given, validates its file against it.
func (r *Registry) RegisterDataset(ctx context.Context, req DatasetRequest) (*Dataset, error) {
	if err := ValidName("dataset name", req.Name); err != nil {
		return nil, err
	}
	if err := ValidName("version", req.Version); err != nil {
		return nil, err
	}
	if _, err := r.Store.GetDataset(ctx, req.Name, req.Version); err == nil {
		return nil, fmt.Errorf("dataset %s@%s: %w", req.Name, req.Version, ErrExists)
	} else if !errors.Is(err, ErrNotFound) {
		return nil, err
	}
	path, err := filepath.Abs(req.Path)
	if err != nil {
		return nil, err
	}
	info, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("dataset path: %w", err)
	}
	d := &Dataset{Name: req.Name, Version: req.Version, Path: path, Contract: ContractUnchecked, RegisteredBy: r.Actor}
	if d.Manifest, err = BuildManifest(path, nil); err != nil {
		return nil, fmt.Errorf("hash %s: %w", path, err)
	}
	for i := range d.Manifest.Files {
		d.Manifest.Files[i].Format = ""
	}
	if req.ContractPath != "" {
		if info.IsDir() {
			return nil, fmt.Errorf("a contract validates one data file, and %s is a directory", path)
		}
		if err := validateDataset(d, req.ContractPath); err != nil {
			return nil, err
		}
	}
	d.CreatedAt = r.now()
	details := map[string]string{"path": path, "manifest_digest": d.Manifest.Digest, "contract": d.Contract}
	if err := r.record(ctx, ActionDatasetRegister, d.Ref(), Allowed, "", details); err != nil {
		return nil, err
	}
	ev := Event{Name: d.Name, Version: d.Version, Action: ActionDatasetRegister, Outcome: Allowed, Actor: r.Actor, At: d.CreatedAt}
	return d, r.Store.CreateDataset(ctx, d, ev)
}

func validateDataset(d *Dataset, contractPath string) error {
	c, err := contract.Load(contractPath)
	if err != nil {
		return err
	}
	src, err := table.Open(d.Path)
	if err != nil {
		return err
	}
	defer src.Close()
	rep, err := contract.Validate(c, src)
	if err != nil {
		return fmt.Errorf("validate %s: %w", d.Path, err)
	}
	d.ContractPath, _ = filepath.Abs(contractPath)
	d.Rows = rep.Rows
	d.Contract = ContractFailed
	if rep.Pass {
		d.Contract = ContractPassed
	}
	for _, res := range rep.Results {
		if !res.Pass {
			rule := res.Rule
			if res.Column != "" {
				rule = res.Column + ": " + rule
			}
			d.ContractFailed = append(d.ContractFailed, rule)
		}
	}
	return nil
}
