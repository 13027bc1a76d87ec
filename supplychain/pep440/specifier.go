package pep440

import (
	"fmt"
	"strings"
)

// Specifier is one clause of a specifier set: an operator and a version.
type Specifier struct {
	Op       string // ~=, ==, !=, <=, >=, <, >, ===
	Version  Version
	Wildcard bool   // ==1.2.* or !=1.2.*
	Raw      string // the version as written (for ===)
}

// Set is a specifier set: every clause must hold. The empty set allows
// every version.
type Set []Specifier

var operators = []string{"===", "~=", "==", "!=", "<=", ">=", "<", ">"}

// ParseSet parses a comma-separated specifier set (">=1.4,<2", "==2.*").
func ParseSet(s string) (Set, error) {
	var set Set
	for part := range strings.SplitSeq(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		sp, err := parseSpecifier(part)
		if err != nil {
			return nil, fmt.Errorf("specifier %q: %w", s, err)
		}
		set = append(set, sp)
	}
	return set, nil
}

func parseSpecifier(s string) (Specifier, error) {
	for _, op := range operators {
		rest, ok := strings.CutPrefix(s, op)
		if !ok {
			continue
		}
		rest = strings.TrimSpace(rest)
		sp := Specifier{Op: op, Raw: rest}
		if op == "===" {
			return sp, nil
		}
		if w, ok := strings.CutSuffix(rest, ".*"); ok {
			if op != "==" && op != "!=" {
				return sp, fmt.Errorf("%s with a wildcard", op)
			}
			sp.Wildcard, rest = true, w
		}
		v, err := Parse(rest)
		if err != nil {
			return sp, err
		}
		if sp.Wildcard && (v.PreKind != "" || v.Post >= 0 || v.Dev >= 0 || len(v.Local) > 0) {
			return sp, fmt.Errorf("a wildcard applies to a release only")
		}
		if op == "~=" && len(v.Release) < 2 {
			return sp, fmt.Errorf("~= needs a version of two parts or more")
		}
		if len(v.Local) > 0 && op != "==" && op != "!=" {
			return sp, fmt.Errorf("%s with a local version", op)
		}
		sp.Version = v
		return sp, nil
	}
	return Specifier{}, fmt.Errorf("no operator in %q", s)
}

// String writes the set as PEP 440 does.
func (s Set) String() string {
	parts := make([]string, len(s))
	for i, sp := range s {
		parts[i] = sp.String()
	}
	return strings.Join(parts, ",")
}

func (sp Specifier) String() string {
	if sp.Op == "===" {
		return "===" + sp.Raw
	}
	v := sp.Version.Normal()
	if sp.Wildcard {
		v += ".*"
	}
	return sp.Op + v
}

// Pin returns the version a set pins exactly (one == clause without a
// wildcard, or ===), if it does.
func (s Set) Pin() (Version, bool) {
	for _, sp := range s {
		switch {
		case sp.Op == "==" && !sp.Wildcard:
			return sp.Version, true
		case sp.Op == "===":
			if v, err := Parse(sp.Raw); err == nil {
				return v, true
			}
		}
	}
	return Version{}, false
}

// AllowsPrereleases reports whether the set names a pre-release, in which
// case pip considers pre-releases for it.
func (s Set) AllowsPrereleases() bool {
	for _, sp := range s {
		if sp.Op != "!=" && sp.Version.IsPrerelease() {
			return true
		}
	}
	return false
}

// Contains reports whether v satisfies every clause. Pre-releases are
// judged like any version here: whether an installer would pick one is
// AllowsPrereleases' question.
func (s Set) Contains(v Version) bool {
	for _, sp := range s {
		if !sp.Contains(v) {
			return false
		}
	}
	return true
}

// Contains reports whether v satisfies the clause.
func (sp Specifier) Contains(v Version) bool {
	switch sp.Op {
	case "===":
		return strings.EqualFold(v.raw, sp.Raw)
	case "==":
		return sp.equal(v)
	case "!=":
		return !sp.equal(v)
	case "~=":
		prefix := Specifier{Op: "==", Version: Version{Epoch: sp.Version.Epoch, Release: sp.Version.Release[:len(sp.Version.Release)-1]}, Wildcard: true}
		return Compare(v, sp.Version) >= 0 && prefix.equal(v)
	case "<=":
		return Compare(v.Public(), sp.Version) <= 0
	case ">=":
		return Compare(v.Public(), sp.Version) >= 0
	case "<":
		// <V excludes V's own pre-releases unless V is one.
		if Compare(v, sp.Version) >= 0 {
			return false
		}
		return sp.Version.IsPrerelease() || !v.IsPrerelease() || cmpRelease(v.Release, sp.Version.Release) != 0 || v.Epoch != sp.Version.Epoch
	case ">":
		// >V excludes V's post-releases unless V is one, and V's local
		// versions.
		if Compare(v.Public(), sp.Version) <= 0 {
			return false
		}
		if !sp.Version.IsPostrelease() && v.IsPostrelease() && cmpRelease(v.Release, sp.Version.Release) == 0 && v.Epoch == sp.Version.Epoch && v.PreKind == sp.Version.PreKind && v.Pre == sp.Version.Pre {
			return false
		}
		return true
	}
	return false
}

// equal is == (and the test under !=): a wildcard matches the release
// prefix; a version without a local part matches every local version.
func (sp Specifier) equal(v Version) bool {
	if sp.Wildcard {
		if v.Epoch != sp.Version.Epoch {
			return false
		}
		for i, r := range sp.Version.Release {
			x := 0
			if i < len(v.Release) {
				x = v.Release[i]
			}
			if x != r {
				return false
			}
		}
		return true
	}
	if len(sp.Version.Local) == 0 {
		v = v.Public()
	}
	return Compare(v, sp.Version) == 0
}
