package audit

import (
	"context"
	"strings"
	"time"

	"github.com/modelgate/modelgate/admin"
)

// ChangeLog records control-plane changes in the log; it implements
// admin.ChangeRecorder.
type ChangeLog struct{ Log *Log }

var _ admin.ChangeRecorder = (*ChangeLog)(nil)

// RecordChange appends a change and returns once it is durable.
func (c *ChangeLog) RecordChange(ctx context.Context, ch admin.Change) error {
	ev := &Event{
		Time:     time.Now(),
		Actor:    Actor{Kind: ActorAdmin, ID: ch.Actor, IP: ch.IP, UserAgent: truncate(ch.UserAgent, maxUserAgent)},
		Action:   ch.Action,
		Resource: Resource{ID: ch.Target},
		Decision: Decision{Outcome: ch.Outcome, Reason: ch.Reason},
		Details:  ch.Details,
	}
	switch {
	case strings.HasPrefix(ch.Action, "route."):
		ev.Resource = Resource{Route: ch.Target, Model: ch.Target}
	case strings.HasPrefix(ch.Action, "model.") || strings.HasPrefix(ch.Action, "dataset."):
		// Registry changes name NAME@VERSION (a rollback names the model).
		name, version, _ := strings.Cut(ch.Target, "@")
		ev.Resource = Resource{Model: name, ModelVersion: version}
	}
	return c.Log.Append(ctx, ev)
}

// System records something the gateway itself did (start, stop, retention).
func (l *Log) System(ctx context.Context, action string, details map[string]string) error {
	return l.Append(ctx, &Event{Time: time.Now(), Actor: Actor{Kind: ActorSystem, ID: "modelgate"},
		Action: action, Decision: Decision{Outcome: Allowed}, Details: details})
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}
