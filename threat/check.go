package threat

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/modelgate/modelgate/finding"
)

// Result is a model checked against the library and the live state.
type Result struct {
	System     string       `json:"system"`
	Threats    []Applied    `json:"threats"`
	Undeclared []Undeclared `json:"undeclared_flows"`
	// Counts by status.
	Open, Mitigated, Accepted, FalsePositive int
}

// Applied is one threat on one element.
type Applied struct {
	Threat     *Threat          `json:"threat"`
	Target     string           `json:"target"`
	TargetName string           `json:"target_name"`
	Status     string           `json:"status"`
	Note       string           `json:"note,omitempty"`
	Likelihood int              `json:"likelihood"`
	Impact     int              `json:"impact"`
	Score      int              `json:"score"`
	Severity   finding.Severity `json:"severity"`
	Evidence   []Evidence       `json:"evidence"`
}

// Undeclared is a flow the audit log shows and the model does not.
type Undeclared struct {
	Caller string `json:"caller"`
	Model  string `json:"model"`
	Count  int    `json:"count"`
}

// Check judges a model. now decides whether accepted risks have expired.
func Check(m *Model, lib *Library, st *State, now time.Time) *Result {
	if st == nil {
		st = &State{}
	}
	res := &Result{System: m.System.Name, Threats: []Applied{}, Undeclared: []Undeclared{}}
	g := newGraph(m)
	decisions := map[[2]string]Risk{}
	for _, r := range m.Risks {
		decisions[[2]string{r.Threat, r.Target}] = r
	}
	for i := range lib.Threats {
		t := &lib.Threats[i]
		for _, e := range g.elements(t.Applies.Element) {
			if !g.applies(t.Applies, e) {
				continue
			}
			res.Threats = append(res.Threats, judge(t, e, m, g, st, decisions, now))
		}
	}
	slices.SortFunc(res.Threats, func(a, b Applied) int {
		return cmp.Or(cmp.Compare(b.Score, a.Score), cmp.Compare(a.Threat.ID, b.Threat.ID), cmp.Compare(a.Target, b.Target))
	})
	for _, a := range res.Threats {
		switch a.Status {
		case StatusOpen:
			res.Open++
		case StatusMitigated:
			res.Mitigated++
		case StatusAccepted:
			res.Accepted++
		case StatusFalsePositive:
			res.FalsePositive++
		}
	}
	res.Undeclared = undeclared(m, st)
	return res
}

func judge(t *Threat, e element, m *Model, g *graph, st *State, decisions map[[2]string]Risk, now time.Time) Applied {
	id, name := e.id(), e.name()
	a := Applied{Threat: t, Target: id, TargetName: name, Status: StatusOpen}
	a.Likelihood, a.Impact = g.score(t, e)
	a.Score = a.Likelihood * a.Impact
	a.Severity = severity(a.Score)
	live := true
	for _, mit := range t.Mitigations {
		if strings.HasPrefix(mit, "manual:") {
			a.Evidence = append(a.Evidence, Evidence{Mitigation: mit, Detail: "no live check: settle it with a risk entry"})
			live = false
			continue
		}
		ev := checks[mit](st, m, e)
		ev.Mitigation = mit
		a.Evidence = append(a.Evidence, ev)
		if !ev.Holds {
			live = false
		}
	}
	if live {
		a.Status = StatusMitigated
		a.Note = "every mitigation is in evidence"
	}
	if d, ok := decisions[[2]string{t.ID, id}]; ok {
		switch {
		case d.Status == StatusAccepted && expired(d.Expires, now):
			a.Note = fmt.Sprintf("accepted by %s until %s, which has passed", d.Owner, d.Expires)
		case d.Status == StatusMitigated && !live:
			// A declaration does not outweigh failing evidence.
			if slices.ContainsFunc(a.Evidence, func(ev Evidence) bool { return !strings.HasPrefix(ev.Mitigation, "manual:") && !ev.Holds }) {
				a.Note = "declared mitigated, but the evidence says otherwise: " + d.Reason
			} else {
				a.Status, a.Note = StatusMitigated, "declared: "+d.Reason
			}
		case d.Status == StatusAccepted:
			a.Status, a.Note = StatusAccepted, fmt.Sprintf("accepted by %s until %s: %s", d.Owner, d.Expires, d.Reason)
		case d.Status == StatusFalsePositive:
			a.Status, a.Note = StatusFalsePositive, d.Reason
		}
	}
	return a
}

func expired(date string, now time.Time) bool {
	t, err := time.Parse(time.DateOnly, date)
	return err != nil || !now.Before(t.AddDate(0, 0, 1))
}

// severity maps a likelihood × impact score (1 to 25) to a severity:
// 20 and above critical, 12 high, 6 medium, below that low.
func severity(score int) finding.Severity {
	switch {
	case score >= 20:
		return finding.Critical
	case score >= 12:
		return finding.High
	case score >= 6:
		return finding.Medium
	}
	return finding.Low
}

// undeclared returns the (caller, model) pairs the audit log shows that
// no flow in the model declares: a flow from an asset bound to the
// caller (key:NAME, identity:NAME) to one bound to the model's route.
func undeclared(m *Model, st *State) []Undeclared {
	declared := map[[2]string]bool{}
	for _, f := range m.Flows {
		from, to := m.asset(f.From), m.asset(f.To)
		if from == nil || to == nil || from.Ref == "" {
			continue
		}
		if r, ok, _ := st.route(to); ok {
			declared[[2]string{from.Ref, r.Model}] = true
		}
	}
	out := []Undeclared{}
	for _, o := range st.Observed {
		if !declared[[2]string{o.Caller, o.Model}] {
			out = append(out, Undeclared{Caller: o.Caller, Model: o.Model, Count: o.Count})
		}
	}
	slices.SortFunc(out, func(a, b Undeclared) int {
		return cmp.Or(cmp.Compare(a.Caller, b.Caller), cmp.Compare(a.Model, b.Model))
	})
	return out
}

// Report turns the open threats and undeclared flows into findings:
// one file, the model's.
func (r *Result) Report(path string) *finding.Report {
	f := finding.File{Path: path, Format: "threat-model", Findings: []finding.Finding{}}
	for _, a := range r.Threats {
		if a.Status != StatusOpen {
			continue
		}
		var failing []string
		for _, ev := range a.Evidence {
			if !ev.Holds {
				failing = append(failing, ev.Mitigation+": "+ev.Detail)
			}
		}
		refs := append(append(append([]string{}, a.Threat.OWASPLLM...), a.Threat.OWASPML...), a.Threat.ATLAS...)
		f.Findings = append(f.Findings, finding.Finding{RuleID: a.Threat.ID, Severity: a.Severity, Title: a.Threat.Title,
			Location: a.Target, Evidence: fmt.Sprintf("%s (L%d × I%d = %d): %s", a.TargetName, a.Likelihood, a.Impact, a.Score, strings.Join(failing, "; ")),
			Remediation: "put in place: " + strings.Join(a.Threat.Mitigations, ", "), References: refs})
	}
	for _, u := range r.Undeclared {
		f.Findings = append(f.Findings, finding.Finding{RuleID: "TM-UNDECLARED-FLOW", Severity: finding.High, Title: "flow seen in the audit log but not in the model",
			Location: u.Caller + " → " + u.Model, Evidence: fmt.Sprintf("%d requests from %s to %s", u.Count, u.Caller, u.Model),
			Remediation: "declare the flow (and its caller) in the model, or revoke the caller's access"})
	}
	rep := &finding.Report{Files: []finding.File{f}}
	rep.Summarise()
	return rep
}
