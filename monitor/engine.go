package monitor

import (
	"fmt"
	"math"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/modelgate/modelgate/audit"
)

// Alert is what a rule raised.
type Alert struct {
	ID       string    `json:"id"`
	Rule     string    `json:"rule"`
	Title    string    `json:"title"`
	Severity string    `json:"severity"`
	By       string    `json:"by"`      // key, ip, model, version or route
	Subject  string    `json:"subject"` // the key id, address, model or route
	Value    float64   `json:"value"`
	Limit    float64   `json:"limit"`
	Detail   string    `json:"detail"`
	Time     time.Time `json:"time"`
	// Events are the audit indexes of the latest events that made it (at
	// most eight).
	Events []int64 `json:"events"`
}

// Engine evaluates rules over events, one at a time, in the order they are
// recorded. It is not safe for concurrent use: one goroutine feeds it.
type Engine struct {
	rules []*ruleState
	seen  int
}

// NewEngine prepares the rules that are not disabled.
func NewEngine(rules []Rule) *Engine {
	e := &Engine{}
	for _, r := range rules {
		if !r.Disabled {
			e.rules = append(e.rules, &ruleState{Rule: r, subjects: map[string]*subjectState{}, raised: map[string]time.Time{}})
		}
	}
	return e
}

// Rules returns the rules in force.
func (e *Engine) Rules() []Rule {
	out := make([]Rule, len(e.rules))
	for i, r := range e.rules {
		out[i] = r.Rule
	}
	return out
}

// ruleState is a rule with what it remembers per subject.
type ruleState struct {
	Rule
	subjects map[string]*subjectState
	raised   map[string]time.Time // the last alert per subject, for grouping
}

// subjectState is one subject's memory under one rule; each kind uses
// its part.
type subjectState struct {
	last time.Time
	// threshold: a ring of sums per sixth of the window.
	buckets [6]float64
	starts  [6]int64 // the bucket each slot holds (time / bucket width)
	// distinct: values and when each was last seen.
	values map[string]time.Time
	// anomaly: the current window and the ones before it.
	window  int64
	current float64
	history []float64
	// new network and unusual hour.
	first    time.Time
	n        int
	networks map[netip.Prefix]struct{}
	hours    [24]int
	// the latest events, for the alert's evidence.
	recent [8]int64
	nrec   int
}

func (s *subjectState) note(index int64) {
	s.recent[s.nrec%len(s.recent)] = index
	s.nrec++
}

func (s *subjectState) events() []int64 {
	n := min(s.nrec, len(s.recent))
	out := make([]int64, 0, n)
	for i := s.nrec - n; i < s.nrec; i++ {
		out = append(out, s.recent[i%len(s.recent)])
	}
	return out
}

// Observe evaluates one event and returns the alerts it raised: at most
// one per rule, none for a subject that already alerted on that rule
// within the rule's group time.
func (e *Engine) Observe(ev *audit.Event, index int64) []Alert {
	if strings.HasPrefix(ev.Action, "alert.") || strings.HasPrefix(ev.Action, "incident.") {
		return nil // what the monitor itself records is not traffic
	}
	var out []Alert
	for _, r := range e.rules {
		if !r.Match.matches(ev) {
			continue
		}
		subject := subjectOf(ev, r.By)
		if subject == "" {
			continue
		}
		s := r.subjects[subject]
		if s == nil {
			s = &subjectState{}
			r.subjects[subject] = s
		}
		s.last = ev.Time
		s.note(index)
		value, limit, detail, fired := r.evaluate(s, ev)
		if !fired {
			continue
		}
		if at, ok := r.raised[subject]; ok && ev.Time.Sub(at) < time.Duration(r.Group) && !ev.Time.Before(at) {
			continue
		}
		r.raised[subject] = ev.Time
		out = append(out, Alert{
			ID:   fmt.Sprintf("%s-%s-%d", r.ID, ev.Time.UTC().Format("20060102T150405Z"), index),
			Rule: r.ID, Title: r.Title, Severity: r.Severity, By: r.By, Subject: subject,
			Value: value, Limit: limit, Detail: detail, Time: ev.Time, Events: s.events(),
		})
	}
	if e.seen++; e.seen%4096 == 0 {
		e.prune(ev.Time)
	}
	return out
}

