package threat

import (
	"fmt"
	"slices"
	"sort"
	"strings"
)

// State is what is actually deployed, as the checks see it: gathered
// from the gateway's configuration and store, the registry and the audit
// log (see package threat/live).
type State struct {
	// Routes by public model name.
	Routes map[string]Route
	// Keys are the live (unrevoked, unexpired) keys.
	Keys []Key
	// DefaultRPM is the rate a key without its own gets.
	DefaultRPM int64
	// GatewayTLS says the data plane serves TLS.
	GatewayTLS      bool
	AuditFailClosed bool
	AuditWitnessed  bool
	// Models are registry model versions by NAME@VERSION; Serving maps a
	// model name to the version in production that passed the gate.
	Models  map[string]RegistryModel
	Serving map[string]string
	// Datasets by NAME@VERSION.
	Datasets map[string]Dataset
	// Observed are the (caller, model) pairs the audit log holds.
	Observed []ObservedFlow
	// Forwarders ship the audit log to SIEMs.
	Forwarders []Forwarder
}

// Forwarder is an audit forwarder: where the log's events go.
type Forwarder struct {
	Name, Type string // syslog, webhook, file
	Target     string // address, URL or path
	Encrypted  bool
}

// Route is a gateway route as the checks see it.
type Route struct {
	Model string
	// Protocol and Upstream say what is served and where.
	Protocol, Upstream string
	// InputGuards and OutputGuards are the guard types of its pipeline.
	InputGuards, OutputGuards []string
	UpstreamTLS               bool
	Registry                  string
}

// Key is a live key.
type Key struct {
	Name   string
	Scopes []string
	Models []string
	RPM    int64
}

// RegistryModel is a registered model version.
type RegistryModel struct {
	Ref         string
	Stage       string
	Signed      bool
	SignatureOK bool
	Scanned     bool
	// Dangerous counts high and critical scan findings.
	Dangerous  int
	GateAllow  bool
	Datasets   []string
	Quarantine bool
}

// Dataset is a registered dataset version.
type Dataset struct {
	Ref      string
	Contract string // the contract check's outcome: passed, failed, unchecked
}

// ObservedFlow is a caller seen calling a model in the audit log.
type ObservedFlow struct {
	Caller string // key:NAME or identity:NAME
	Model  string
	Count  int
}

// Evidence is a mitigation's check on one element.
type Evidence struct {
	Mitigation string `json:"mitigation"`
	Holds      bool   `json:"holds"`
	// Declared marks evidence taken from the model file, where nothing
	// live could be checked.
	Declared bool   `json:"declared,omitempty"`
	Detail   string `json:"detail"`
}

// element is an asset or a flow, as a check sees it.
type element struct {
	asset *Asset
	flow  *Flow
}

type check func(st *State, m *Model, e element) Evidence

