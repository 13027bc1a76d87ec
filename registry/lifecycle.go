package registry

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/modelgate/modelgate/policy"
)

// DeniedError is a promotion the gate refused.
type DeniedError struct {
	Ref      string
	Decision policy.Decision
}

func (e *DeniedError) Error() string {
	return fmt.Sprintf("the gate denies %s: %s", e.Ref, strings.Join(e.Decision.Violations, "; "))
}

func (r *Registry) get(ctx context.Context, ref string) (*Model, error) {
	name, version, err := ParseRef(ref)
	if err != nil {
		return nil, err
	}
	m, err := r.Store.GetModel(ctx, name, version)
	if err != nil {
		return nil, fmt.Errorf("model %s: %w", ref, err)
	}
	return m, nil
}

// Input builds the gate's input from a model record and its datasets.
// The shape is documented in docs/policy.md.
func (r *Registry) Input(ctx context.Context, m *Model) (map[string]any, error) {
	in := map[string]any{
		"name":      m.Name,
		"version":   m.Version,
		"stage":     string(m.Stage),
		"risk_tier": m.RiskTier,
		"signature": map[string]any{"signed": m.Signature.Signed, "valid": m.Signature.Valid, "error": m.Signature.Error},
		"manifest":  map[string]any{"digest": m.Manifest.Digest, "files": len(m.Manifest.Files)},
		"metrics":   m.Metrics,
	}
	if m.Metrics == nil {
		in["metrics"] = map[string]float64{}
	}
	if m.ThreatModel != "" {
		in["threat_model"] = m.ThreatModel
		if r.ThreatModels != nil {
			c := r.ThreatModels.CheckThreatModel(ctx, m.ThreatModel)
			in["threat_model_check"] = map[string]any{"resolved": c.Resolved, "passes": c.Passes, "open": nonNilCounts(c.Open), "error": c.Error}
		}
	}
	if m.Scan.Scanned {
		in["scan"] = map[string]any{"by_severity": m.Scan.BySeverity, "errors": m.Scan.Errors}
	}
	if m.Card != nil && m.CardScore != nil {
		in["card"] = map[string]any{"completeness": m.CardScore.Complete, "missing": m.CardScore.Missing,
			"present": m.CardScore.Present, "fields": m.Card.Fields}
	}
	if dc := m.Dependencies; dc != nil {
		in["dependencies"] = map[string]any{"checked": dc.Checked, "error": dc.Error, "packages": dc.Packages,
			"affected": nonNilCounts(dc.Affected), "possibly_affected": nonNilCounts(dc.Possibly), "malicious": dc.Malicious,
			"advisories": dc.Advisories}
	}
	datasets := []any{}
	for _, ref := range m.Datasets {
		entry := map[string]any{"name": ref}
		name, version, _ := ParseRef(ref)
		d, err := r.Store.GetDataset(ctx, name, version)
		switch {
		case errors.Is(err, ErrNotFound):
			entry["contract"] = "not registered"
		case err != nil:
			return nil, err
		default:
			entry["contract"] = d.Contract
			entry["manifest_digest"] = d.Manifest.Digest
		}
		datasets = append(datasets, entry)
	}
	in["datasets"] = datasets
	return in, nil
}

func nonNilCounts(m map[string]int) map[string]int {
	if m == nil {
		return map[string]int{}
	}
	return m
}

// Check evaluates the gate on a version as its files are now: it hashes
// the model again (a file changed since registration is a violation of
// its own) and verifies its signature, then asks the policies. It changes
// nothing stored.
func (r *Registry) Check(ctx context.Context, ref string) (*Model, policy.Decision, error) {
	m, err := r.get(ctx, ref)
	if err != nil {
		return nil, policy.Decision{}, err
	}
	d, err := r.check(ctx, m)
	return m, d, err
}

