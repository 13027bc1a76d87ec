package incident

import (
	"bytes"
	"fmt"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Playbook maps alerts to response steps. Run against an alert, the first
// playbook whose rules name the alert's rule (and whose severity it
// reaches) opens an incident linked to the alert and takes its steps.
type Playbook struct {
	Name string `yaml:"name"`
	// Rules are the alert rules it answers.
	Rules []string `yaml:"rules"`
	// Severity is the least severity it answers (default: any).
	Severity string         `yaml:"severity"`
	Title    string         `yaml:"title"`
	Steps    []PlaybookStep `yaml:"steps"`
}

// PlaybookStep is one step: an action and its target, where {{subject}},
// {{rule}} and {{alert}} are the alert's.
type PlaybookStep struct {
	Action string `yaml:"action"` // revoke_key, deny_ip, quarantine, rollback, evidence
	Target string `yaml:"target"`
}

var (
	playbookActions = []string{StepRevokeKey, StepDenyIP, StepQuarantine, StepRollback, StepEvidence}
	severityRank    = map[string]int{"low": 1, "medium": 2, "high": 3, "critical": 4}
)

// ParsePlaybooks reads and checks a playbook file.
func ParsePlaybooks(name string, b []byte) ([]Playbook, error) {
	var ps []Playbook
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&ps); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	for i, p := range ps {
		at := fmt.Sprintf("%s: playbook %d (%s)", name, i, p.Name)
		switch {
		case p.Name == "":
			return nil, fmt.Errorf("%s: a name is required", at)
		case len(p.Rules) == 0:
			return nil, fmt.Errorf("%s: rules (the alert rules it answers) are required", at)
		case p.Severity != "" && severityRank[p.Severity] == 0:
			return nil, fmt.Errorf("%s: severity must be low, medium, high or critical", at)
		case len(p.Steps) == 0:
			return nil, fmt.Errorf("%s: no steps", at)
		}
		for j, s := range p.Steps {
			if !slices.Contains(playbookActions, s.Action) {
				return nil, fmt.Errorf("%s: step %d: action must be one of %s, got %q", at, j, strings.Join(playbookActions, ", "), s.Action)
			}
			if s.Target == "" {
				return nil, fmt.Errorf("%s: step %d: a target is required", at, j)
			}
		}
	}
	return ps, nil
}

// Match returns the first playbook that answers an alert's rule and
// severity.
func Match(ps []Playbook, rule, severity string) (*Playbook, bool) {
	for i, p := range ps {
		if slices.Contains(p.Rules, rule) && severityRank[severity] >= severityRank[p.Severity] {
			return &ps[i], true
		}
	}
	return nil, false
}

// Expand fills a step's target (or the title) with the alert's values.
func Expand(s, alert, rule, subject string) string {
	return strings.NewReplacer("{{alert}}", alert, "{{rule}}", rule, "{{subject}}", subject).Replace(s)
}
