package access

import (
	"fmt"
	"strings"
)

// Scope is a permission a principal holds.
type Scope string

// The scopes. Admin implies every other scope.
const (
	ScopeInvoke      Scope = "inference:invoke"
	ScopeModelsRead  Scope = "models:read"
	ScopeModelsWrite Scope = "models:write"
	ScopeDataWrite   Scope = "data:write"
	ScopeAuditRead   Scope = "audit:read"
	ScopeAdmin       Scope = "admin"
)

// AllScopes lists every scope in a stable order.
var AllScopes = []Scope{ScopeInvoke, ScopeModelsRead, ScopeModelsWrite, ScopeDataWrite, ScopeAuditRead, ScopeAdmin}

// ScopeSet is a set of scopes, held as bits so checks cost nothing on the
// request path.
type ScopeSet uint8

func scopeBit(s Scope) (ScopeSet, bool) {
	for i, a := range AllScopes {
		if a == s {
			return 1 << i, true
		}
	}
	return 0, false
}

// ParseScopes builds a set from scope names, rejecting unknown ones so a
// typo can never silently grant nothing (or everything).
func ParseScopes(names []string) (ScopeSet, error) {
	var set ScopeSet
	for _, n := range names {
		b, ok := scopeBit(Scope(strings.TrimSpace(n)))
		if !ok {
			return 0, fmt.Errorf("unknown scope %q (known: %s)", n, scopeList())
		}
		set |= b
	}
	return set, nil
}

// Has reports whether the set grants s. Admin grants everything.
func (set ScopeSet) Has(s Scope) bool {
	admin, _ := scopeBit(ScopeAdmin)
	if set&admin != 0 {
		return true
	}
	b, ok := scopeBit(s)
	return ok && set&b != 0
}

// Names returns the scope names in the set.
func (set ScopeSet) Names() []string {
	var out []string
	for i, s := range AllScopes {
		if set&(1<<i) != 0 {
			out = append(out, string(s))
		}
	}
	return out
}

func scopeList() string {
	names := make([]string, len(AllScopes))
	for i, s := range AllScopes {
		names[i] = string(s)
	}
	return strings.Join(names, ", ")
}
