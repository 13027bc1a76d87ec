package admin

import (
	"context"
	"strings"
	"time"

	"github.com/modelgate/modelgate/audit"
	"github.com/modelgate/modelgate/registry"
)

// AuditLog records control-plane changes in the audit log; it implements
// ChangeRecorder.
type AuditLog struct{ Log *audit.Log }

var (
	_ ChangeRecorder    = (*AuditLog)(nil)
	_ registry.Recorder = (*AuditLog)(nil)
)

// Record records a registry change (a promotion, a quarantine), as the
// registry's Recorder.
func (c *AuditLog) Record(ctx context.Context, ch registry.Change) error {
	return c.RecordChange(ctx, Change{Actor: ch.Actor, Action: ch.Action, Target: ch.Target,
		Outcome: ch.Outcome, Reason: ch.Reason, Details: ch.Details})
}

// RecordChange appends a change and returns once it is durable.
func (c *AuditLog) RecordChange(ctx context.Context, ch Change) error {
	ev := &audit.Event{
		Time:     time.Now(),
		Actor:    audit.Actor{Kind: audit.ActorAdmin, ID: ch.Actor, IP: ch.IP, UserAgent: audit.TrimUserAgent(ch.UserAgent)},
		Action:   ch.Action,
		Resource: audit.Resource{ID: ch.Target},
		Decision: audit.Decision{Outcome: ch.Outcome, Reason: ch.Reason},
		Details:  ch.Details,
	}
	switch {
	case strings.HasPrefix(ch.Action, "route."):
		ev.Resource = audit.Resource{Route: ch.Target, Model: ch.Target}
	case strings.HasPrefix(ch.Action, "model.") || strings.HasPrefix(ch.Action, "dataset."):
		// Registry changes name NAME@VERSION (a rollback names the model).
		name, version, _ := strings.Cut(ch.Target, "@")
		ev.Resource = audit.Resource{Model: name, ModelVersion: version}
	}
	return c.Log.Append(ctx, ev)
}
