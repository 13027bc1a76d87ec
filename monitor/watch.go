package monitor

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/modelgate/modelgate/audit"
	"github.com/modelgate/modelgate/store"
)

// Alert actions in the audit log.
const (
	ActionAlertRaised = "alert.raised"
	ActionAlertAck    = "alert.ack"
)

// cursorName is the watcher's position in the audit store.
const cursorName = "monitor"

// Appender records events: the audit log.
type Appender interface {
	Append(ctx context.Context, ev *audit.Event, payloads ...audit.Payload) error
}

// Watcher reads the audit log as it grows, feeds the engine, records each
// alert in the log and delivers it. It keeps its position in the audit
// store, and on start replays the events before it (up to Warmup) without
// alerting, so that what the rules learn survives a restart.
type Watcher struct {
	Engine *Engine
	Store  store.AuditStore
	Log    Appender
	Sinks  []Sink
	Poll   time.Duration // default 250ms
	Warmup int64         // events replayed on start; default 200,000
	Logger *slog.Logger
	// Active, when set, says whether this process should watch now:
	// replicas sharing one log watch from the one that sequences it.
	Active func() bool
	// Durable, when set, bounds what is read to what is durable.
	Durable func() int64

	dec eventReader
}

// eventReader decodes stored events with the audit log's schema-aware
// decoder, which takes about 3 µs an event where audit.ParseEvent takes
// 5 (BenchmarkParseEvent): the watcher reads every event the gateway
// writes. An event the decoder refuses (a field it does not know) is
// read the general way.
type eventReader struct{ dec audit.Decoder }

func (r *eventReader) read(data []byte) (*audit.Event, error) {
	if ev, err := r.dec.Decode(data); err == nil {
		return ev, nil
	}
	return audit.ParseEvent(data)
}

// Run watches until ctx ends.
func (w *Watcher) Run(ctx context.Context) error {
	if w.Poll <= 0 {
		w.Poll = 250 * time.Millisecond
	}
	if w.Warmup == 0 {
		w.Warmup = 200_000
	}
	if w.Logger == nil {
		w.Logger = slog.Default()
	}
	var next int64 = -1
	for {
		behind := false
		if w.Active == nil || w.Active() {
			if next < 0 {
				var err error
				if next, err = w.start(ctx); err != nil {
					w.Logger.Error("monitor: cannot start; will retry", "err", err)
					next = -1
				}
			}
			if next >= 0 {
				n, err := w.step(ctx, next)
				if err != nil && ctx.Err() == nil {
					w.Logger.Error("monitor: reading the log failed; will retry", "from_index", next, "err", err)
				}
				// A full batch says more is waiting: under load a pause
				// after each would let the watcher fall behind the log.
				behind = err == nil && n-next >= scanBatch
				next = n
			}
		} else {
			next = -1 // another replica watches; take up from the stored position when it is ours again
		}
		if behind {
			if ctx.Err() != nil {
				return nil
			}
			continue
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(w.Poll):
		}
	}
}

// start finds where to watch from and replays the events before it
// without alerting. A first start watches from the log's end: what is
// already in it is learnt from, not alerted on.
func (w *Watcher) start(ctx context.Context) (int64, error) {
	next, err := w.Store.AuditCursor(ctx, cursorName)
	if err != nil {
		return 0, err
	}
	if next == 0 {
		if next, err = w.Store.AuditSize(ctx); err != nil {
			return 0, err
		}
	}
	from := max(0, next-w.Warmup)
	var dec eventReader
	err = w.Store.ScanAudit(ctx, store.AuditRange{FromIndex: from, BeforeIndex: next}, func(l *store.AuditLeaf) error {
		if ev, err := dec.read(l.Data); err == nil {
			w.Engine.Observe(ev, l.Index)
		}
		return nil
	})
	return next, err
}

// step reads what was appended since next and returns the new position.
func (w *Watcher) step(ctx context.Context, next int64) (int64, error) {
	before := int64(0)
	if w.Durable != nil {
		if before = w.Durable(); before <= next {
			return next, nil
		}
	}
	n, alerts, err := w.scan(ctx, next, before)
	w.raise(ctx, alerts)
	if n > next {
		if err := w.Store.SetAuditCursor(context.WithoutCancel(ctx), cursorName, n); err != nil {
			return n, fmt.Errorf("save position: %w", err)
		}
	}
	return n, err
}

