package audit

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/modelgate/modelgate/store"
)

// A log on a store shared by several gateway replicas (store.AuditQueue,
// PostgreSQL) works in two halves. Every replica queues its events
// durably, in group commits as it would write them, and a request waits
// for nothing more. One replica at a time, elected by the store's lock, is
// the sequencer: it moves queued events into the log in batches, gives
// them their indexes, extends the Merkle tree and signs checkpoints. When
// the sequencer dies its lock goes with its connection and another
// replica's sequencer takes over where it stopped: an event leaves the
// queue in the transaction that puts it in the log, so none is lost or
// sequenced twice. Erasures and explicit checkpoints are written directly,
// under the same transaction lock as the sequencer's writes.
type sharedLog struct {
	q        store.AuditQueue
	journal  store.AuditJournal // q, when it is kept in journals on this host
	stop     chan struct{}      // closed by Close once the writer has stopped
	stopOnce sync.Once
	done     chan struct{}

	leading   atomic.Bool
	sequenced atomic.Int64 // events this replica sequenced
	// lastSync is when the sequencer last synced a journaled store, and
	// unsynced whether it has moved events since. Under treeMu.
	lastSync time.Time
	unsynced bool
	size     int64 // the log's size after the sequencer's last round
	// stalled holds the sequencer's last error, nil once a round works.
	// A journaled log in fail-closed mode refuses events meanwhile: they
	// would be durable, but no query, proof or checkpoint could reach them.
	stalled atomic.Pointer[error]
}

// Leading reports whether this replica is the shared log's sequencer.
func (l *Log) Leading() bool { return l.shared != nil && l.shared.leading.Load() }

// count returns how many entries satisfy f.
func count(batch []*entry, f func(*entry) bool) int {
	n := 0
	for _, e := range batch {
		if f(e) {
			n++
		}
	}
	return n
}

// journalSyncEvery bounds how long events a journaled log has sequenced
// wait for the sync that makes them durable in the database.
const journalSyncEvery = 100 * time.Millisecond

// enqueueShared queues a batch's plain events, tells their waiters, and
// returns the entries to write directly (erasures, checkpoint requests).
func (l *Log) enqueueShared(batch []*entry) []*entry {
	var direct, queued []*entry
	for _, e := range batch {
		if e.ev == nil || e.erase != nil {
			direct = append(direct, e)
		} else {
			queued = append(queued, e)
		}
	}
	if len(queued) == 0 {
		return direct
	}
	if p := l.shared.stalled.Load(); p != nil && l.shared.journal != nil && l.opts.Mode == FailClosed {
		err := fmt.Errorf("audit log: the journal cannot be moved into the log: %w", *p)
		l.failed.Add(int64(len(queued)))
		release(queued, err)
		return direct
	}
	evs := make([]store.QueuedEvent, len(queued))
	for i, e := range queued {
		q := store.QueuedEvent{Time: e.ev.Time, Head: e.head, Tail: e.tail}
		for _, p := range e.payloads {
			blob := &store.AuditBlob{Salt: p.salt, Data: p.data}
			if p.kind == PayloadInput {
				q.Input = blob
			} else {
				q.Output = blob
			}
		}
		evs[i] = q
	}
	began := time.Now()
	l.noteCommit(began, count(queued, waited))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	err := l.shared.q.Enqueue(ctx, evs)
	cancel()
	if err != nil {
		l.unhealthy.Store(&err)
		l.failed.Add(int64(len(queued)))
		l.log.Error("audit log write failed", "events", len(queued), "err", err)
	} else {
		l.unhealthy.Store(nil)
		l.written.Add(int64(len(queued)))
		l.commits.Add(1)
		l.commitTime.Add(int64(time.Since(began)))
	}
	release(queued, err)
	return direct
}

// sequence runs for the Log's life: it waits to become the sequencer and,
// while it is, sequences queued events.
func (l *Log) sequence() {
	defer close(l.shared.done)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		select {
		case <-l.shared.stop:
			cancel()
		case <-ctx.Done():
		}
	}()
	for ctx.Err() == nil {
		lead, release, err := l.shared.q.Lead(ctx)
		if err != nil {
			if ctx.Err() != nil {
				break
			}
			l.log.Warn("audit sequencer: cannot contend for leadership", "err", err)
			select {
			case <-ctx.Done():
			case <-time.After(time.Second):
			}
			continue
		}
		l.shared.leading.Store(true)
		if l.shared.journal == nil {
			l.log.Info("audit sequencer: this replica now sequences the shared log")
		}
		l.lead(lead)
		l.shared.leading.Store(false)
		release()
	}
	l.finalDrain()
}

// lead sequences until leadership ends or the Log closes; on close it
// drains the queue and signs a checkpoint first.
func (l *Log) lead(ctx context.Context) {
	var idle time.Duration
	for {
		n, err := l.sequenceOnce(ctx)
		if err == nil {
			l.shared.stalled.Store(nil)
		}
		if ctx.Err() != nil {
			select {
			case <-l.shared.stop:
				l.drain()
			default:
				l.log.Warn("audit sequencer: lost leadership")
			}
			return
		}
		if err != nil {
			l.shared.stalled.Store(&err)
			l.log.Error("audit sequencer: sequencing failed; retrying", "err", err)
			idle = 100 * time.Millisecond
		} else if n == l.opts.BatchMax {
			idle = 0
		} else {
			// Wait for more, a little longer each time the queue is
			// found empty: requests do not wait for sequencing, so this
			// costs them nothing.
			idle = min(max(2*idle, l.opts.BatchWait, time.Millisecond), 20*time.Millisecond)
		}
		if idle > 0 {
			select {
			case <-ctx.Done():
			case <-time.After(idle):
			}
		}
	}
}

