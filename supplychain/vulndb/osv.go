// Package vulndb keeps an offline index of the OSV vulnerability database
// for PyPI and answers, for a package and a version or a specifier set,
// which advisories apply. OSV's per-ecosystem exports (a zip of one JSON
// record per advisory, https://ossf.github.io/osv-schema/) are imported
// once into a compact file; a scan then reads only the packages it asks
// about, and never the network.
package vulndb

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/modelgate/modelgate/supplychain/pep440"
)

// Advisory is what the index keeps of an OSV record, for one package.
type Advisory struct {
	ID       string    `json:"id"`
	Aliases  []string  `json:"aliases,omitempty"`
	Summary  string    `json:"summary,omitempty"`
	Severity string    `json:"severity"` // critical, high, medium, low or unknown
	CVSS     float64   `json:"cvss,omitempty"`
	Vector   string    `json:"cvss_vector,omitempty"`
	Modified time.Time `json:"modified"`
	// Ranges are the affected intervals; Versions the affected versions
	// OSV enumerates. A version is affected when either says so.
	Ranges   []Range  `json:"ranges,omitempty"`
	Versions []string `json:"versions,omitempty"`

	parsed []pep440.Version // Versions, parsed on first use
	ranges []bounds         // Ranges, parsed on first use
}

// bounds is a Range parsed; nil ends are open.
type bounds struct {
	lo, hi    *pep440.Version
	inclusive bool // hi is last_affected
	bad       bool // a version that does not parse: never matches
}

func (a *Advisory) prepare() {
	if a.parsed != nil || a.ranges != nil {
		return
	}
	a.parsed = make([]pep440.Version, 0, len(a.Versions))
	for _, s := range a.Versions {
		if v, err := pep440.Parse(s); err == nil {
			a.parsed = append(a.parsed, v)
		}
	}
	a.ranges = make([]bounds, 0, len(a.Ranges))
	for _, r := range a.Ranges {
		var b bounds
		parse := func(s string) *pep440.Version {
			v, err := pep440.Parse(s)
			if err != nil {
				b.bad = true
				return nil
			}
			return &v
		}
		if r.Introduced != "0" {
			b.lo = parse(r.Introduced)
		}
		switch {
		case r.Fixed != "":
			b.hi = parse(r.Fixed)
		case r.LastAffected != "":
			b.hi, b.inclusive = parse(r.LastAffected), true
		}
		a.ranges = append(a.ranges, b)
	}
}

// Range is one affected interval: from Introduced ("0": the beginning)
// up to Fixed (excluded) or LastAffected (included), or without end.
type Range struct {
	Introduced   string `json:"introduced"`
	Fixed        string `json:"fixed,omitempty"`
	LastAffected string `json:"last_affected,omitempty"`
}

// Malicious reports whether the advisory is of a malicious package.
func (a *Advisory) Malicious() bool { return strings.HasPrefix(a.ID, "MAL-") }

// Fixed returns the versions that fix the advisory.
func (a *Advisory) Fixed() []string {
	var out []string
	for _, r := range a.Ranges {
		if r.Fixed != "" {
			out = append(out, r.Fixed)
		}
	}
	return out
}

// osvRecord is the part of an OSV record read here.
type osvRecord struct {
	ID        string    `json:"id"`
	Modified  time.Time `json:"modified"`
	Withdrawn string    `json:"withdrawn"`
	Aliases   []string  `json:"aliases"`
	Summary   string    `json:"summary"`
	Details   string    `json:"details"`
	Severity  []struct {
		Type  string `json:"type"`
		Score string `json:"score"`
	} `json:"severity"`
	Affected []struct {
		Package struct {
			Ecosystem string `json:"ecosystem"`
			Name      string `json:"name"`
		} `json:"package"`
		Ranges []struct {
			Type   string              `json:"type"`
			Events []map[string]string `json:"events"`
		} `json:"ranges"`
		Versions         []string `json:"versions"`
		DatabaseSpecific struct {
			Severity string `json:"severity"`
		} `json:"database_specific"`
	} `json:"affected"`
	DatabaseSpecific struct {
		Severity string `json:"severity"`
	} `json:"database_specific"`
}