func (r *Registry) check(ctx context.Context, m *Model) (policy.Decision, error) {
	if r.Gate == nil {
		return policy.Decision{}, errors.New("no policy gate is configured")
	}
	var changed []string
	// Hashed as at registration, so that the digests compare.
	now, err := buildManifest(m.Path, nil, m.Manifest.serialization())
	switch {
	case err != nil:
		changed = append(changed, fmt.Sprintf("the model's files cannot be read: %v", err))
		m.Signature = r.trust().Verify(m.Path, r.now())
	default:
		if diff := manifestDiff(m.Manifest, now); diff != "" || now.Digest != m.Manifest.Digest {
			changed = append(changed, fmt.Sprintf("the model's files changed since registration: %s", diff))
		}
		m.Signature = r.trust().VerifyHashed(m.Path, &now, r.now())
	}
	// Advisories are published every day: the dependencies are checked
	// again against today's database.
	if r.Dependencies != nil {
		dc, err := r.Dependencies.CheckDependencies(ctx, m.Path)
		if err != nil {
			return policy.Decision{}, fmt.Errorf("dependencies of %s: %w", m.Path, err)
		}
		m.Dependencies = dc
	}
	in, err := r.Input(ctx, m)
	if err != nil {
		return policy.Decision{}, err
	}
	d, err := r.Gate.Evaluate(ctx, in)
	if err != nil {
		return policy.Decision{}, err
	}
	// The registry's own integrity check stands whatever the policies
	// say: a user policy set cannot waive it.
	if len(changed) > 0 {
		d.Violations = append(changed, d.Violations...)
		var den []policy.Denial
		for _, c := range changed {
			den = append(den, policy.Denial{Rule: "files-changed", Message: c})
		}
		d.Denials = append(den, d.Denials...)
		d.Allow = false
	}
	m.Gate = &GateResult{Allow: d.Allow, Violations: d.Violations, Denials: d.Denials, Policies: r.Policies, At: r.now()}
	return d, nil
}

// GateCheck evaluates the gate on a version (as Check does), records the
// decision in the audit log and keeps it with the version. It does not
// change the version's stage.
func (r *Registry) GateCheck(ctx context.Context, ref string) (*Model, policy.Decision, error) {
	m, d, err := r.Check(ctx, ref)
	if err != nil {
		return nil, d, err
	}
	outcome, reason := Allowed, ""
	if !d.Allow {
		outcome, reason = Denied, "gate_denied"
	}
	details := map[string]string{"manifest_digest": m.Manifest.Digest, "signature": m.Signature.Status(),
		"policies": strings.Join(r.Policies, ","), "violations": strings.Join(d.Violations, "; ")}
	if err := r.record(ctx, ActionGate, ref, outcome, reason, details); err != nil {
		return nil, d, err
	}
	m.UpdatedAt = r.now()
	if !d.Allow {
		reason += ": " + strings.Join(d.Violations, "; ")
	}
	ev := Event{Name: m.Name, Version: m.Version, Action: ActionGate, Outcome: outcome, From: m.Stage, To: m.Stage, Reason: reason, Actor: r.Actor, At: m.UpdatedAt}
	return m, d, r.Store.UpdateModels(ctx, []Update{{Model: m, Was: m.Stage}}, []Event{ev})
}

// NotePolicies records a change of the policy set in force, identified by
// its digest, the first time the registry sees it.
func (r *Registry) NotePolicies(ctx context.Context, digest string) error {
	// Policy events are kept under a name of their own, so this reads
	// them alone rather than every model's history.
	hist, err := r.Store.History(ctx, PolicyHistory)
	if err != nil {
		return err
	}
	last := ""
	if len(hist) > 0 {
		last = hist[len(hist)-1].Version
	}
	if last == digest {
		return nil
	}
	details := map[string]string{"policies": strings.Join(r.Policies, ","), "digest": digest, "previous": last}
	if err := r.record(ctx, ActionPolicy, "policy:"+digest[:12], Allowed, "", details); err != nil {
		return err
	}
	return r.Store.AddEvent(ctx, Event{Name: PolicyHistory, Action: ActionPolicy, Outcome: Allowed, Version: digest, Reason: strings.Join(r.Policies, ","), Actor: r.Actor, At: r.now()})
}

// manifestDiff names the files that differ between two manifests.
func manifestDiff(was, now Manifest) string {
	index := func(m Manifest) map[string]string {
		out := map[string]string{}
		for _, f := range m.Files {
			out[f.Name] = f.SHA256 + strings.Join(f.Shards, ",")
		}
		return out
	}
	a, b := index(was), index(now)
	var diffs []string
	for name, d := range a {
		switch nd, ok := b[name]; {
		case !ok:
			diffs = append(diffs, name+" is missing")
		case nd != d:
			diffs = append(diffs, name+" was modified")
		}
	}
	for name := range b {
		if _, ok := a[name]; !ok {
			diffs = append(diffs, name+" was added")
		}
	}
	slices.Sort(diffs)
	if len(diffs) > 5 {
		diffs = append(diffs[:5], fmt.Sprintf("and %d more", len(diffs)-5))
	}
	return strings.Join(diffs, ", ")
}

