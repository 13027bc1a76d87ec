// Package live gathers the deployed state a threat model's mitigations
// are checked against: the gateway's configuration and store (routes,
// guard pipelines, keys), the registry, and the audit log (who called
// which model).
package live

import (
	"context"
	"strings"
	"time"

	"github.com/modelgate/modelgate/audit"
	"github.com/modelgate/modelgate/config"
	"github.com/modelgate/modelgate/registry"
	"github.com/modelgate/modelgate/store"
	"github.com/modelgate/modelgate/threat"
)

// Sources are where the state is read from; any may be nil.
type Sources struct {
	Config   *config.Config
	Store    store.Store
	Registry registry.Store
	Audit    store.AuditStore
	// Since bounds the audit events read for observed flows (zero: all).
	Since time.Time
	Now   time.Time
}

// Gather reads the deployed state.
func Gather(ctx context.Context, src Sources) (*threat.State, error) {
	st := &threat.State{Routes: map[string]threat.Route{}, Models: map[string]threat.RegistryModel{},
		Serving: map[string]string{}, Datasets: map[string]threat.Dataset{}}
	if src.Now.IsZero() {
		src.Now = time.Now()
	}
	cfg := src.Config
	if cfg == nil {
		cfg = config.Default()
	}
	st.DefaultRPM = cfg.RateLimits.Key.RPM
	st.GatewayTLS = cfg.TLS != nil
	st.AuditFailClosed = cfg.Audit.Mode == "" || cfg.Audit.Mode == "fail_closed"
	st.AuditWitnessed = len(cfg.Audit.Witnesses) > 0
	for _, f := range cfg.Audit.Forwarders {
		fw := threat.Forwarder{Name: f.Name, Type: f.Type}
		switch f.Type {
		case "syslog":
			fw.Target, fw.Encrypted = f.Address, f.TLS != nil
		case "webhook":
			fw.Target, fw.Encrypted = f.URL, strings.HasPrefix(f.URL, "https://")
		default:
			fw.Target, fw.Encrypted = f.Path, true // a local file does not travel
		}
		st.Forwarders = append(st.Forwarders, fw)
	}

	keyNames := map[string]string{}
	if src.Store != nil {
		routes, err := src.Store.ListRoutes(ctx)
		if err != nil {
			return nil, err
		}
		for _, r := range routes {
			st.Routes[r.Model] = Route(cfg, r)
		}
		keys, err := src.Store.ListKeys(ctx)
		if err != nil {
			return nil, err
		}
		for _, k := range keys {
			keyNames[k.ID] = k.Name
			if !k.RevokedAt.IsZero() || !k.ExpiresAt.IsZero() && !src.Now.Before(k.ExpiresAt) {
				continue
			}
			st.Keys = append(st.Keys, threat.Key{Name: k.Name, Scopes: k.Scopes, Models: k.Models, RPM: k.RPM})
		}
	} else {
		for _, r := range cfg.Routes {
			st.Routes[r.Model] = Route(cfg, r)
		}
	}
	for _, id := range cfg.Identities {
		st.Keys = append(st.Keys, threat.Key{Name: "identity:" + id.Name, Scopes: id.Scopes, Models: id.Models, RPM: id.Limits.RPM})
	}

	if src.Registry != nil {
		models, err := src.Registry.ListModels(ctx, "")
		if err != nil {
			return nil, err
		}
		for _, m := range models {
			rm := threat.RegistryModel{Ref: m.Ref(), Stage: string(m.Stage), Signed: m.Signature.Signed, SignatureOK: m.Signature.Valid,
				Scanned: m.Scan.Scanned, Dangerous: m.Scan.BySeverity["high"] + m.Scan.BySeverity["critical"],
				GateAllow: m.Gate != nil && m.Gate.Allow && m.Stage == registry.Production, Datasets: m.Datasets,
				Quarantine: m.Stage == registry.Quarantined}
			st.Models[rm.Ref] = rm
			if m.Serving() {
				st.Serving[m.Name] = m.Version
			}
		}
		datasets, err := src.Registry.ListDatasets(ctx)
		if err != nil {
			return nil, err
		}
		for _, d := range datasets {
			st.Datasets[d.Ref()] = threat.Dataset{Ref: d.Ref(), Contract: d.Contract}
		}
	}

	if src.Audit != nil {
		seen := map[[2]string]int{}
		err := audit.Query(ctx, src.Audit, audit.Filter{Since: src.Since, Action: "inference."}, func(ev *audit.Event, _ *store.AuditLeaf) error {
			if ev.Resource.Model == "" || (ev.Decision.Outcome != audit.Allowed && ev.Decision.Outcome != audit.Failed) {
				return nil
			}
			var caller string
			switch ev.Actor.Kind {
			case audit.ActorAPIKey:
				name := keyNames[ev.Actor.ID]
				if name == "" {
					name = ev.Actor.ID
				}
				caller = "key:" + name
			case audit.ActorMTLS:
				caller = "identity:" + ev.Actor.ID
			default:
				return nil
			}
			seen[[2]string{caller, ev.Resource.Model}]++
			return nil
		})
		if err != nil {
			return nil, err
		}
		for k, n := range seen {
			st.Observed = append(st.Observed, threat.ObservedFlow{Caller: k[0], Model: k[1], Count: n})
		}
	}
	return st, nil
}

// Route reads a route's guard pipeline: its own, the default, or none.
func Route(cfg *config.Config, r *store.Route) threat.Route {
	out := threat.Route{Model: r.Model, Protocol: r.Protocol, Upstream: r.Upstream.URL, Registry: r.Registry, UpstreamTLS: strings.HasPrefix(r.Upstream.URL, "https://")}
	out.InputGuards, out.OutputGuards = cfg.RouteGuards(r)
	return out
}
