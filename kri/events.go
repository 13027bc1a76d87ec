package kri

import (
	"strconv"
	"strings"
	"time"

	"github.com/modelgate/modelgate/audit"
)

// Actions the indicators read. They are the audit log's own names, kept
// here rather than imported so that this package depends on the log's
// format only, not on the packages that write it.
const (
	actionAlert        = "alert.raised"
	actionAlertAck     = "alert.ack"
	actionIncidentOpen = "incident.open"
	actionIncidentEnd  = "incident.close"
	actionKeyRevoke    = "key.revoke"
	actionFeedback     = "feedback.submit"
	actionRedteam      = "redteam.run"
	actionFindings     = "findings.report" // posture scan --record, threat check --record
)

// Events reads audit events in log order and keeps what the indicators
// need: a few numbers per event of interest, and one timestamp per
// event so that an alert can be timed from the first event behind it.
// It holds no event, so a million of them cost some megabytes.
type Events struct {
	first  int64   // index of times[0]
	times  []int64 // unix nanoseconds, by index - first
	period time.Duration
	start  time.Time

	alerts      map[string]*alertSeen // by alert id
	incidents   map[string]*incidentSeen
	revokes     []revoke
	keyAlerts   map[string]time.Time // key id -> its first alert
	drift       map[string]float64   // route + onset -> seconds to detect
	inference   int
	blocked     int
	inferDay    map[int64][2]int // period -> inference, blocked
	feedback    map[string]*[2]int
	redteamRuns []redteamRun
	reports     map[string]findingsReport // by source and subject: the newest
}

// findingsReport is a recorded scan's count of critical and high
// findings.
type findingsReport struct {
	source         string
	critical, high int
}

type alertSeen struct {
	raised, firstEvent, acked time.Time
	rule, severity, by, sub   string
}

type incidentSeen struct {
	opened, closed time.Time
	alerts         []string
	severity       string
}

type revoke struct {
	key string
	at  time.Time
}

type redteamRun struct {
	at    time.Time
	model string
	rates map[string]float64 // category -> compliance rate
	owasp map[string]string  // category -> OWASP LLM 2025 id, as the run recorded it
}

// NewEvents starts reading events from start, with series by period.
func NewEvents(start time.Time, period time.Duration) *Events {
	return &Events{first: -1, period: period, start: start, alerts: map[string]*alertSeen{}, incidents: map[string]*incidentSeen{},
		keyAlerts: map[string]time.Time{}, drift: map[string]float64{}, inferDay: map[int64][2]int{}, feedback: map[string]*[2]int{},
		reports: map[string]findingsReport{}}
}

// Add reads one event.
func (e *Events) Add(ev *audit.Event) {
	if e.first < 0 {
		e.first = ev.Index
	}
	if i := ev.Index - e.first; i >= 0 {
		for int64(len(e.times)) < i {
			e.times = append(e.times, 0) // a gap (erased or unreadable events)
		}
		if int64(len(e.times)) == i {
			e.times = append(e.times, ev.Time.UnixNano())
		}
	}
	if ev.Action == actionFindings {
		// The newest report of each source and subject is what is open,
		// however old: a scan is not repeated every month.
		c, _ := strconv.Atoi(ev.Details["severity.critical"])
		h, _ := strconv.Atoi(ev.Details["severity.high"])
		e.reports[ev.Resource.ID] = findingsReport{source: ev.Details["source"], critical: c, high: h}
		return
	}
	if ev.Time.Before(e.start) {
		return
	}
	switch {
	case ev.Action == actionAlert:
		e.addAlert(ev)
	case ev.Action == actionAlertAck:
		if a := e.alerts[ev.Resource.ID]; a != nil && a.acked.IsZero() {
			a.acked = ev.Time
		}
	case ev.Action == actionIncidentOpen:
		inc := &incidentSeen{opened: ev.Time, severity: ev.Details["severity"]}
		if s := ev.Details["alerts"]; s != "" {
			inc.alerts = strings.Split(s, ",")
		}
		e.incidents[ev.Resource.ID] = inc
	case ev.Action == actionIncidentEnd:
		if inc := e.incidents[ev.Resource.ID]; inc != nil {
			inc.closed = ev.Time
		}
	case ev.Action == actionKeyRevoke && ev.Decision.Outcome == audit.Allowed:
		e.revokes = append(e.revokes, revoke{key: ev.Resource.ID, at: ev.Time})
	case ev.Action == actionFeedback:
		v := ev.Resource.Model + "@" + ev.Resource.ModelVersion
		c := e.feedback[v]
		if c == nil {
			c = new([2]int)
			e.feedback[v] = c
		}
		c[0]++
		if ev.Details["negative"] == "true" {
			c[1]++
		}
	case ev.Action == actionRedteam:
		run := redteamRun{at: ev.Time, model: ev.Resource.Model, rates: map[string]float64{}, owasp: map[string]string{}}
		for k, v := range ev.Details {
			if cat, ok := strings.CutPrefix(k, "rate."); ok {
				if f, err := strconv.ParseFloat(v, 64); err == nil {
					run.rates[cat] = f
				}
			} else if cat, ok := strings.CutPrefix(k, "owasp."); ok {
				run.owasp[cat] = v
			}
		}
		e.redteamRuns = append(e.redteamRuns, run)
	case strings.HasPrefix(ev.Action, "inference."):
		e.addInference(ev)
	}
}

func (e *Events) addAlert(ev *audit.Event) {
	d := ev.Details
	a := &alertSeen{raised: ev.Time, rule: d["rule"], severity: d["severity"], by: d["by"], sub: d["subject"]}
	if t, err := time.Parse(time.RFC3339Nano, d["observed_at"]); err == nil {
		a.raised = t
	}
	for _, s := range strings.Split(d["events"], ",") {
		if n, err := strconv.ParseInt(s, 10, 64); err == nil {
			if t, ok := e.timeOf(n); ok && (a.firstEvent.IsZero() || t.Before(a.firstEvent)) {
				a.firstEvent = t
			}
		}
	}
	e.alerts[ev.Resource.ID] = a
	if a.by == "key" {
		if _, seen := e.keyAlerts[a.sub]; !seen {
			e.keyAlerts[a.sub] = a.raised
		}
	}
}

func (e *Events) addInference(ev *audit.Event) {
	if ev.Action == "inference.stream_start" {
		return // the stream's own event counts it
	}
	e.inference++
	blocked := ev.Decision.Reason == "request_blocked" || ev.Decision.Reason == "response_blocked"
	if blocked {
		e.blocked++
	}
	p := e.periodOf(ev.Time)
	c := e.inferDay[p]
	c[0]++
	if blocked {
		c[1]++
	}
	e.inferDay[p] = c
	if d := ev.Details; d["drift"] == "true" && d["drift_onset"] != "" {
		if s, err := strconv.ParseFloat(d["drift_detection_seconds"], 64); err == nil {
			e.drift[ev.Resource.Route+"\x00"+d["drift_onset"]] = s
		}
	}
}

func (e *Events) timeOf(index int64) (time.Time, bool) {
	i := index - e.first
	if e.first < 0 || i < 0 || i >= int64(len(e.times)) || e.times[i] == 0 {
		return time.Time{}, false
	}
	return time.Unix(0, e.times[i]).UTC(), true
}

func (e *Events) periodOf(t time.Time) int64 {
	return int64(t.Sub(e.start) / e.period)
}
