package vulndb

import (
	"slices"
	"strconv"
	"strings"

	"github.com/modelgate/modelgate/supplychain/pep440"
)

// Verdicts.
const (
	Affected         = "affected"
	PossiblyAffected = "possibly-affected"
)

// maxListed bounds the affected versions a possibly-affected match lists.
const maxListed = 10

// Match is an advisory that applies to a dependency.
type Match struct {
	Advisory Advisory `json:"advisory"`
	Verdict  string   `json:"verdict"`
	// Allowed are affected versions the requirement allows (possibly
	// affected), newest first, up to ten of AllowedCount; Range says
	// which when OSV enumerates none.
	Allowed      []string `json:"allowed_affected_versions,omitempty"`
	AllowedCount int      `json:"allowed_affected_count,omitempty"`
	Range        string   `json:"allowed_affected_range,omitempty"`
}

// CheckVersion returns the advisories that affect an exact version (a
// pin, a lock or an installed package).
func CheckVersion(advs []Advisory, v pep440.Version) []Match {
	var out []Match
	for i := range advs {
		if advs[i].Affects(v) {
			out = append(out, Match{Advisory: advs[i], Verdict: Affected})
		}
	}
	return out
}

// CheckSet returns the advisories whose affected versions the set
// allows: the dependency may resolve to one of them. Pre-releases count
// only where the set names one, as an installer would choose.
func CheckSet(advs []Advisory, set pep440.Set) []Match {
	var out []Match
	pre := set.AllowsPrereleases()
	lo, hi := setBounds(set)
	for i := range advs {
		a := &advs[i]
		a.prepare()
		m := Match{Advisory: *a, Verdict: PossiblyAffected}
		var allowed []pep440.Version
		for _, v := range a.parsed {
			if set.Contains(v) && (pre || !v.IsPrerelease()) {
				allowed = append(allowed, v)
			}
		}
		if len(allowed) > 0 {
			slices.SortFunc(allowed, func(x, y pep440.Version) int { return pep440.Compare(y, x) })
			m.AllowedCount = len(allowed)
			for _, v := range allowed[:min(len(allowed), maxListed)] {
				m.Allowed = append(m.Allowed, v.String())
			}
			out = append(out, m)
			continue
		}
		if len(a.parsed) > 0 {
			// OSV enumerated the affected versions and the set allows
			// none of them.
			continue
		}
		var ranges []string
		for _, b := range a.ranges {
			if r, ok := intersect(lo, hi, b); ok {
				ranges = append(ranges, r)
			}
		}
		if len(ranges) > 0 {
			m.Range = strings.Join(ranges, " or ")
			out = append(out, m)
		}
	}
	return out
}

// bound is one end of an interval; a nil version is unbounded.
type bound struct {
	v         *pep440.Version
	inclusive bool
}

// setBounds returns the interval a set's clauses confine versions to
// (!= and wildcard exclusions aside: they cut points, not ranges).
func setBounds(set pep440.Set) (lo, hi bound) {
	raise := func(b bound) {
		if lo.v == nil || pep440.Compare(*b.v, *lo.v) > 0 || pep440.Compare(*b.v, *lo.v) == 0 && !b.inclusive {
			lo = b
		}
	}
	lower := func(b bound) {
		if hi.v == nil || pep440.Compare(*b.v, *hi.v) < 0 || pep440.Compare(*b.v, *hi.v) == 0 && !b.inclusive {
			hi = b
		}
	}
	for _, sp := range set {
		v := sp.Version
		switch sp.Op {
		case ">=":
			raise(bound{&v, true})
		case ">":
			raise(bound{&v, false})
		case "<=":
			lower(bound{&v, true})
		case "<":
			lower(bound{&v, false})
		case "==":
			raise(bound{&v, true})
			if sp.Wildcard {
				next := bump(v.Release, len(v.Release))
				lower(bound{&next, false})
			} else {
				lower(bound{&v, true})
			}
		case "~=":
			raise(bound{&v, true})
			next := bump(v.Release, len(v.Release)-1)
			lower(bound{&next, false})
		}
	}
	return lo, hi
}

// bump returns the release after the first n parts: 1.4.5 bumped at 2 is 1.5.
func bump(release []int, n int) pep440.Version {
	r := slices.Clone(release[:n])
	r[n-1]++
	return pep440.MustParse(joinInts(r))
}

func joinInts(r []int) string {
	var b strings.Builder
	for i, x := range r {
		if i > 0 {
			b.WriteByte('.')
		}
		b.WriteString(strconv.Itoa(x))
	}
	return b.String()
}

// intersect returns the part of an affected range the set's interval
// allows, written as a specifier set, and whether there is one.
func intersect(lo, hi bound, r bounds) (string, bool) {
	if r.bad {
		return "", false
	}
	if r.lo != nil && (lo.v == nil || pep440.Compare(*r.lo, *lo.v) > 0) {
		lo = bound{r.lo, true}
	}
	if r.hi != nil && (hi.v == nil || pep440.Compare(*r.hi, *hi.v) < 0 || pep440.Compare(*r.hi, *hi.v) == 0 && !r.inclusive) {
		hi = bound{r.hi, r.inclusive}
	}
	if lo.v != nil && hi.v != nil {
		c := pep440.Compare(*lo.v, *hi.v)
		if c > 0 || c == 0 && !(lo.inclusive && hi.inclusive) {
			return "", false
		}
	}
	var parts []string
	if lo.v != nil {
		op := ">"
		if lo.inclusive {
			op = ">="
		}
		parts = append(parts, op+lo.v.String())
	}
	if hi.v != nil {
		op := "<"
		if hi.inclusive {
			op = "<="
		}
		parts = append(parts, op+hi.v.String())
	}
	if len(parts) == 0 {
		return "any version", true
	}
	return strings.Join(parts, ","), true
}
