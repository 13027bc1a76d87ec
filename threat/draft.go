package threat

import (
	"cmp"
	"slices"
	"strings"
)

// Draft writes a first threat model from the deployed state: the gateway
// and its routes, the model servers behind them, the callers (keys and
// identities) and what they may call, the registry models the routes
// serve with their training datasets. It is a start: the author adds
// what modelgate cannot know (who the callers are, what data flows, what
// each asset is worth) and settles the risks.
func Draft(name string, st *State, estate ...EstateAsset) *Model {
	f := false
	m := &Model{System: System{Name: name, Owner: "TODO: who answers for this system",
		Description: "Drafted by modelgate threat init from the gateway, the registry and the audit log."},
		Boundaries: []Boundary{
			{ID: "callers", Name: "Callers", Trusted: &f},
			{ID: "gateway", Name: "modelgate gateway"},
			{ID: "serving", Name: "Model serving"},
			{ID: "data", Name: "Training data"},
			{ID: "estate", Name: "Found in the estate (inventory)"},
			{ID: "siem", Name: "Security monitoring"},
		}}
	routes := make([]Route, 0, len(st.Routes))
	for _, r := range st.Routes {
		routes = append(routes, r)
	}
	slices.SortFunc(routes, func(a, b Route) int { return cmp.Compare(a.Model, b.Model) })
	for _, r := range routes {
		id := "model-" + slug(r.Model)
		tags := []string{}
		switch r.Protocol {
		case "kserve_v2":
			tags = append(tags, "classifier")
		default:
			tags = append(tags, "llm")
		}
		m.Assets = append(m.Assets, Asset{ID: id, Name: r.Model, Type: AssetModel, Boundary: "serving", Ref: "route:" + r.Model, Tags: tags, Value: "medium"})
		if r.Registry == "" {
			continue
		}
		rm, ok, _ := st.registryModel(&Asset{Ref: "registry:" + r.Registry})
		if !ok {
			continue
		}
		for _, ref := range rm.Datasets {
			did := "dataset-" + slug(ref)
			if m.asset(did) == nil {
				m.Assets = append(m.Assets, Asset{ID: did, Name: ref, Type: AssetDataset, Boundary: "data", Ref: "dataset:" + ref, Classification: "confidential"})
			}
			m.Flows = append(m.Flows, Flow{ID: "train-" + slug(ref) + "-" + slug(r.Model), From: did, To: id, Protocol: "file", Auth: "none", Tags: []string{"training"}})
		}
	}
	keys := slices.Clone(st.Keys)
	slices.SortFunc(keys, func(a, b Key) int { return cmp.Compare(a.Name, b.Name) })
	for _, k := range keys {
		ref := "key:" + k.Name
		if after, ok := strings.CutPrefix(k.Name, "identity:"); ok {
			ref = "identity:" + after
		}
		id := "caller-" + slug(k.Name)
		m.Assets = append(m.Assets, Asset{ID: id, Name: k.Name, Type: AssetService, Boundary: "callers", Ref: ref})
		for _, r := range routes {
			if slices.Contains(k.Models, "*") || slices.Contains(k.Models, r.Model) {
				m.Flows = append(m.Flows, Flow{ID: slug(k.Name) + "-to-" + slug(r.Model), From: id, To: "model-" + slug(r.Model), Protocol: "https", Auth: "key", Encrypted: st.GatewayTLS})
			}
		}
	}
	// Callers the audit log saw that no live key stands for (revoked or
	// expired since) are drafted too: they are part of the system's story.
	for _, o := range st.Observed {
		id := "caller-" + slug(strings.TrimPrefix(strings.TrimPrefix(o.Caller, "key:"), "identity:"))
		if m.asset(id) == nil {
			m.Assets = append(m.Assets, Asset{ID: id, Name: o.Caller, Type: AssetService, Boundary: "callers", Ref: o.Caller, Tags: []string{"seen-in-audit-log"}})
		}
	}
	// The audit log and where its forwarders send it: who asked what is
	// confidential, and it leaves the gateway.
	if len(st.Forwarders) > 0 {
		m.Assets = append(m.Assets, Asset{ID: "audit-log", Name: "modelgate audit log", Type: AssetStore, Boundary: "gateway", Classification: "confidential"})
		for _, f := range st.Forwarders {
			id := "siem-" + slug(f.Name)
			m.Assets = append(m.Assets, Asset{ID: id, Name: f.Name + " (" + f.Type + ")", Type: AssetExternal, Boundary: "siem"})
			m.Flows = append(m.Flows, Flow{ID: "forward-" + slug(f.Name), From: "audit-log", To: id, Protocol: f.Type, Auth: "none", Encrypted: f.Encrypted, Classification: "confidential"})
		}
	}
	addEstate(m, estate)
	// Boundaries nothing was drafted into are left out.
	m.Boundaries = slices.DeleteFunc(m.Boundaries, func(b Boundary) bool {
		return !slices.ContainsFunc(m.Assets, func(a Asset) bool { return a.Boundary == b.ID })
	})
	return m
}

// EstateAsset is an AI asset the inventory found: a model file, a
// dataset, a model server's configuration, an MCP server.
type EstateAsset struct {
	Kind string // model, dataset, serving, mcp-server
	Name string
	Path string
	// Registered is the registry version a model file belongs to.
	Registered string
	// Personal says a dataset holds personal data.
	Personal bool
}

// addEstate drafts the inventory's assets that nothing else stands for:
// models not yet bound (registered ones by their registry version),
// datasets (confidential when they hold personal data), model servers
// and MCP servers. Each is a question for the author: what reaches it?
func addEstate(m *Model, estate []EstateAsset) {
	for _, e := range estate {
		a := Asset{Name: e.Name, Boundary: "estate", Tags: []string{"from-inventory"}}
		switch e.Kind {
		case "model":
			a.ID, a.Type = "inv-model-"+slug(e.Path), AssetModel
			if e.Registered != "" {
				a.Ref = "registry:" + e.Registered
			} else {
				a.Tags = append(a.Tags, "unregistered")
			}
		case "dataset":
			a.ID, a.Type = "inv-dataset-"+slug(e.Path), AssetDataset
			if e.Personal {
				a.Classification = "confidential"
			}
		case "serving":
			a.ID, a.Type = "inv-server-"+slug(e.Path+" "+e.Name), AssetEndpoint
		case "mcp-server":
			a.ID, a.Type = "inv-mcp-"+slug(e.Path+" "+e.Name), AssetTool
			a.Tags = append(a.Tags, "mcp")
		default:
			continue
		}
		if m.asset(a.ID) == nil {
			m.Assets = append(m.Assets, a)
		}
	}
}

// slug makes an id from a name: lower case letters, digits and dashes.
func slug(s string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(s) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			b.WriteRune(r)
			dash = false
		} else if !dash && b.Len() > 0 {
			b.WriteByte('-')
			dash = true
		}
	}
	return strings.TrimSuffix(b.String(), "-")
}