// Promote moves a version to another stage. Moving to production runs the
// gate first and retires the version it replaces.
func (r *Registry) Promote(ctx context.Context, ref string, to Stage) (*Model, error) {
	m, err := r.get(ctx, ref)
	if err != nil {
		return nil, err
	}
	from := m.Stage
	if err := CanMove(from, to); err != nil {
		// The refusal is recorded in both places; a log that cannot take
		// it does not change the answer, which is no.
		r.record(ctx, ActionPromote, ref, Denied, "illegal_transition", map[string]string{"from": string(from), "to": string(to)})
		r.Store.AddEvent(ctx, Event{Name: m.Name, Version: m.Version, Action: ActionPromote, Outcome: Denied, From: from, To: to,
			Reason: "illegal_transition: " + err.Error(), Actor: r.Actor, At: r.now()})
		return nil, fmt.Errorf("%s: %w", ref, err)
	}
	if to != Production {
		return m, r.move(ctx, ActionPromote, "", m, to, nil)
	}
	return m, r.toProduction(ctx, ActionPromote, m, "")
}

// toProduction gates a version and, when allowed, makes it the one
// production version of its model.
func (r *Registry) toProduction(ctx context.Context, action string, m *Model, reason string) error {
	was := m.Stage
	d, err := r.check(ctx, m)
	if err != nil {
		return err
	}
	details := map[string]string{"from": string(was), "to": string(Production), "manifest_digest": m.Manifest.Digest,
		"signature": m.Signature.Status(), "policies": strings.Join(r.Policies, ",")}
	if !d.Allow {
		details["violations"] = strings.Join(d.Violations, "; ")
		if err := r.record(ctx, action, m.Ref(), Denied, "gate_denied", details); err != nil {
			return err
		}
		m.UpdatedAt = r.now()
		ev := Event{Name: m.Name, Version: m.Version, Action: action, Outcome: Denied, From: was, To: Production,
			Reason: "gate_denied: " + strings.Join(d.Violations, "; "), Actor: r.Actor, At: m.UpdatedAt}
		if err := r.Store.UpdateModels(ctx, []Update{{Model: m, Was: was}}, []Event{ev}); err != nil {
			return err
		}
		return &DeniedError{Ref: m.Ref(), Decision: d}
	}
	var others []*Model
	all, err := r.Store.ListModels(ctx, m.Name)
	if err != nil {
		return err
	}
	for _, o := range all {
		if o.Stage == Production && o.Version != m.Version {
			others = append(others, o)
		}
	}
	if len(others) > 0 {
		details["replaces"] = others[0].Version
	}
	return r.move(ctx, action, reason, m, Production, others, details)
}

// move records and stores a version's move to a stage, retiring others
// (the production versions it replaces) in the same transaction.
func (r *Registry) move(ctx context.Context, action, reason string, m *Model, to Stage, retire []*Model, details ...map[string]string) error {
	now := r.now()
	d := map[string]string{"from": string(m.Stage), "to": string(to)}
	if len(details) > 0 {
		d = details[0]
	}
	if err := r.record(ctx, action, m.Ref(), Allowed, reason, d); err != nil {
		return err
	}
	updates := []Update{{Model: m, Was: m.Stage}}
	events := []Event{{Name: m.Name, Version: m.Version, Action: action, Outcome: Allowed, From: m.Stage, To: to, Reason: reason, Actor: r.Actor, At: now}}
	for _, o := range retire {
		updates = append(updates, Update{Model: o, Was: o.Stage})
		events = append(events, Event{Name: o.Name, Version: o.Version, Action: action, Outcome: Allowed, From: o.Stage, To: Retired,
			Reason: "replaced by " + m.Version, Actor: r.Actor, At: now})
		o.Stage, o.UpdatedAt = Retired, now
	}
	m.Stage, m.UpdatedAt = to, now
	if to == Quarantined {
		m.Golden = false
	}
	if reason != "" {
		m.Reason = reason
	}
	return r.Store.UpdateModels(ctx, updates, events)
}

