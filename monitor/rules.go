// Package monitor watches the audit log's events as they are recorded and
// raises alerts: a key's volume far above its own history, token-heavy
// use, spikes of guard blocks, probing of models a key may not use, bursts
// of authentication failures, a key used from a new network or at an
// unusual hour, sensitive data leaving in answers. Rules are data (YAML,
// embedded defaults that a user file extends or overrides by id); every
// alert is itself an audit event, so it carries an inclusion proof.
package monitor

import (
	"bytes"
	_ "embed"
	"fmt"
	"slices"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

//go:embed rules.yaml
var defaultRules []byte

// Rule kinds.
const (
	// KindThreshold alerts when what a subject's matching events add up
	// to within the window reaches the threshold.
	KindThreshold = "threshold"
	// KindAnomaly alerts when a subject's count in one window is far above
	// the mean of its own earlier windows.
	KindAnomaly = "anomaly"
	// KindNewNetwork alerts when a key is used from a network it was never
	// seen on, once its usual networks are learnt.
	KindNewNetwork = "new_network"
	// KindUnusualHour alerts when a key is used at an hour of the day it
	// has (almost) never been used at, once its hours are learnt.
	KindUnusualHour = "unusual_hour"
)

// Rule is one detection rule.
type Rule struct {
	ID       string `yaml:"id"`
	Title    string `yaml:"title"`
	Severity string `yaml:"severity"` // low, medium, high, critical
	Kind     string `yaml:"kind"`
	Disabled bool   `yaml:"disabled"`
	// Match selects the events the rule counts.
	Match Match `yaml:"match"`
	// By names the subject events are counted per: key, ip, model,
	// version (model@version), route, or prompt (the gateway's keyed
	// fingerprint of the user text).
	By string `yaml:"by"`
	// Sum is what each event adds: events (1, the default), tokens,
	// entities (what the matched guards found), or detail:NAME (a number
	// in the event's details, such as the gateway's near_duplicates).
	Sum string `yaml:"sum"`
	// Distinct, when set, counts distinct values of model, route, ip or
	// key per subject instead of summing.
	Distinct  string   `yaml:"distinct"`
	Window    Duration `yaml:"window"`
	Threshold float64  `yaml:"threshold"`
	// Anomaly: Sigma standard deviations above the mean of History earlier
	// windows, and at least Threshold.
	Sigma   float64 `yaml:"sigma"`
	History int     `yaml:"history"`
	// New network and unusual hour: how many events of a key are learnt
	// before it is judged, and (new network) the prefix length that makes
	// a network.
	Learning int `yaml:"learning"`
	// LearnFor is how long a key must have been seen before it is
	// judged (default 72h): a profile learnt in an afternoon has not seen
	// the key's mornings.
	LearnFor Duration `yaml:"learn_for"`
	PrefixV4 int      `yaml:"prefix_v4"`
	PrefixV6 int      `yaml:"prefix_v6"`
	// Group folds the same rule's alerts for the same subject within this
	// time into one (default: the window, at least 15m).
	Group       Duration `yaml:"group"`
	Description string   `yaml:"description"`
}

// Match selects events. Every list given must match; an empty one matches
// all.
type Match struct {
	// Actions are action names or prefixes ending in a dot
	// ("inference.").
	Actions  []string `yaml:"actions"`
	Outcomes []string `yaml:"outcomes"`
	Reasons  []string `yaml:"reasons"`
	Status   []int    `yaml:"status"`
	// Stage and Entities select guard results: an event matches when a
	// guard of that stage (input or output; empty: either) found one of
	// the entities (empty: any).
	Stage    string   `yaml:"stage"`
	Entities []string `yaml:"entities"`
	// Details match event details exactly ({negative: "true"}).
	Details map[string]string `yaml:"details"`
}

// Duration is a time.Duration written as "5m" in YAML.
type Duration time.Duration

// UnmarshalYAML reads a duration string.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	v, err := time.ParseDuration(n.Value)
	if err != nil || v < 0 {
		return fmt.Errorf("line %d: %q is not a duration (5m, 1h)", n.Line, n.Value)
	}
	*d = Duration(v)
	return nil
}

var (
	kinds      = []string{KindThreshold, KindAnomaly, KindNewNetwork, KindUnusualHour}
	subjects   = []string{"key", "ip", "model", "version", "route", "prompt"}
	severities = []string{"low", "medium", "high", "critical"}
)

