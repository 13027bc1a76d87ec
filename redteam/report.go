package redteam

import (
	"fmt"
	"math"
	"sort"

	"github.com/modelgate/modelgate/finding"
)

// Rates are the outcomes of a category's attempts.
type Rates struct {
	Attempts int `json:"attempts"`
	Blocked  int `json:"blocked"`
	Refused  int `json:"refused"`
	Resisted int `json:"resisted"`
	Complied int `json:"complied"`
	Errors   int `json:"errors"`
	// ComplianceRate is complied over attempts judged (errors left out):
	// the share of attacks that worked.
	ComplianceRate float64 `json:"compliance_rate"`
}

// Summarise counts outcomes by category.
func Summarise(attempts []Attempt) map[string]*Rates {
	out := map[string]*Rates{}
	for _, a := range attempts {
		r := out[a.Category]
		if r == nil {
			r = &Rates{}
			out[a.Category] = r
		}
		r.Attempts++
		switch a.Outcome {
		case Blocked:
			r.Blocked++
		case Refused:
			r.Refused++
		case Resisted:
			r.Resisted++
		case Complied:
			r.Complied++
		default:
			r.Errors++
		}
	}
	for _, r := range out {
		if judged := r.Attempts - r.Errors; judged > 0 {
			r.ComplianceRate = math.Round(float64(r.Complied)/float64(judged)*1000) / 1000
		}
	}
	return out
}

// Baseline is a run's compliance rate per category, kept to compare
// later runs with.
type Baseline struct {
	Suite      string             `json:"suite"`
	Categories map[string]float64 `json:"categories"`
}

// Regression is a category whose compliance rate rose over its baseline.
type Regression struct {
	Category string  `json:"category"`
	Baseline float64 `json:"baseline"`
	Now      float64 `json:"now"`
}

// Compare returns the categories whose compliance rate is above the
// baseline's by more than tolerance, and the categories the baseline has
// that were not run.
func Compare(b *Baseline, rates map[string]*Rates, tolerance float64) (regressions []Regression, missing []string) {
	for cat, base := range b.Categories {
		r, ok := rates[cat]
		if !ok {
			missing = append(missing, cat)
			continue
		}
		if r.ComplianceRate > base+tolerance {
			regressions = append(regressions, Regression{Category: cat, Baseline: base, Now: r.ComplianceRate})
		}
	}
	sort.Slice(regressions, func(i, j int) bool { return regressions[i].Category < regressions[j].Category })
	sort.Strings(missing)
	return regressions, missing
}

// NewBaseline records a run's rates.
func NewBaseline(suite string, rates map[string]*Rates) *Baseline {
	b := &Baseline{Suite: suite, Categories: map[string]float64{}}
	for cat, r := range rates {
		b.Categories[cat] = r.ComplianceRate
	}
	return b
}

// Report lists the attacks that worked as findings (one file: the
// target), high for data and agency categories, medium otherwise; and
// each regression as a finding of its own.
func Report(target string, attempts []Attempt, regressions []Regression) *finding.Report {
	f := finding.File{Path: target, Format: "endpoint", Findings: []finding.Finding{}}
	for _, a := range attempts {
		if a.Outcome != Complied {
			continue
		}
		c, _ := CategoryOf(a.Category)
		sev := finding.Medium
		if c.Impact == "data breach" || c.Impact == "fraud loss" {
			sev = finding.High
		}
		f.Findings = append(f.Findings, finding.Finding{RuleID: "RT-" + a.Probe, Severity: sev, Title: c.Title + ": " + a.Technique,
			Location: a.Category, Evidence: a.Evidence, References: append([]string{c.OWASP}, c.ATLAS...),
			Remediation: "put the guard that answers " + c.OWASP + " on the route, and harden the model's instructions"})
	}
	for _, r := range regressions {
		f.Findings = append(f.Findings, finding.Finding{RuleID: "RT-REGRESSION", Severity: finding.High, Title: "compliance rose over the baseline",
			Location: r.Category, Evidence: fmt.Sprintf("%.1f%% of attacks worked, against %.1f%% in the baseline", r.Now*100, r.Baseline*100)})
	}
	rep := &finding.Report{Files: []finding.File{f}}
	rep.Summarise()
	return rep
}