// pypiAdvisory is one package's view of a record.
type pypiAdvisory struct {
	pkg string
	adv Advisory
}

// parseRecord reads an OSV record and returns its PyPI advisories, one per
// affected package. A withdrawn record has none.
func parseRecord(b []byte) ([]pypiAdvisory, error) {
	var r osvRecord
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, err
	}
	if r.ID == "" {
		return nil, fmt.Errorf("record without an id")
	}
	if r.Withdrawn != "" {
		return nil, nil
	}
	base := Advisory{ID: r.ID, Aliases: r.Aliases, Modified: r.Modified, Severity: "unknown"}
	base.Summary = r.Summary
	if base.Summary == "" {
		base.Summary = firstLine(r.Details)
	}
	if len(base.Summary) > 200 {
		base.Summary = base.Summary[:200] + "…"
	}
	for _, s := range r.Severity {
		if s.Type == "CVSS_V3" {
			if score, err := CVSS3(s.Score); err == nil {
				base.CVSS, base.Vector = score, s.Score
				base.Severity = SeverityOf(score)
			}
		}
	}
	if base.Severity == "unknown" {
		base.Severity = labelSeverity(r.DatabaseSpecific.Severity)
	}
	if base.Malicious() {
		base.Severity = "critical"
	}
	var out []pypiAdvisory
	for _, aff := range r.Affected {
		if !strings.EqualFold(aff.Package.Ecosystem, "PyPI") || aff.Package.Name == "" {
			continue
		}
		a := base
		if a.Severity == "unknown" {
			a.Severity = labelSeverity(aff.DatabaseSpecific.Severity)
		}
		a.Versions = aff.Versions
		for _, rg := range aff.Ranges {
			if rg.Type != "ECOSYSTEM" {
				continue // GIT ranges name commits, not releases
			}
			a.Ranges = append(a.Ranges, eventsToRanges(rg.Events)...)
		}
		out = append(out, pypiAdvisory{pkg: Normalize(aff.Package.Name), adv: a})
	}
	return out, nil
}

func firstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	return s
}

// eventsToRanges turns OSV's events (introduced, fixed, last_affected,
// limit, in order) into intervals.
func eventsToRanges(events []map[string]string) []Range {
	var out []Range
	var open *Range
	for _, e := range events {
		switch {
		case e["introduced"] != "":
			if open != nil {
				out = append(out, *open)
			}
			open = &Range{Introduced: e["introduced"]}
		case e["fixed"] != "" && open != nil:
			open.Fixed = e["fixed"]
			out = append(out, *open)
			open = nil
		case e["last_affected"] != "" && open != nil:
			open.LastAffected = e["last_affected"]
			out = append(out, *open)
			open = nil
		}
	}
	if open != nil {
		out = append(out, *open)
	}
	return out
}

func labelSeverity(s string) string {
	switch strings.ToUpper(s) {
	case "CRITICAL":
		return "critical"
	case "HIGH":
		return "high"
	case "MODERATE", "MEDIUM":
		return "medium"
	case "LOW":
		return "low"
	}
	return "unknown"
}

var nameRuns = regexp.MustCompile(`[-_.]+`)

// Normalize returns a package name as PEP 503 compares names.
func Normalize(name string) string {
	return nameRuns.ReplaceAllString(strings.ToLower(strings.TrimSpace(name)), "-")
}

// Affects reports whether a version is affected.
func (a *Advisory) Affects(v pep440.Version) bool {
	a.prepare()
	for _, w := range a.parsed {
		if pep440.Compare(v, w) == 0 {
			return true
		}
	}
	for _, b := range a.ranges {
		if b.contains(v) {
			return true
		}
	}
	return false
}

func (b bounds) contains(v pep440.Version) bool {
	if b.bad || b.lo != nil && pep440.Compare(v, *b.lo) < 0 {
		return false
	}
	if b.hi == nil {
		return true
	}
	c := pep440.Compare(v, *b.hi)
	return c < 0 || b.inclusive && c == 0
}
