package guard

import (
	"context"
	"time"
)

// Detector finds entities in one text. Detect calls emit for each finding
// with its Entity, its span in t.Text and its Score set; Segment and Action
// are filled in by the caller. Detectors are safe for concurrent use.
type Detector interface {
	Detect(t *Text, emit func(Finding))
	// Entities lists the entity types the detector can report.
	Entities() []string
}

// Policy says what a guard does with what its detector finds.
type Policy struct {
	// Default applies to entity types without an entry in Entities.
	Default  Action
	Entities map[string]Action
	// MinScore drops findings the detector is less sure of.
	MinScore float64
	// Roles, when set, limits the guard to segments with these chat roles.
	// A segment without a role is text of unknown provenance: every guard
	// reads it, whatever its roles.
	Roles []string
}

// action returns the action for an entity type.
func (p *Policy) action(entity string) Action {
	if a, ok := p.Entities[entity]; ok {
		return a
	}
	return p.Default
}

func (p *Policy) appliesTo(role string) bool { return RoleMatches(p.Roles, role) }

// RoleMatches reports whether a guard limited to roles reads a segment with
// role. No roles means every role. A segment without a role is text of
// unknown provenance, which every guard reads; "function" is the legacy
// name of a tool result, read by a guard on tool results.
func RoleMatches(roles []string, role string) bool {
	if len(roles) == 0 || role == "" {
		return true
	}
	for _, r := range roles {
		if r == role || r == "tool" && role == "function" {
			return true
		}
	}
	return false
}

// New returns a guard that runs d over every text and acts on its findings
// as p says.
func New(name string, d Detector, p Policy) Guard {
	return &detectorGuard{name: name, d: d, p: p}
}

type detectorGuard struct {
	name string
	d    Detector
	p    Policy
}

func (g *detectorGuard) Name() string { return g.name }

func (g *detectorGuard) Inspect(ctx context.Context, texts []*Text) (Result, error) {
	start := time.Now()
	res := Result{Guard: g.name}
	for i, t := range texts {
		if err := ctx.Err(); err != nil {
			return res, err
		}
		if !g.p.appliesTo(t.Role) {
			continue
		}
		g.d.Detect(t, func(f Finding) {
			res.Score = max(res.Score, f.Score)
			if f.Score < g.p.MinScore {
				return
			}
			f.Segment, f.Action = i, g.p.action(f.Entity)
			if f.Action == Ignore {
				return
			}
			res.Findings = append(res.Findings, f)
			if v := f.Action.Verdict(); v > res.Verdict {
				res.Verdict = v
			}
		})
	}
	res.Duration = time.Since(start)
	return res, nil
}