// DefaultRules returns the embedded rules.
func DefaultRules() ([]Rule, error) { return ParseRules("embedded rules.yaml", defaultRules) }

// ParseRules reads a rule list and checks every rule.
func ParseRules(name string, b []byte) ([]Rule, error) {
	var rs []Rule
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&rs); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	seen := map[string]bool{}
	for i := range rs {
		r := &rs[i]
		if err := r.check(); err != nil {
			return nil, fmt.Errorf("%s: rule %d (%s): %w", name, i, r.ID, err)
		}
		if seen[r.ID] {
			return nil, fmt.Errorf("%s: rule %s appears twice", name, r.ID)
		}
		seen[r.ID] = true
	}
	return rs, nil
}

func (r *Rule) check() error {
	switch {
	case r.ID == "" || strings.ContainsAny(r.ID, " \t\n"):
		return fmt.Errorf("an id without spaces is required")
	case !slices.Contains(kinds, r.Kind):
		return fmt.Errorf("kind must be one of %s, got %q", strings.Join(kinds, ", "), r.Kind)
	case !slices.Contains(severities, r.Severity):
		return fmt.Errorf("severity must be one of %s, got %q", strings.Join(severities, ", "), r.Severity)
	case r.Title == "":
		return fmt.Errorf("a title is required")
	}
	if r.By == "" {
		r.By = "key"
	}
	if !slices.Contains(subjects, r.By) {
		return fmt.Errorf("by must be one of %s, got %q", strings.Join(subjects, ", "), r.By)
	}
	if r.Group == 0 {
		// What crossed a limit over a window stays across it: one alert
		// a window at most, and none oftener than every 15 minutes.
		r.Group = Duration(max(15*time.Minute, time.Duration(r.Window)))
	}
	switch r.Kind {
	case KindThreshold, KindAnomaly:
		if r.Window <= 0 || r.Threshold <= 0 {
			return fmt.Errorf("a window and a threshold above 0 are required")
		}
		if r.Sum != "" && r.Sum != "events" && r.Sum != "tokens" && r.Sum != "entities" && !(strings.HasPrefix(r.Sum, "detail:") && len(r.Sum) > 7) {
			return fmt.Errorf("sum must be events, tokens, entities or detail:NAME, got %q", r.Sum)
		}
		if r.Distinct != "" && (!slices.Contains(subjects, r.Distinct) || r.Sum != "") {
			return fmt.Errorf("distinct must be one of %s, without sum", strings.Join(subjects, ", "))
		}
		if r.Kind == KindAnomaly {
			if r.Sigma <= 0 || r.History < 3 {
				return fmt.Errorf("an anomaly needs sigma above 0 and a history of at least 3 windows")
			}
			if r.Distinct != "" {
				return fmt.Errorf("an anomaly counts or sums, not distinct values")
			}
		}
	case KindNewNetwork, KindUnusualHour:
		if r.Learning < 1 {
			return fmt.Errorf("learning (events seen before the key is judged) must be at least 1")
		}
		if r.By != "key" {
			return fmt.Errorf("%s is judged per key", r.Kind)
		}
		if r.LearnFor == 0 {
			r.LearnFor = Duration(72 * time.Hour)
		}
		if r.PrefixV4 == 0 {
			r.PrefixV4 = 24
		}
		if r.PrefixV6 == 0 {
			r.PrefixV6 = 48
		}
		if r.PrefixV4 < 8 || r.PrefixV4 > 32 || r.PrefixV6 < 16 || r.PrefixV6 > 128 {
			return fmt.Errorf("prefix_v4 must be 8 to 32 and prefix_v6 16 to 128")
		}
	}
	if r.Match.Stage != "" && r.Match.Stage != "input" && r.Match.Stage != "output" {
		return fmt.Errorf("match.stage must be input or output")
	}
	return nil
}

// Merge returns the defaults with the user's rules added, a user rule with
// a default's id replacing it.
func Merge(defaults, user []Rule) []Rule {
	out := slices.Clone(defaults)
	for _, u := range user {
		if i := slices.IndexFunc(out, func(r Rule) bool { return r.ID == u.ID }); i >= 0 {
			out[i] = u
		} else {
			out = append(out, u)
		}
	}
	return out
}
