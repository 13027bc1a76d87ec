package admin

import (
	"context"
	"errors"
	"fmt"
)

// Change is one control-plane change, or an attempt at one.
type Change struct {
	Actor     string // "api_key:<id>", "mtls:<name>", "cli:<user>@<host>"
	IP        string
	UserAgent string
	Action    string // key.create, key.revoke, key.rotate, route.update, route.delete, ipblock.create, ipblock.delete
	Target    string // key id, model name or rule id
	Details   map[string]string
	// Outcome is "allowed" for a change about to be made, "failed" when
	// making it failed after it was recorded, "denied" for a refused
	// attempt.
	Outcome string
	Reason  string
}

// Outcomes of a Change.
const (
	ChangeAllowed = "allowed"
	ChangeFailed  = "failed"
	ChangeDenied  = "denied"
)

// ChangeRecorder records control-plane changes: the audit log.
type ChangeRecorder interface {
	// RecordChange returns once the change is durably recorded.
	RecordChange(ctx context.Context, c Change) error
}

// ErrNotRecorded wraps the error of a change that was refused because it
// could not be recorded: no change is made that the audit log lacks.
var ErrNotRecorded = errors.New("the audit log could not record the change, so it was not made")

// recordThenApply records c and, once that is durable, applies it; when
// applying fails it records the failure too.
func recordThenApply(ctx context.Context, r ChangeRecorder, c Change, apply func() error) error {
	if r != nil {
		c.Outcome = ChangeAllowed
		if err := r.RecordChange(ctx, c); err != nil {
			return fmt.Errorf("%w: %v", ErrNotRecorded, err)
		}
	}
	if err := apply(); err != nil {
		if r != nil {
			c.Outcome, c.Reason = ChangeFailed, err.Error()
			r.RecordChange(context.WithoutCancel(ctx), c) // best effort: the attempt is already recorded
		}
		return err
	}
	return nil
}
