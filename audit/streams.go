package audit

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/modelgate/modelgate/store"
)

// A stream's start is recorded before its first byte goes out, and its end
// when it is over. A process that dies mid-stream never records the end;
// the next writer finds such starts and records each as interrupted, so
// the log says what a caller may have received. SweepStreams does that.
//
// The sweep reads the log from a saved position (the streams cursor: the
// oldest start that was still open when the last sweep ran, or where it
// stopped), so each sweep reads only what came since.

// streamsCursor names the sweep's saved position.
const streamsCursor = "streams"

// SweepStreams records an inference.stream_interrupted event for every
// stream that started before cutoff and has no end on record. A log owned
// by one process sweeps with cutoff now when it opens, since the process
// that wrote any open stream is gone; a log shared by replicas sweeps
// periodically with a cutoff older than the longest a stream may last, so
// a live stream of another replica is never taken for a dead one. It
// returns how many it recorded.
func (l *Log) SweepStreams(ctx context.Context, cutoff time.Time) (int, error) {
	from, err := l.store.AuditCursor(ctx, streamsCursor)
	if err != nil {
		return 0, err
	}
	size, err := l.store.AuditSize(ctx)
	if err != nil {
		return 0, err
	}
	type open struct {
		index int64
		ev    *Event
	}
	starts := map[string]open{}
	var order []string
	err = Query(ctx, l.store, Filter{FromIndex: from}, func(ev *Event, leaf *store.AuditLeaf) error {
		if leaf.Index >= size || ev.RequestID == "" {
			return nil
		}
		switch ev.Action {
		case ActionStreamStart:
			if _, ok := starts[ev.RequestID]; !ok {
				order = append(order, ev.RequestID)
			}
			starts[ev.RequestID] = open{leaf.Index, ev}
		default:
			delete(starts, ev.RequestID) // its end, or its interruption
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("audit: sweeping streams: %w", err)
	}
	next, n := size, 0
	for _, id := range order {
		o, ok := starts[id]
		if !ok {
			continue
		}
		if !o.ev.Time.Before(cutoff) {
			next = min(next, o.index) // may still be running
			continue
		}
		ev := &Event{
			Time:      time.Now().UTC(),
			RequestID: id,
			Actor:     o.ev.Actor,
			Action:    ActionStreamInterrupted,
			Resource:  o.ev.Resource,
			Decision:  Decision{Outcome: Failed, Reason: "stream_interrupted"},
			Details:   map[string]string{"stream_start": strconv.FormatInt(o.index, 10)},
		}
		if err := l.Append(ctx, ev); err != nil {
			return n, err
		}
		n++
	}
	if err := l.store.SetAuditCursor(ctx, streamsCursor, next); err != nil && !errors.Is(err, context.Canceled) {
		return n, err
	}
	return n, nil
}