var checks = map[string]check{
	"guard.injection": guardCheck(true, "injection", "injection_remote"),
	"guard.invisible": guardCheck(true, "invisible_text"),
	"guard.pii":       guardCheck(false, "pii"),
	"guard.secrets":   guardCheck(false, "secrets"),
	"guard.output":    outputGuardCheck("sanitize"),
	"guard.canary":    guardCheck(false, "canary"),
	"model.signed":    modelCheck("signed", func(r RegistryModel) bool { return r.Signed && r.SignatureOK }),
	"model.scanned":   modelCheck("scanned with no high or critical finding", func(r RegistryModel) bool { return r.Scanned && r.Dangerous == 0 }),
	"model.gated":     modelCheck("in production through the gate", func(r RegistryModel) bool { return r.GateAllow && !r.Quarantine }),
	"datasets.checked": func(st *State, m *Model, e element) Evidence {
		rm, ok, why := st.registryModel(e.asset)
		if !ok {
			return Evidence{Detail: why}
		}
		if len(rm.Datasets) == 0 {
			return Evidence{Detail: rm.Ref + " records no training datasets"}
		}
		for _, ref := range rm.Datasets {
			d, ok := st.Datasets[ref]
			if !ok {
				return Evidence{Detail: fmt.Sprintf("%s: dataset %s is not registered", rm.Ref, ref)}
			}
			if d.Contract != "passed" {
				return Evidence{Detail: fmt.Sprintf("%s: dataset %s contract: %s", rm.Ref, ref, d.Contract)}
			}
		}
		return Evidence{Holds: true, Detail: fmt.Sprintf("%s: %d datasets registered, contracts passed", rm.Ref, len(rm.Datasets))}
	},
	"keys.rate_limited": func(st *State, m *Model, e element) Evidence {
		r, ok, why := st.route(e.asset)
		if !ok {
			return Evidence{Detail: why}
		}
		var unlimited []string
		for _, k := range st.keysFor(r.Model) {
			if k.RPM <= 0 && st.DefaultRPM <= 0 {
				unlimited = append(unlimited, k.Name)
			}
		}
		if len(unlimited) > 0 {
			return Evidence{Detail: fmt.Sprintf("keys without a rate limit on %s: %s", r.Model, strings.Join(unlimited, ", "))}
		}
		return Evidence{Holds: true, Detail: fmt.Sprintf("every key that may call %s is rate-limited", r.Model)}
	},
	"keys.scoped": func(st *State, m *Model, e element) Evidence {
		r, ok, why := st.route(e.asset)
		if !ok {
			return Evidence{Detail: why}
		}
		var broad []string
		for _, k := range st.keysFor(r.Model) {
			if slices.Contains(k.Models, "*") || slices.ContainsFunc(k.Scopes, func(s string) bool { return strings.HasPrefix(s, "admin") }) {
				broad = append(broad, k.Name)
			}
		}
		if len(broad) > 0 {
			return Evidence{Detail: fmt.Sprintf("keys that may call %s with every model or an admin scope: %s", r.Model, strings.Join(broad, ", "))}
		}
		return Evidence{Holds: true, Detail: fmt.Sprintf("every key that may call %s names its models and has no admin scope", r.Model)}
	},
	"audit.fail_closed": func(st *State, m *Model, e element) Evidence {
		if st.AuditFailClosed {
			return Evidence{Holds: true, Detail: "the audit log is fail-closed: a request it cannot record is refused"}
		}
		return Evidence{Detail: "the audit log is best-effort: requests are served when it cannot record them"}
	},
	"audit.witnessed": func(st *State, m *Model, e element) Evidence {
		if st.AuditWitnessed {
			return Evidence{Holds: true, Detail: "checkpoints go to a witness"}
		}
		return Evidence{Detail: "no witness holds the log's checkpoints"}
	},
	"flow.authenticated": func(st *State, m *Model, e element) Evidence {
		to := m.asset(e.flow.To)
		if r, ok, why := st.route(to); ok {
			return Evidence{Holds: true, Detail: fmt.Sprintf("%s goes through the gateway's route %s, which authenticates every caller", e.flow.ID, r.Model)}
		} else if servedRef(to) {
			return Evidence{Detail: fmt.Sprintf("%s is bound to %s: %s", e.flow.To, to.Ref, why)}
		}
		if e.flow.Auth != "" && e.flow.Auth != "none" {
			return Evidence{Holds: true, Declared: true, Detail: fmt.Sprintf("declared auth %s (not verifiable: %s is not behind the gateway)", e.flow.Auth, e.flow.To)}
		}
		return Evidence{Detail: fmt.Sprintf("%s declares no authentication and %s is not behind the gateway", e.flow.ID, e.flow.To)}
	},
	"flow.encrypted": func(st *State, m *Model, e element) Evidence {
		to := m.asset(e.flow.To)
		if r, ok, why := st.route(to); !ok && servedRef(to) {
			return Evidence{Detail: fmt.Sprintf("%s is bound to %s: %s", e.flow.To, to.Ref, why)}
		} else if ok {
			if st.GatewayTLS {
				return Evidence{Holds: true, Detail: fmt.Sprintf("the gateway serves %s over TLS", r.Model)}
			}
			return Evidence{Detail: fmt.Sprintf("the gateway serves %s without TLS", r.Model)}
		}
		from := m.asset(e.flow.From)
		if r, ok, _ := st.route(from); ok && to != nil && to.Type != AssetUser {
			if r.UpstreamTLS {
				return Evidence{Holds: true, Detail: fmt.Sprintf("route %s reaches its upstream over TLS", r.Model)}
			}
		}
		if e.flow.Encrypted || slices.Contains([]string{"https", "grpcs", "tls", "mtls", "wss"}, strings.ToLower(e.flow.Protocol)) {
			return Evidence{Holds: true, Declared: true, Detail: fmt.Sprintf("declared encrypted (%s)", e.flow.Protocol)}
		}
		return Evidence{Detail: fmt.Sprintf("%s is not encrypted (%s)", e.flow.ID, or(e.flow.Protocol, "protocol not given"))}
	},
}

// servedRef says whether an asset claims to be served by the gateway:
// its evidence must then be live.
func servedRef(a *Asset) bool {
	return a != nil && (strings.HasPrefix(a.Ref, "route:") || strings.HasPrefix(a.Ref, "registry:"))
}