// prune forgets subjects of the windowed rules idle for longer than
// their window and group time (a week for anomalies), so memory follows
// the active subjects, not every address ever seen. Learnt profiles
// (networks, hours) are kept.
func (e *Engine) prune(now time.Time) {
	for _, r := range e.rules {
		if r.Kind == KindNewNetwork || r.Kind == KindUnusualHour {
			continue
		}
		idle := 2 * max(time.Duration(r.Window), time.Duration(r.Group))
		if r.Kind == KindAnomaly {
			// A key idle overnight keeps its history (zeros, by then):
			// a burst after the quiet is what the rule is for.
			idle = 7 * 24 * time.Hour
		}
		for k, s := range r.subjects {
			if now.Sub(s.last) > idle {
				delete(r.subjects, k)
				delete(r.raised, k)
			}
		}
	}
}

func subjectOf(ev *audit.Event, by string) string {
	switch by {
	case "key":
		if ev.Actor.Kind == audit.ActorAPIKey || ev.Actor.Kind == audit.ActorMTLS {
			return ev.Actor.ID
		}
	case "ip":
		return ev.Actor.IP
	case "model":
		return ev.Resource.Model
	case "version":
		if ev.Resource.Model == "" {
			return ""
		}
		return ev.Resource.Model + "@" + ev.Resource.ModelVersion
	case "route":
		return ev.Resource.Route
	case "prompt":
		return ev.Details["prompt_fp"]
	}
	return ""
}

func (m *Match) matches(ev *audit.Event) bool {
	if len(m.Actions) > 0 && !slices.ContainsFunc(m.Actions, func(a string) bool {
		return ev.Action == a || strings.HasSuffix(a, ".") && strings.HasPrefix(ev.Action, a)
	}) {
		return false
	}
	if len(m.Outcomes) > 0 && !slices.Contains(m.Outcomes, ev.Decision.Outcome) {
		return false
	}
	if len(m.Reasons) > 0 && !slices.Contains(m.Reasons, ev.Decision.Reason) {
		return false
	}
	if len(m.Status) > 0 && (ev.HTTP == nil || !slices.Contains(m.Status, ev.HTTP.Status)) {
		return false
	}
	for k, v := range m.Details {
		if ev.Details[k] != v {
			return false
		}
	}
	if m.Stage != "" || len(m.Entities) > 0 {
		return m.entities(ev) > 0
	}
	return true
}

// entities counts what the matching guards found.
func (m *Match) entities(ev *audit.Event) float64 {
	var n int64
	for _, g := range ev.Guards {
		if m.Stage != "" && g.Stage != m.Stage {
			continue
		}
		for ent, c := range g.Entities {
			if len(m.Entities) == 0 || slices.Contains(m.Entities, ent) {
				n += c
			}
		}
	}
	return float64(n)
}

// evaluate adds the event to the subject's state and says whether the
// rule fires, with the value it reached and the limit it crossed.
func (r *ruleState) evaluate(s *subjectState, ev *audit.Event) (value, limit float64, detail string, fired bool) {
	switch r.Kind {
	case KindThreshold:
		if r.Distinct != "" {
			return r.distinct(s, ev)
		}
		v := r.add(s, ev)
		if v < r.Threshold {
			return v, r.Threshold, "", false
		}
		return v, r.Threshold, fmt.Sprintf("%s %s within %s", formatNum(v), r.unit(), time.Duration(r.Window)), true
	case KindAnomaly:
		return r.anomaly(s, ev)
	case KindNewNetwork:
		return r.newNetwork(s, ev)
	case KindUnusualHour:
		return r.unusualHour(s, ev)
	}
	return 0, 0, "", false
}

func (r *ruleState) unit() string {
	if r.Sum == "" {
		return "events"
	}
	return r.Sum
}

func (r *ruleState) amount(ev *audit.Event) float64 {
	switch r.Sum {
	case "tokens":
		if ev.Usage == nil {
			return 0
		}
		return float64(ev.Usage.PromptTokens + ev.Usage.CompletionTokens)
	case "entities":
		return r.Match.entities(ev)
	}
	if name, ok := strings.CutPrefix(r.Sum, "detail:"); ok {
		v, err := strconv.ParseFloat(ev.Details[name], 64)
		if err != nil || v < 0 || math.IsInf(v, 0) {
			return 0
		}
		return v
	}
	return 1
}

// add puts the event in its bucket and returns the sum over the window.
func (r *ruleState) add(s *subjectState, ev *audit.Event) float64 {
	width := int64(time.Duration(r.Window)) / int64(len(s.buckets))
	b := ev.Time.UnixNano() / max(width, 1)
	slot := int(b % int64(len(s.buckets)))
	if s.starts[slot] != b {
		s.starts[slot], s.buckets[slot] = b, 0
	}
	s.buckets[slot] += r.amount(ev)
	var sum float64
	for i, start := range s.starts {
		if b-start < int64(len(s.buckets)) && start <= b {
			sum += s.buckets[i]
		}
	}
	return sum
}

