// Package kri computes key risk indicators from evidence: the audit log
// (alerts, incidents, key revocations, guard blocks, drift, feedback,
// red-team runs), the model registry and the newest inventory snapshot.
// Every indicator says how it is defined and where its figures come
// from, so that a board reads numbers an auditor can trace, never ones
// someone typed in.
package kri

import (
	"time"
)

// Indicator is one key risk indicator.
type Indicator struct {
	ID         string `json:"id"`
	Name       string `json:"name"`
	Definition string `json:"definition"`
	Source     string `json:"source"`
	Unit       string `json:"unit"` // seconds, share, count, usd
	// Value is the indicator; Known is false when the evidence holds
	// nothing to compute it from (no alert was ever acknowledged), which
	// is not the same as zero.
	Value float64 `json:"value"`
	Known bool    `json:"known"`
	// N is how many observations the value rests on.
	N int `json:"n"`
	// Breakdown splits the value (by OWASP category, model version,
	// finding source); Series is its trend, oldest first.
	Breakdown []Part  `json:"breakdown,omitempty"`
	Series    []Point `json:"series,omitempty"`
	// Worse says which way is bad: "up" (time to detect) or "down"
	// (coverage).
	Worse string `json:"worse"`
}

// Part is one slice of an indicator.
type Part struct {
	Label string  `json:"label"`
	Value float64 `json:"value"`
	N     int     `json:"n"`
}

// Point is an indicator's value over one period.
type Point struct {
	Start time.Time `json:"start"`
	Value float64   `json:"value"`
	N     int       `json:"n"`
}

// Report is a set of indicators at a moment, with the risks they point
// to and what changed since an earlier report.
type Report struct {
	Generated  time.Time   `json:"generated"`
	Since      time.Time   `json:"since"`
	Period     string      `json:"period"` // of the series: day or week
	Indicators []Indicator `json:"indicators"`
	TopRisks   []Risk      `json:"top_risks"`
	Changes    []Change    `json:"changes,omitempty"`
	// Missing names evidence the report could not read, and so the
	// indicators that rest on it are unknown.
	Missing []string `json:"missing,omitempty"`
}

// Indicator returns the report's indicator with the id, or nil.
func (r *Report) Indicator(id string) *Indicator {
	for i := range r.Indicators {
		if r.Indicators[i].ID == id {
			return &r.Indicators[i]
		}
	}
	return nil
}

// Risk is a risk in business terms, ranked by its score.
type Risk struct {
	Title    string  `json:"title"`
	Impact   string  `json:"impact"` // data breach, fraud loss, brand damage, service cost, compliance
	Evidence string  `json:"evidence"`
	Action   string  `json:"action"`
	Score    float64 `json:"score"`
}

// Change is an indicator that moved since the earlier report.
type Change struct {
	ID       string  `json:"id"`
	Name     string  `json:"name"`
	Before   float64 `json:"before"`
	After    float64 `json:"after"`
	Unit     string  `json:"unit"`
	Worsened bool    `json:"worsened"`
}

// Compare lists the indicators whose value moved between two reports.
func Compare(before, after *Report) []Change {
	var out []Change
	for _, a := range after.Indicators {
		b := before.Indicator(a.ID)
		if b == nil || !a.Known || !b.Known || a.Value == b.Value {
			continue
		}
		worse := a.Value > b.Value
		if a.Worse == "down" {
			worse = !worse
		}
		out = append(out, Change{ID: a.ID, Name: a.Name, Before: b.Value, After: a.Value, Unit: a.Unit, Worsened: worse})
	}
	return out
}