// CheckNames lists the mitigations with a live check.
func CheckNames() []string {
	var out []string
	for k := range checks {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func guardCheck(inputOnly bool, types ...string) check {
	return func(st *State, m *Model, e element) Evidence {
		r, ok, why := st.route(e.asset)
		if !ok {
			return Evidence{Detail: why}
		}
		guards := r.InputGuards
		if !inputOnly {
			guards = append(slices.Clone(r.InputGuards), r.OutputGuards...)
		}
		for _, t := range types {
			if slices.Contains(guards, t) {
				return Evidence{Holds: true, Detail: fmt.Sprintf("route %s runs the %s guard", r.Model, t)}
			}
		}
		return Evidence{Detail: fmt.Sprintf("route %s runs no %s guard", r.Model, strings.Join(types, " or "))}
	}
}

func outputGuardCheck(types ...string) check {
	return func(st *State, m *Model, e element) Evidence {
		r, ok, why := st.route(e.asset)
		if !ok && e.asset != nil && (e.asset.Type == AssetTool || e.asset.Type == AssetAgent) {
			return driversGuarded(st, m, e.asset, types)
		}
		if !ok {
			return Evidence{Detail: why}
		}
		for _, t := range types {
			if slices.Contains(r.OutputGuards, t) {
				return Evidence{Holds: true, Detail: fmt.Sprintf("route %s runs the %s guard on answers", r.Model, t)}
			}
		}
		return Evidence{Detail: fmt.Sprintf("route %s runs no %s guard on answers", r.Model, strings.Join(types, " or "))}
	}
}

// driversGuarded checks a tool or an agent through the models that drive
// it: every model with a flow into it must guard its answers.
func driversGuarded(st *State, m *Model, a *Asset, types []string) Evidence {
	var drivers []string
	for _, f := range m.Flows {
		if f.To != a.ID {
			continue
		}
		from := m.asset(f.From)
		if from == nil || from.Type != AssetModel {
			continue
		}
		r, ok, why := st.route(from)
		if !ok {
			return Evidence{Detail: fmt.Sprintf("%s drives %s: %s", from.ID, a.ID, why)}
		}
		if !slices.ContainsFunc(types, func(t string) bool { return slices.Contains(r.OutputGuards, t) }) {
			return Evidence{Detail: fmt.Sprintf("route %s drives %s and runs no %s guard on answers", r.Model, a.ID, strings.Join(types, " or "))}
		}
		drivers = append(drivers, r.Model)
	}
	if len(drivers) == 0 {
		return Evidence{Detail: fmt.Sprintf("no model behind the gateway drives %s", a.ID)}
	}
	return Evidence{Holds: true, Detail: fmt.Sprintf("the routes that drive %s (%s) guard their answers", a.ID, strings.Join(drivers, ", "))}
}

func modelCheck(what string, ok func(RegistryModel) bool) check {
	return func(st *State, m *Model, e element) Evidence {
		rm, found, why := st.registryModel(e.asset)
		if !found {
			return Evidence{Detail: why}
		}
		if ok(rm) {
			return Evidence{Holds: true, Detail: rm.Ref + " is " + what}
		}
		return Evidence{Detail: rm.Ref + " is not " + what}
	}
}

// route finds the gateway route an asset is served by: route:MODEL, or
// the route that serves registry:NAME.
func (st *State) route(a *Asset) (Route, bool, string) {
	if a == nil || a.Ref == "" {
		return Route{}, false, "the asset has no ref binding it to a route or a registry model"
	}
	kind, name, _ := ParseRef(a.Ref)
	switch kind {
	case "route":
		if r, ok := st.Routes[name]; ok {
			return r, true, ""
		}
		return Route{}, false, fmt.Sprintf("no gateway route %s", name)
	case "registry":
		name, _, _ = strings.Cut(name, "@")
		for _, r := range st.Routes {
			if r.Registry == name {
				return r, true, ""
			}
		}
		return Route{}, false, fmt.Sprintf("no gateway route serves registry model %s", name)
	}
	return Route{}, false, fmt.Sprintf("%s is not a route or a registry model", a.Ref)
}

// registryModel finds the registry version an asset stands for: the
// version named, or the one serving.
func (st *State) registryModel(a *Asset) (RegistryModel, bool, string) {
	if a == nil || a.Ref == "" {
		return RegistryModel{}, false, "the asset has no ref binding it to a registry model"
	}
	kind, name, _ := ParseRef(a.Ref)
	if kind == "route" {
		r, ok := st.Routes[name]
		if !ok || r.Registry == "" {
			return RegistryModel{}, false, fmt.Sprintf("route %s does not serve a registry model: nothing records what it serves", name)
		}
		kind, name = "registry", r.Registry
	}
	if kind != "registry" {
		return RegistryModel{}, false, fmt.Sprintf("%s is not a registry model", a.Ref)
	}
	base, version, hasVersion := strings.Cut(name, "@")
	if !hasVersion || version == "production" {
		v, ok := st.Serving[base]
		if !ok {
			return RegistryModel{}, false, fmt.Sprintf("registry model %s has no version serving", base)
		}
		version = v
	}
	rm, ok := st.Models[base+"@"+version]
	if !ok {
		return RegistryModel{}, false, fmt.Sprintf("registry model %s@%s is not registered", base, version)
	}
	return rm, true, ""
}

// keysFor returns the live keys that may call a model.
func (st *State) keysFor(model string) []Key {
	var out []Key
	for _, k := range st.Keys {
		if slices.Contains(k.Models, "*") || slices.Contains(k.Models, model) {
			out = append(out, k)
		}
	}
	return out
}