// Quarantine takes a version out of service at once, whatever its stage.
func (r *Registry) Quarantine(ctx context.Context, ref, reason string) (*Model, error) {
	reason = strings.TrimSpace(reason)
	if reason == "" {
		return nil, errors.New("a quarantine needs a reason (--reason)")
	}
	m, err := r.get(ctx, ref)
	if err != nil {
		return nil, err
	}
	if err := CanMove(m.Stage, Quarantined); err != nil {
		return nil, fmt.Errorf("%s: %w", ref, err)
	}
	return m, r.move(ctx, ActionQuarantine, reason, m, Quarantined, nil)
}

// SetGolden marks a version as the model's known-good one, the first
// choice of a rollback. It must have passed the gate and not be
// quarantined.
func (r *Registry) SetGolden(ctx context.Context, ref string) (*Model, error) {
	m, err := r.get(ctx, ref)
	if err != nil {
		return nil, err
	}
	if m.Stage == Quarantined {
		return nil, fmt.Errorf("%s is quarantined and cannot be golden", ref)
	}
	if m.Gate == nil || !m.Gate.Allow {
		return nil, fmt.Errorf("%s has not passed the gate (modelgate gate %s); only a version that did can be golden", ref, ref)
	}
	all, err := r.Store.ListModels(ctx, m.Name)
	if err != nil {
		return nil, err
	}
	now := r.now()
	if err := r.record(ctx, ActionGolden, ref, Allowed, "", map[string]string{"manifest_digest": m.Manifest.Digest}); err != nil {
		return nil, err
	}
	var updates []Update
	for _, o := range all {
		if o.Golden && o.Version != m.Version {
			o.Golden, o.UpdatedAt = false, now
			updates = append(updates, Update{Model: o, Was: o.Stage})
		}
	}
	m.Golden, m.UpdatedAt = true, now
	updates = append(updates, Update{Model: m, Was: m.Stage})
	ev := Event{Name: m.Name, Version: m.Version, Action: ActionGolden, Outcome: Allowed, From: m.Stage, To: m.Stage, Actor: r.Actor, At: now}
	return m, r.Store.UpdateModels(ctx, updates, []Event{ev})
}

// Rollback puts a model's known-good version back in production: the
// golden version if there is one that is not already serving, else the
// version that served before the current one. The version it restores
// passes the gate again, as it is now.
func (r *Registry) Rollback(ctx context.Context, name string) (*Model, error) {
	if err := ValidName("model name", name); err != nil {
		return nil, err
	}
	all, err := r.Store.ListModels(ctx, name)
	if err != nil {
		return nil, err
	}
	if len(all) == 0 {
		return nil, fmt.Errorf("model %s: %w", name, ErrNotFound)
	}
	var current *Model
	byVersion := map[string]*Model{}
	for _, m := range all {
		byVersion[m.Version] = m
		if m.Stage == Production {
			current = m
		}
	}
	// A golden version may come from staging (it never served, but
	// someone vouched for it) or retirement; either way it passes the
	// gate on its way back.
	eligible := func(m *Model) bool {
		return m != nil && m != current && (m.Stage == Retired || m.Stage == Staging)
	}
	var target *Model
	for _, m := range all {
		if m.Golden && eligible(m) {
			target = m
		}
	}
	if target == nil {
		// The most recent version, other than the current one, that
		// left production.
		hist, err := r.Store.History(ctx, name)
		if err != nil {
			return nil, err
		}
		for i := len(hist) - 1; i >= 0 && target == nil; i-- {
			e := hist[i]
			if e.From == Production && e.To != Production && eligible(byVersion[e.Version]) && byVersion[e.Version].Stage == Retired {
				target = byVersion[e.Version]
			}
		}
	}
	if target == nil {
		r.record(ctx, ActionRollback, name, Denied, "no_known_good_version", nil)
		return nil, fmt.Errorf("model %s has no version to roll back to: no golden version, and no earlier production version that is retired and not quarantined", name)
	}
	reason := "rollback"
	if current != nil {
		reason = "rollback from " + current.Version
	}
	return target, r.toProduction(ctx, ActionRollback, target, reason)
}
