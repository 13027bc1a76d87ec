package redteam

import (
	"cmp"
	"math"
	"slices"
)

// Gap is one category's resilience gap: the share of attacks that worked
// with the controls off and on.
type Gap struct {
	Category string   `json:"category"`
	Title    string   `json:"title"`
	OWASP    string   `json:"owasp_llm_2025"`
	ATLAS    []string `json:"atlas"`
	Impact   string   `json:"impact"`
	Off      float64  `json:"off"`
	On       float64  `json:"on"`
	// Closed is how much of the attack surface the controls closed
	// (Off − On); negative when they made it worse.
	Closed  float64 `json:"closed"`
	Blocked int     `json:"blocked_on"`
}

// ImpactGap totals the gap by business impact: the attacks that worked,
// over all attempts of the categories with that impact.
type ImpactGap struct {
	Impact     string   `json:"impact"`
	Categories []string `json:"categories"`
	Attempts   int      `json:"attempts"`
	Off        float64  `json:"off"`
	On         float64  `json:"on"`
}

// ClassifierRow compares one classifier attack with the controls off and
// on, in words a reader can take in.
type ClassifierRow struct {
	Attack  string `json:"attack"`
	Measure string `json:"measure"`
	Off     string `json:"off"`
	On      string `json:"on"`
}

// Purple is a purple-team exercise: the same attacks with the controls
// off and on.
type Purple struct {
	Off, On    *Run            `json:"-"`
	Gaps       []Gap           `json:"gaps"`
	Impacts    []ImpactGap     `json:"impacts"`
	Classifier []ClassifierRow `json:"classifier,omitempty"`
}

// ComparePurple measures the gap between a run with the controls off and one
// with them on, by category (in the library's order) and by impact.
func ComparePurple(off, on *Run) *Purple {
	p := &Purple{Off: off, On: on}
	impacts := map[string]*ImpactGap{}
	complied := map[string][2]int{}
	for _, c := range Categories {
		ro, rn := off.Rates[c.Name], on.Rates[c.Name]
		if ro == nil || rn == nil {
			continue
		}
		g := Gap{Category: c.Name, Title: c.Title, OWASP: c.OWASP, ATLAS: c.ATLAS, Impact: c.Impact,
			Off: ro.ComplianceRate, On: rn.ComplianceRate, Blocked: rn.Blocked}
		g.Closed = math.Round((g.Off-g.On)*1000) / 1000
		p.Gaps = append(p.Gaps, g)
		ig := impacts[c.Impact]
		if ig == nil {
			ig = &ImpactGap{Impact: c.Impact}
			impacts[c.Impact] = ig
		}
		ig.Categories = append(ig.Categories, c.Name)
		ig.Attempts += ro.Attempts
		n := complied[c.Impact]
		complied[c.Impact] = [2]int{n[0] + ro.Complied, n[1] + rn.Complied}
	}
	for impact, ig := range impacts {
		if ig.Attempts > 0 {
			n := complied[impact]
			ig.Off = math.Round(float64(n[0])/float64(ig.Attempts)*1000) / 1000
			ig.On = math.Round(float64(n[1])/float64(ig.Attempts)*1000) / 1000
		}
		p.Impacts = append(p.Impacts, *ig)
	}
	slices.SortFunc(p.Impacts, func(a, b ImpactGap) int {
		return cmp.Compare(b.Off-b.On, a.Off-a.On) // the widest gap first
	})
	return p
}