// scanBatch is how many events a step reads at most.
const scanBatch = 1000

// scan observes up to scanBatch stored events from next (below before, when
// it is not 0) and returns the position after them and their alerts.
func (w *Watcher) scan(ctx context.Context, next, before int64) (int64, []Alert, error) {
	var alerts []Alert
	last := next - 1
	err := w.Store.ScanAudit(ctx, store.AuditRange{FromIndex: next, BeforeIndex: before, Limit: scanBatch}, func(l *store.AuditLeaf) error {
		last = l.Index
		ev, err := w.dec.read(l.Data)
		if err != nil {
			w.Logger.Error("monitor: an event does not parse; skipped", "index", l.Index, "err", err)
			return nil
		}
		alerts = append(alerts, w.Engine.Observe(ev, l.Index)...)
		return nil
	})
	return last + 1, alerts, err
}

// raise records each alert in the log and delivers it.
func (w *Watcher) raise(ctx context.Context, alerts []Alert) {
	for _, a := range alerts {
		if err := w.Log.Append(ctx, AlertEvent(a)); err != nil {
			// The position still moves on: stopping would raise the
			// others again. The failure is logged where an operator looks.
			w.Logger.Error("monitor: an alert could not be recorded", "rule", a.Rule, "subject", a.Subject, "err", err)
		}
		for _, s := range w.Sinks {
			go w.deliver(s, a)
		}
	}
}

// deliver sends an alert, trying three times over about a minute.
func (w *Watcher) deliver(s Sink, a Alert) {
	delay := 2 * time.Second
	for attempt := 1; ; attempt++ {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		err := s.Deliver(ctx, a)
		cancel()
		if err == nil {
			return
		}
		if attempt == 3 {
			w.Logger.Error("monitor: an alert could not be delivered", "sink", s.Name(), "alert", a.ID, "err", err)
			return
		}
		time.Sleep(delay)
		delay *= 4
	}
}

// AlertEvent is the audit event that records an alert.
func AlertEvent(a Alert) *audit.Event {
	events := make([]string, len(a.Events))
	for i, e := range a.Events {
		events[i] = strconv.FormatInt(e, 10)
	}
	ev := &audit.Event{Time: time.Now().UTC(), Actor: audit.Actor{Kind: audit.ActorSystem, ID: "monitor"},
		Action: ActionAlertRaised, Resource: audit.Resource{ID: a.ID}, Decision: audit.Decision{Outcome: audit.Allowed},
		Details: map[string]string{"rule": a.Rule, "title": a.Title, "severity": a.Severity, "by": a.By, "subject": a.Subject,
			"value": formatNum(a.Value), "limit": formatNum(a.Limit), "detail": a.Detail, "events": strings.Join(events, ","),
			"observed_at": a.Time.UTC().Format(time.RFC3339Nano)}}
	switch a.By {
	case "model":
		ev.Resource.Model = a.Subject
	case "route":
		ev.Resource.Route = a.Subject
	}
	return ev
}

// AlertOf reads an alert back from its event.
func AlertOf(ev *audit.Event) (Alert, error) {
	if ev.Action != ActionAlertRaised {
		return Alert{}, fmt.Errorf("event %d is %s, not an alert", ev.Index, ev.Action)
	}
	d := ev.Details
	a := Alert{ID: ev.Resource.ID, Rule: d["rule"], Title: d["title"], Severity: d["severity"], By: d["by"], Subject: d["subject"], Detail: d["detail"]}
	a.Value, _ = strconv.ParseFloat(d["value"], 64)
	a.Limit, _ = strconv.ParseFloat(d["limit"], 64)
	a.Time, _ = time.Parse(time.RFC3339Nano, d["observed_at"])
	for _, s := range strings.Split(d["events"], ",") {
		if n, err := strconv.ParseInt(s, 10, 64); err == nil {
			a.Events = append(a.Events, n)
		}
	}
	return a, nil
}
