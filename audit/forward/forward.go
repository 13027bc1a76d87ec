// Package forward ships the audit log to SIEMs: syslog (RFC 5424 over TCP
// or TLS), HTTP webhooks and rotated JSONL files. Each forwarder keeps its
// position (the next event index to send) in the audit store and moves it
// only after a batch is delivered, so after a crash or a receiver outage
// forwarding resumes where it stopped: no gaps. Delivery is at least once;
// every record carries its event index for receivers that deduplicate.
package forward

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/modelgate/modelgate/audit"
	"github.com/modelgate/modelgate/store"
)

// Sink delivers records to a receiver.
type Sink interface {
	// Send delivers records in order, or returns an error and the batch is
	// sent again later.
	Send(ctx context.Context, records [][]byte) error
	Close() error
}

// Forwarder copies events from the log to a sink.
type Forwarder struct {
	Name      string
	Store     store.AuditStore
	Sink      Sink
	Formatter audit.Formatter
	Batch     int           // events per delivery; default 500
	Poll      time.Duration // how often to look for new events; default 250ms
	MaxDelay  time.Duration // longest back-off after failures; default 30s
	Logger    *slog.Logger
	// Durable, when set, returns how many events are durable; nothing
	// beyond is sent, so a receiver never holds an event the log could
	// still lose to a power cut (audit.Log.DurableSize).
	Durable func() int64
	// Active, when set, says whether this process should forward now:
	// replicas sharing one log forward only from the one that sequences
	// it (audit.Log.Leading), so a receiver gets each event once per
	// forwarder, not once per replica. A forwarder that becomes active
	// resumes from the stored position, wherever another replica left it.
	Active func() bool

	checkpointSent int64 // the size of the newest checkpoint delivered
}

// Run forwards until ctx ends.
func (f *Forwarder) Run(ctx context.Context) error {
	if f.Batch <= 0 {
		f.Batch = 500
	}
	if f.Poll <= 0 {
		f.Poll = 250 * time.Millisecond
	}
	if f.MaxDelay <= 0 {
		f.MaxDelay = 30 * time.Second
	}
	if f.Logger == nil {
		f.Logger = slog.Default()
	}
	defer f.Sink.Close()
	next, err := f.Store.AuditCursor(ctx, f.Name)
	if err != nil {
		return fmt.Errorf("forwarder %s: read position: %w", f.Name, err)
	}
	delay := f.Poll
	failing, active := false, true
	for {
		if f.Active != nil && !f.Active() {
			active = false
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(f.Poll):
			}
			continue
		}
		if !active {
			if next, err = f.Store.AuditCursor(ctx, f.Name); err != nil {
				f.Logger.Error("audit forwarder: cannot read its position; will retry", "forwarder", f.Name, "err", err)
				select {
				case <-ctx.Done():
					return nil
				case <-time.After(f.MaxDelay):
				}
				continue
			}
			active = true
		}
		sent, n, err := f.step(ctx, next)
		switch {
		case ctx.Err() != nil:
			return nil
		case err != nil:
			if !failing {
				f.Logger.Error("audit forwarder: delivery failed; will retry", "forwarder", f.Name, "from_index", next, "err", err)
			}
			failing = true
			delay = min(max(2*delay, time.Second), f.MaxDelay)
		default:
			if failing {
				f.Logger.Info("audit forwarder: delivering again", "forwarder", f.Name, "from_index", next)
			}
			failing = false
			next = sent
			delay = f.Poll
			if n == f.Batch {
				continue // more is waiting
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(delay):
		}
	}
}

// step sends the batch starting at next and returns the next position.
func (f *Forwarder) step(ctx context.Context, next int64) (int64, int, error) {
	var (
		records [][]byte
		last    = next - 1
	)
	r := store.AuditRange{FromIndex: next, Limit: f.Batch}
	if f.Durable != nil {
		if r.BeforeIndex = f.Durable(); r.BeforeIndex <= next {
			f.sendCheckpoint(ctx, next)
			return next, 0, nil
		}
	}
	err := f.Store.ScanAudit(ctx, r, func(l *store.AuditLeaf) error {
		ev, err := audit.ParseEvent(l.Data)
		if err != nil {
			return fmt.Errorf("event %d: %w", l.Index, err)
		}
		rec, err := f.Formatter.Record(ev, l.Data)
		if err != nil {
			return err
		}
		records = append(records, rec)
		last = l.Index
		return nil
	})
	if err != nil {
		return next, 0, err
	}
	if len(records) == 0 {
		f.sendCheckpoint(ctx, next) // one signed after the last batch
		return next, 0, nil
	}
	if err := f.Sink.Send(ctx, records); err != nil {
		return next, 0, err
	}
	if err := f.Store.SetAuditCursor(context.WithoutCancel(ctx), f.Name, last+1); err != nil {
		return next, 0, fmt.Errorf("save position: %w", err)
	}
	f.sendCheckpoint(ctx, last+1)
	return last + 1, len(records), nil
}

// sendCheckpoint sends the newest checkpoint once the receiver holds every
// event it covers, so a SIEM keeps an outside copy of it: a witness of the
// log (see audit.CheckpointRecordType). A failure is logged; the next
// batch tries again.
func (f *Forwarder) sendCheckpoint(ctx context.Context, sent int64) {
	c, err := f.Store.LatestAuditCheckpoint(ctx)
	if err != nil || c.Size > sent || c.Size <= f.checkpointSent {
		return
	}
	cp, err := audit.ParseCheckpointNote(c.Note)
	if err != nil {
		f.Logger.Error("audit forwarder: the latest checkpoint cannot be read", "forwarder", f.Name, "err", err)
		return
	}
	rec, err := f.Formatter.Checkpoint(cp)
	if err == nil {
		err = f.Sink.Send(ctx, [][]byte{rec})
	}
	if err != nil {
		f.Logger.Warn("audit forwarder: checkpoint not delivered; will retry", "forwarder", f.Name, "size", cp.Tree.N, "err", err)
		return
	}
	f.checkpointSent = cp.Tree.N
}

// ErrPermanent marks a delivery error that retrying will not fix; the
// forwarder still retries (skipping would leave a gap) but says so.
var ErrPermanent = errors.New("the receiver refuses these records")
