// Package incident keeps security incidents as audit events: opened with
// the alerts that raised them, each response step (isolating keys and
// addresses, quarantining a model, rolling back to the golden version,
// writing the evidence) recorded as it is taken, closed with a
// resolution. An incident's timeline is read back from the log, so it
// carries the log's proofs like everything else.
package incident

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/modelgate/modelgate/audit"
)

// Incident actions in the audit log.
const (
	ActionOpen  = "incident.open"
	ActionStep  = "incident.step"
	ActionClose = "incident.close"
)

// Step kinds.
const (
	StepRevokeKey  = "revoke_key"
	StepDenyIP     = "deny_ip"
	StepQuarantine = "quarantine"
	StepRollback   = "rollback"
	StepEvidence   = "evidence"
	StepNote       = "note"
)

// Incident is an incident as its events tell it.
type Incident struct {
	ID       string    `json:"id"`
	Title    string    `json:"title"`
	Severity string    `json:"severity"`
	Alerts   []string  `json:"alerts,omitempty"`
	Opened   time.Time `json:"opened"`
	OpenedBy string    `json:"opened_by"`
	// OpenIndex is the audit index of the opening event.
	OpenIndex  int64     `json:"open_index"`
	Status     string    `json:"status"` // open or closed
	Closed     time.Time `json:"closed,omitzero"`
	Resolution string    `json:"resolution,omitempty"`
	Steps      []Step    `json:"steps"`
}

// Step is one response step, as recorded.
type Step struct {
	Index  int64     `json:"audit_index"`
	Time   time.Time `json:"time"`
	By     string    `json:"by"`
	Kind   string    `json:"kind"`
	Target string    `json:"target"`
	Result string    `json:"result"`
}

// NewID makes an incident id: the date and random hex.
func NewID(now time.Time) string {
	var b [3]byte
	rand.Read(b[:])
	return "INC-" + now.UTC().Format("20060102") + "-" + hex.EncodeToString(b[:])
}

// OpenEvent is the event that opens an incident.
func OpenEvent(id, title, severity string, alerts []string, actor audit.Actor) *audit.Event {
	return &audit.Event{Time: time.Now().UTC(), Actor: actor, Action: ActionOpen, Resource: audit.Resource{ID: id},
		Decision: audit.Decision{Outcome: audit.Allowed},
		Details:  map[string]string{"title": title, "severity": severity, "alerts": strings.Join(alerts, ",")}}
}

// StepEvent records a response step taken (or, failed, attempted).
func StepEvent(id, kind, target, result string, failed bool, actor audit.Actor) *audit.Event {
	ev := &audit.Event{Time: time.Now().UTC(), Actor: actor, Action: ActionStep, Resource: audit.Resource{ID: id},
		Decision: audit.Decision{Outcome: audit.Allowed}, Details: map[string]string{"step": kind, "target": target, "result": result}}
	if failed {
		ev.Decision = audit.Decision{Outcome: audit.Failed, Reason: "step_failed"}
	}
	return ev
}

// CloseEvent closes an incident.
func CloseEvent(id, resolution string, actor audit.Actor) *audit.Event {
	return &audit.Event{Time: time.Now().UTC(), Actor: actor, Action: ActionClose, Resource: audit.Resource{ID: id},
		Decision: audit.Decision{Outcome: audit.Allowed}, Details: map[string]string{"resolution": resolution}}
}

// Timeline folds incident events, in log order, into incidents, oldest
// first.
type Timeline struct {
	list []*Incident
	byID map[string]*Incident
}

// Add applies one event; events of other actions are ignored.
func (t *Timeline) Add(ev *audit.Event) {
	if t.byID == nil {
		t.byID = map[string]*Incident{}
	}
	id := ev.Resource.ID
	switch ev.Action {
	case ActionOpen:
		inc := &Incident{ID: id, Title: ev.Details["title"], Severity: ev.Details["severity"], Opened: ev.Time,
			OpenedBy: ev.Actor.ID, OpenIndex: ev.Index, Status: "open", Steps: []Step{}}
		if a := ev.Details["alerts"]; a != "" {
			inc.Alerts = strings.Split(a, ",")
		}
		t.byID[id] = inc
		t.list = append(t.list, inc)
	case ActionStep:
		if inc := t.byID[id]; inc != nil {
			result := ev.Details["result"]
			if ev.Decision.Outcome == audit.Failed {
				result = "FAILED: " + result
			}
			inc.Steps = append(inc.Steps, Step{Index: ev.Index, Time: ev.Time, By: ev.Actor.ID, Kind: ev.Details["step"], Target: ev.Details["target"], Result: result})
		}
	case ActionClose:
		if inc := t.byID[id]; inc != nil {
			inc.Status, inc.Closed, inc.Resolution = "closed", ev.Time, ev.Details["resolution"]
		}
	}
}

// Incidents returns the incidents, oldest first.
func (t *Timeline) Incidents() []*Incident { return slices.Clone(t.list) }

// Get returns one incident.
func (t *Timeline) Get(id string) (*Incident, error) {
	if inc := t.byID[id]; inc != nil {
		return inc, nil
	}
	return nil, fmt.Errorf("no incident %q in the audit log", id)
}
