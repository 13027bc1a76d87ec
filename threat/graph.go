package threat

import "slices"

// graph indexes a model for the checks: assets by id, flows by end.
type graph struct {
	m       *Model
	assets  map[string]*Asset
	inbound map[string][]*Flow
	nearby  map[string][]string // assets one flow away, either way
}

func newGraph(m *Model) *graph {
	g := &graph{m: m, assets: map[string]*Asset{}, inbound: map[string][]*Flow{}, nearby: map[string][]string{}}
	for i := range m.Assets {
		g.assets[m.Assets[i].ID] = &m.Assets[i]
	}
	for i := range m.Flows {
		f := &m.Flows[i]
		g.inbound[f.To] = append(g.inbound[f.To], f)
		g.nearby[f.To] = append(g.nearby[f.To], f.From)
		g.nearby[f.From] = append(g.nearby[f.From], f.To)
	}
	return g
}

func (e element) id() string {
	if e.asset != nil {
		return e.asset.ID
	}
	return e.flow.ID
}

func (e element) name() string {
	if e.asset != nil {
		return or(e.asset.Name, e.asset.ID)
	}
	return e.flow.From + " → " + e.flow.To
}

func (g *graph) elements(kind string) []element {
	var out []element
	if kind == "asset" {
		for i := range g.m.Assets {
			out = append(out, element{asset: &g.m.Assets[i]})
		}
		return out
	}
	for i := range g.m.Flows {
		out = append(out, element{flow: &g.m.Flows[i]})
	}
	return out
}

func rank(list []string, s string) int { return slices.Index(list, s) }

// classification is the most sensitive data an asset holds or receives.
func (g *graph) classification(a *Asset) int {
	c := rank(classifications, a.Classification)
	for _, f := range g.inbound[a.ID] {
		c = max(c, rank(classifications, f.Classification))
	}
	return c
}

func (g *graph) flowClassification(f *Flow) int {
	if f.Classification != "" {
		return rank(classifications, f.Classification)
	}
	c := -1
	for _, id := range []string{f.From, f.To} {
		if a := g.assets[id]; a != nil {
			c = max(c, rank(classifications, a.Classification))
		}
	}
	return c
}

// untrusted says whether an asset is outside the system's control: a user
// or an external party, or in an untrusted boundary.
func (g *graph) untrusted(id string) bool {
	a := g.assets[id]
	return a == nil || a.Type == AssetUser || a.Type == AssetExternal || !g.m.trusted(a.Boundary)
}

func (g *graph) applies(c Conditions, e element) bool {
	if a := e.asset; a != nil {
		if len(c.Types) > 0 && !slices.Contains(c.Types, a.Type) {
			return false
		}
		if len(c.TagsAny) > 0 && !slices.ContainsFunc(a.Tags, func(t string) bool { return slices.Contains(c.TagsAny, t) }) {
			return false
		}
		if c.MinClassification != "" && g.classification(a) < rank(classifications, c.MinClassification) {
			return false
		}
		if c.MinValue != "" && rank(values, a.Value) < rank(values, c.MinValue) {
			return false
		}
		in := g.inbound[a.ID]
		if c.HasInbound && len(in) == 0 {
			return false
		}
		if len(c.HasInboundFromTypes) > 0 && !slices.ContainsFunc(in, func(f *Flow) bool {
			from := g.assets[f.From]
			return from != nil && slices.Contains(c.HasInboundFromTypes, from.Type)
		}) {
			return false
		}
		return true
	}
	f := e.flow
	from, to := g.assets[f.From], g.assets[f.To]
	if from == nil || to == nil {
		return false
	}
	if len(c.FromTypes) > 0 && !slices.Contains(c.FromTypes, from.Type) {
		return false
	}
	if len(c.ToTypes) > 0 && !slices.Contains(c.ToTypes, to.Type) {
		return false
	}
	if len(c.Auth) > 0 && !slices.Contains(c.Auth, f.Auth) {
		return false
	}
	if c.CrossesBoundary && from.Boundary == to.Boundary {
		return false
	}
	if c.MinClassification != "" && g.flowClassification(f) < rank(classifications, c.MinClassification) {
		return false
	}
	return true
}

// valueImpact is the impact an asset's value implies: low 2, medium 3,
// high 4, critical 5 (unset: none).
func valueImpact(v string) int {
	if r := rank(values, v); r >= 0 {
		return r + 2
	}
	return 0
}

// score weighs a threat on an element: the library's likelihood, one
// higher when the element is reached from outside the system's control;
// the library's impact, raised to what the asset's value (or the flow's
// data) implies, and one higher next to a high- or critical-value asset.
// Both are capped at 5.
func (g *graph) score(t *Threat, e element) (likelihood, impact int) {
	likelihood, impact = t.Likelihood, t.Impact
	if a := e.asset; a != nil {
		if slices.ContainsFunc(g.inbound[a.ID], func(f *Flow) bool { return g.untrusted(f.From) }) {
			likelihood++
		}
		impact = max(impact, valueImpact(a.Value))
		if rank(values, a.Value) < rank(values, "high") && slices.ContainsFunc(g.nearby[a.ID], func(id string) bool {
			n := g.assets[id]
			return n != nil && rank(values, n.Value) >= rank(values, "high")
		}) {
			impact++
		}
	} else {
		f := e.flow
		if g.untrusted(f.From) {
			likelihood++
		}
		impact = max(impact, g.flowClassification(f)+2)
		if to := g.assets[f.To]; to != nil {
			impact = max(impact, valueImpact(to.Value))
		}
	}
	return min(likelihood, 5), min(impact, 5)
}
