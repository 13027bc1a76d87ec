package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/modelgate/modelgate/admin"
	"github.com/modelgate/modelgate/policy"
	"github.com/modelgate/modelgate/registry"
	"github.com/modelgate/modelgate/store/sqlite"
	"github.com/modelgate/modelgate/supplychain"
)

// TrustDir is where a data directory keeps the keys and certificates
// that model signatures are verified against.
const TrustDir = registry.TrustDir

// registryFlags are what every registry command may take.
type registryFlags struct {
	policyDir string
	// gatewayConfig is the gateway's configuration, for the evidence of
	// threat models (guard pipelines, audit settings).
	gatewayConfig string
	pubkeys       []string
	certs         []string
	// gate is set for the commands that evaluate the policy gate (those
	// with --policy): only they compile the policies and record a change
	// of policy set.
	gate bool
}

// openRegistry opens the registry in the data directory, with its audit
// log, the policy gate (default bundle plus --policy) and the trusted
// keys (the data directory's and --pubkey/--cert-chain).
func openRegistry(ctx context.Context, g *globals, f *registryFlags) (*registry.Registry, func(), error) {
	st, l, done, err := openLocal(ctx, g)
	if err != nil {
		return nil, nil, err
	}
	fail := func(err error) (*registry.Registry, func(), error) { done(); return nil, nil, err }
	trust, err := registry.LoadTrust(filepath.Join(g.dataDir, TrustDir))
	if err != nil {
		return fail(usageError{err})
	}
	if f != nil {
		for _, p := range append(append([]string{}, f.pubkeys...), f.certs...) {
			if err := trust.Add(p); err != nil {
				return fail(usageError{err})
			}
		}
	}
	reg := &registry.Registry{Store: st, Trust: trust, Recorder: &admin.AuditLog{Log: l}, Actor: cliActor(),
		Dependencies: supplychain.ModelDependencies{DB: vulndbPath(g, "")}}
	if f != nil && f.gate {
		gate, err := policy.New(ctx, f.policyDir)
		if err != nil {
			return fail(usageError{err})
		}
		reg.Gate, reg.Policies = gate, gate.Modules
		reg.ThreatModels = threatModelGate{g: g, flags: liveFlags{config: f.gatewayConfig, since: 30 * 24 * time.Hour}}
		if err := reg.NotePolicies(ctx, gate.Digest); err != nil {
			return fail(err)
		}
	}
	return reg, done, nil
}

// registryError maps registry errors to exit codes: a refusal by the gate
// is a finding (1), everything else the caller did wrong is usage (2).
func registryError(err error) error {
	var denied *registry.DeniedError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &denied):
		return findings{msg: err.Error()}
	case errors.Is(err, registry.ErrStale):
		return err
	}
	return usageError{err}
}

// parseMetrics reads --metric NAME=VALUE flags.
func parseMetrics(flags []string) (map[string]float64, error) {
	out := map[string]float64{}
	for _, f := range flags {
		k, v, ok := strings.Cut(f, "=")
		x, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		if !ok || strings.TrimSpace(k) == "" || err != nil {
			return nil, usagef("--metric %q: want NAME=NUMBER", f)
		}
		out[strings.TrimSpace(k)] = x
	}
	return out, nil
}

// openExistingRegistry opens the registry for a command that reads or
// changes one, refusing to create it by accident.
func openExistingRegistry(ctx context.Context, g *globals, f *registryFlags) (*registry.Registry, func(), error) {
	if err := requireDataDir(g); err != nil {
		return nil, nil, err
	}
	return openRegistry(ctx, g, f)
}

// lookupModel reads a model version named NAME@VERSION.
func lookupModel(ctx context.Context, reg *registry.Registry, ref string) (*registry.Model, error) {
	name, version, err := registry.ParseRef(ref)
	if err != nil {
		return nil, usageError{err}
	}
	m, err := reg.Store.GetModel(ctx, name, version)
	if err != nil {
		return nil, usagef("model %s: %v", ref, err)
	}
	return m, nil
}

// checkFormat refuses a --format value not among those a command writes.
func checkFormat(format string, allowed ...string) error {
	if slices.Contains(allowed, format) {
		return nil
	}
	return usagef("--format must be %s, got %q", strings.Join(allowed, " or "), format)
}

// requireDataDir refuses to create a registry by accident in a command
// that only reads or changes an existing one.
func requireDataDir(g *globals) error {
	if g.postgresEnv != "" {
		return nil
	}
	if _, err := os.Stat(filepath.Join(g.dataDir, sqlite.FileName)); err != nil {
		return usagef("no registry at %s: pass --data-dir, or register a model first", g.dataDir)
	}
	return nil
}

func stageOf(m *registry.Model) string {
	s := string(m.Stage)
	if m.Golden {
		s += " (golden)"
	}
	return s
}

func gateWord(m *registry.Model) string {
	switch {
	case m.Gate == nil:
		return "-"
	case m.Gate.Allow:
		return "allow"
	}
	return "deny"
}

// sigWord is a signature's status, shouted when it is invalid.
func sigWord(s registry.Signature) string {
	if st := s.Status(); st != "invalid" {
		return st
	}
	return "INVALID"
}

func scanWord(s registry.ScanSummary) string {
	if !s.Scanned {
		return "not scanned"
	}
	var parts []string
	for _, sev := range []string{"critical", "high", "medium", "low", "info"} {
		if n := s.BySeverity[sev]; n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, sev))
		}
	}
	if s.Errors > 0 {
		parts = append(parts, fmt.Sprintf("%d unreadable", s.Errors))
	}
	if len(parts) == 0 {
		return "clean"
	}
	return strings.Join(parts, ", ")
}