// sequenceOnce moves one batch from the queue into the log.
func (l *Log) sequenceOnce(ctx context.Context) (int, error) {
	l.treeMu.Lock()
	defer l.treeMu.Unlock()
	began := time.Now()
	var next *frontier
	n, err := l.shared.q.Sequence(ctx, l.opts.BatchMax, func(tx store.AuditTx, qevs []store.QueuedEvent) (err error) {
		entries := make([]*entry, len(qevs))
		for i, q := range qevs {
			e := &entry{ev: &Event{Time: q.Time}, head: q.Head, tail: q.Tail}
			if q.Input != nil {
				e.payloads = append(e.payloads, sealed{kind: PayloadInput, salt: q.Input.Salt, data: q.Input.Data})
			}
			if q.Output != nil {
				e.payloads = append(e.payloads, sealed{kind: PayloadOutput, salt: q.Output.Salt, data: q.Output.Data})
			}
			entries[i] = e
		}
		next, err = l.writeTx(tx, entries, false)
		return err
	})
	if err != nil {
		l.front = nil // reload from storage next time
		return 0, err
	}
	if n == 0 {
		if l.shared.journal == nil {
			return 0, nil
		}
		return 0, l.syncSequenced(ctx, true)
	}
	if l.front == nil || l.front.size == l.lastCPSize {
		l.pendingSince = began
	}
	signed := l.nextCPSize > l.lastCPSize
	l.front, l.lastCPSize, l.lastCPTime = next, l.nextCPSize, l.nextCPTime
	l.shared.sequenced.Add(int64(n))
	l.shared.unsynced, l.shared.size = true, next.size
	return n, l.syncSequenced(ctx, signed)
}

// syncSequenced makes what the sequencer moved into the log durable and
// says so: to forwarders (DurableSize) and, for a new checkpoint, to the
// witnesses. A journaled store commits without syncing; its events are
// safe in the journals meanwhile, so its sync waits until a checkpoint
// was signed, the queue is empty (now true) or journalSyncEvery has
// passed, sparing the disk flushes the journals need. The caller holds
// treeMu.
func (l *Log) syncSequenced(ctx context.Context, now bool) error {
	if l.shared.journal != nil {
		if !l.shared.unsynced || !now && time.Since(l.shared.lastSync) < journalSyncEvery {
			return nil
		}
		if err := l.store.Sync(ctx); err != nil {
			return err
		}
		l.shared.lastSync, l.shared.unsynced = time.Now(), false
	}
	l.setDurable(l.shared.size)
	if l.lastCPSize > l.kickedCP.Load() {
		l.signedCP.Store(l.lastCPSize)
		l.kickedCP.Store(l.lastCPSize)
		l.kickWitnesses()
	}
	return nil
}

// drain sequences everything queued, then signs a checkpoint of it: the
// sequencer's last act before it closes.
func (l *Log) drain() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := l.sequenceAll(ctx); err != nil {
		l.log.Error("audit sequencer: final drain failed", "err", err)
		return
	}
	l.checkpointNow(ctx)
}

// sequenceAll sequences until the queue is empty. Its last round, finding
// nothing, syncs a journaled store.
func (l *Log) sequenceAll(ctx context.Context) error {
	for {
		if n, err := l.sequenceOnce(ctx); err != nil || n == 0 {
			return err
		}
	}
}

// checkpointNow signs a checkpoint of the log as it stands, outside the
// writer (which has stopped by the time the sequencer drains). A shared
// store's commits are durable when they return.
func (l *Log) checkpointNow(ctx context.Context) {
	l.treeMu.Lock()
	defer l.treeMu.Unlock()
	began := time.Now()
	var next *frontier
	err := l.store.AppendAudit(ctx, func(tx store.AuditTx) (err error) {
		next, err = l.writeTx(tx, nil, true)
		return err
	})
	l.afterWrite(next, 0, began, err)
	if err == nil {
		l.setDurable(next.size)
	}
}

// probeShared finds out whether the shared store answers again after a
// failed write, so that the log reports healthy without waiting for
// traffic.
func (l *Log) probeShared() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := l.shared.q.QueueLen(ctx); err == nil {
		l.unhealthy.Store(nil)
	}
}

// finalDrain runs when a replica that is not the sequencer closes with
// events of its own possibly still queued behind a sequencer that is
// closing too: it waits a moment for the queue to empty and, if it does
// not, takes over to drain it.
func (l *Log) finalDrain() {
	if l.shared.journal != nil {
		// Queued events are safe in this process's journal; move them
		// now only if nobody else is sequencing (no server runs).
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		_, release, err := l.shared.q.Lead(ctx)
		cancel()
		if err == nil {
			l.drain()
			release()
		}
		return
	}
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		n, err := l.shared.q.QueueLen(ctx)
		if err == nil && n == 0 {
			cancel()
			return
		}
		if _, release, err := l.shared.q.Lead(ctx); err == nil {
			l.drain()
			release()
			cancel()
			return
		}
		cancel()
	}
	l.log.Warn("audit sequencer: events remain queued at shutdown; the next sequencer will sequence them")
}

// drainJournals moves everything the journals hold into the log, as the
// sequencer, and makes it durable: what a server does as it opens a
// journaled log, before it reads the log.
func (l *Log) drainJournals(ctx context.Context) error {
	wait, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	lead, release, err := l.shared.q.Lead(wait)
	if err != nil {
		return fmt.Errorf("audit: another process has been moving the journals into the log for a minute (a command on this data directory?): %w", err)
	}
	defer release()
	if err := l.sequenceAll(lead); err != nil {
		return fmt.Errorf("audit: moving the journals into the log: %w", err)
	}
	return nil
}
