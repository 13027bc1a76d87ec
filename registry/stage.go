package registry

import (
	"fmt"
	"slices"
)

// Stage is where a model version stands in its life.
type Stage string

// Stages. A version starts as a candidate, is tried in staging, serves in
// production and is retired when replaced. Quarantine takes a version out
// of service at any point; it leads only to retirement, so a version that
// was quarantined never serves again (register a new version instead).
const (
	Candidate   Stage = "candidate"
	Staging     Stage = "staging"
	Production  Stage = "production"
	Retired     Stage = "retired"
	Quarantined Stage = "quarantined"
)

// transitions are the legal moves. Retired → production is how a rollback
// brings back a version that served before.
var transitions = map[Stage][]Stage{
	Candidate:   {Staging, Retired, Quarantined},
	Staging:     {Production, Candidate, Retired, Quarantined},
	Production:  {Retired, Quarantined},
	Retired:     {Production, Quarantined},
	Quarantined: {Retired},
}

// ParseStage parses a stage name.
func ParseStage(s string) (Stage, error) {
	if _, ok := transitions[Stage(s)]; !ok {
		return "", fmt.Errorf("unknown stage %q (candidate, staging, production, retired or quarantined)", s)
	}
	return Stage(s), nil
}

// CanMove reports whether a version may move from one stage to another.
func CanMove(from, to Stage) error {
	next, ok := transitions[from]
	if !ok {
		return fmt.Errorf("unknown stage %q", from)
	}
	if _, ok := transitions[to]; !ok {
		return fmt.Errorf("unknown stage %q", to)
	}
	if from == to {
		return fmt.Errorf("the version is already in %s", to)
	}
	if !slices.Contains(next, to) {
		return fmt.Errorf("a version cannot move from %s to %s (from %s it may go to %v)", from, to, from, next)
	}
	return nil
}