func (r *ruleState) distinct(s *subjectState, ev *audit.Event) (float64, float64, string, bool) {
	v := subjectOf(ev, r.Distinct)
	if v == "" {
		return 0, 0, "", false
	}
	if s.values == nil {
		s.values = map[string]time.Time{}
	}
	s.values[v] = ev.Time
	for k, at := range s.values {
		if ev.Time.Sub(at) > time.Duration(r.Window) {
			delete(s.values, k)
		}
	}
	n := float64(len(s.values))
	if n < r.Threshold {
		return n, r.Threshold, "", false
	}
	names := make([]string, 0, len(s.values))
	for k := range s.values {
		names = append(names, k)
	}
	slices.Sort(names)
	return n, r.Threshold, fmt.Sprintf("%d distinct %ss within %s: %s", len(names), r.Distinct, time.Duration(r.Window), strings.Join(names, ", ")), true
}

// anomaly keeps per-window counts and compares the current window with
// the ones before: mean plus sigma standard deviations, the deviation at
// least the square root of the mean (counts are Poisson-like) and 1.
func (r *ruleState) anomaly(s *subjectState, ev *audit.Event) (float64, float64, string, bool) {
	w := ev.Time.UnixNano() / int64(time.Duration(r.Window))
	switch {
	case s.window == 0:
		s.window = w
	case w > s.window:
		for gap := min(w-s.window, int64(r.History)); gap > 0; gap-- {
			s.history = append(s.history, s.current)
			s.current = 0
		}
		if len(s.history) > r.History {
			s.history = s.history[len(s.history)-r.History:]
		}
		s.window = w
	}
	s.current += r.amount(ev)
	if len(s.history) < r.History/2 || s.current < r.Threshold {
		return s.current, r.Threshold, "", false
	}
	var mean, sq float64
	for _, h := range s.history {
		mean += h
	}
	mean /= float64(len(s.history))
	for _, h := range s.history {
		sq += (h - mean) * (h - mean)
	}
	sd := max(math.Sqrt(sq/float64(len(s.history))), math.Sqrt(mean), 1)
	limit := mean + r.Sigma*sd
	if s.current < limit {
		return s.current, limit, "", false
	}
	return s.current, limit, fmt.Sprintf("%s %s in %s against a mean of %.1f over the %d windows before (limit %.1f)",
		formatNum(s.current), r.unit(), time.Duration(r.Window), mean, len(s.history), limit), true
}

// maxNetworks bounds what is learnt of one key's networks.
const maxNetworks = 1024

func (r *ruleState) newNetwork(s *subjectState, ev *audit.Event) (float64, float64, string, bool) {
	addr, err := netip.ParseAddr(ev.Actor.IP)
	if err != nil {
		return 0, 0, "", false
	}
	addr = addr.Unmap()
	bits := r.PrefixV6
	if addr.Is4() {
		bits = r.PrefixV4
	}
	p, err := addr.Prefix(bits)
	if err != nil {
		return 0, 0, "", false
	}
	if s.networks == nil {
		s.networks = map[netip.Prefix]struct{}{}
	}
	s.n++
	_, known := s.networks[p]
	if !known && len(s.networks) < maxNetworks {
		s.networks[p] = struct{}{}
	}
	if known || !r.learnt(s, ev.Time) {
		return 0, 0, "", false
	}
	return 1, 0, fmt.Sprintf("first use from %s, after %d requests from %d other networks", p, s.n-1, len(s.networks)-1), true
}

// learnt reports whether a key has been seen often enough, for long
// enough, to be judged against its profile.
func (r *ruleState) learnt(s *subjectState, now time.Time) bool {
	if s.first.IsZero() {
		s.first = now
	}
	return s.n > r.Learning && now.Sub(s.first) >= time.Duration(r.LearnFor)
}

func (r *ruleState) unusualHour(s *subjectState, ev *audit.Event) (float64, float64, string, bool) {
	h := ev.Time.UTC().Hour()
	s.n++
	before := s.hours[h]
	s.hours[h]++
	// An hour holding under 0.2% of a learnt key's use is one it is not
	// used at.
	if !r.learnt(s, ev.Time) || float64(before) >= 0.002*float64(s.n-1) {
		return 0, 0, "", false
	}
	return float64(before), 0, fmt.Sprintf("used at %02d:00 UTC, an hour with %d of its %d earlier requests", h, before, s.n-1), true
}

func formatNum(v float64) string {
	if v == math.Trunc(v) {
		return fmt.Sprintf("%.0f", v)
	}
	return fmt.Sprintf("%.2f", v)
}
