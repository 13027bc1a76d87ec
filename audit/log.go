package audit

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/modelgate/modelgate/store"
	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// Mode says what happens to requests when the log cannot write.
type Mode string

// Modes.
const (
	// FailClosed: a response is released only once its event is durable;
	// a request whose event cannot be written is refused.
	FailClosed Mode = "fail_closed"
	// BestEffort: events are written in the background; a failure is
	// logged and counted, and traffic continues unrecorded.
	BestEffort Mode = "best_effort"
)

// Options configure a Log. Zero fields take the defaults.
type Options struct {
	Mode Mode // default FailClosed
	// BatchMax bounds a group commit (default 1024 events).
	BatchMax int
	// BatchWait paces commits (default 2ms): a commit starts no sooner
	// than BatchWait after the previous one started, unless its batch is
	// full, and takes everything queued by then. Under load that turns
	// many small commits into one per BatchWait, which is what makes
	// group commit cheap: each commit and each sync costs the same however
	// many events it carries. An event that arrives after a quiet spell
	// commits at once, so pacing adds nothing to quiet-time latency and at
	// most BatchWait under load. Set it negative to never wait. On a
	// journaled store (store.AuditJournal) it paces only above
	// journalPaceAbove waited-for events a second: below, each is written
	// at once, alone.
	BatchWait time.Duration
	// CheckpointEvery signs a checkpoint after this many events (default
	// 1000); CheckpointInterval after this much time with new events
	// (default 10s). A checkpoint is also signed at Close.
	CheckpointEvery    int64
	CheckpointInterval time.Duration
	// QueueSize is how many events may wait for the writer (default 8192);
	// beyond it Append blocks.
	QueueSize int
	Logger    *slog.Logger
	// SweepStreams makes the log close streams whose end never came (see
	// SweepStreams): a log in one process when it opens, and every log,
	// local or shared (on the sequencer), every MaxStream/2. The server
	// sets it; tools that open a log beside a running server must not.
	SweepStreams bool
	// MaxStream is the longest a stream may run (default 11 minutes: the
	// gateway's default request timeout and a margin).
	MaxStream time.Duration
	// Witnesses receive every checkpoint (see witness.go). The log does
	// not open when one holds more than it or another tree. A DirWitness
	// without Logs witnesses this log.
	Witnesses []Witness
	// RequireWitnesses fails Open when a witness cannot be reached;
	// otherwise the log opens, logs the failure and keeps retrying.
	RequireWitnesses bool
}

func (o Options) withDefaults() Options {
	if o.Mode == "" {
		o.Mode = FailClosed
	}
	if o.BatchMax <= 0 {
		o.BatchMax = 1024
	}
	if o.BatchWait == 0 {
		// 1ms cost the gateway 13µs more CPU per request than 2ms in
		// bench/gateway; 4ms saved no more and added latency.
		o.BatchWait = 2 * time.Millisecond
	}
	if o.CheckpointEvery <= 0 {
		o.CheckpointEvery = 1000
	}
	if o.CheckpointInterval <= 0 {
		o.CheckpointInterval = 10 * time.Second
	}
	if o.QueueSize <= 0 {
		o.QueueSize = 8192
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.MaxStream <= 0 {
		o.MaxStream = 11 * time.Minute
	}
	return o
}

// ErrClosed is returned by a closed Log.
var ErrClosed = errors.New("audit log is closed")

// Log appends events to the audit store.
type Log struct {
	store    store.AuditStore
	signer   note.Signer
	verifier note.Verifier
	opts     Options
	log      *slog.Logger

	queue   chan *entry
	toSync  chan committed // waiting to be made durable
	closing chan struct{}
	stopped chan struct{}
	synced  chan struct{}
	once    sync.Once

	unhealthy  atomic.Pointer[error] // the last commit's error, nil when it worked
	written    atomic.Int64          // events committed by this Log
	failed     atomic.Int64          // events that could not be written
	commits    atomic.Int64          // transactions committed
	commitTime atomic.Int64          // nanoseconds spent committing
	syncs      atomic.Int64          // syncs to disk
	durable    atomic.Int64          // events known durable
	syncTime   atomic.Int64          // nanoseconds spent syncing

	// The tree's frontier and checkpoint state, written by the writer
	// goroutine and, on a shared store, by the sequencer: under treeMu.
	treeMu                 sync.Mutex
	lastCommit             time.Time // when the last commit with events started
	rate                   float64   // waited-for events per second (see noteCommit)
	front                  *frontier
	lastCPSize, nextCPSize int64
	lastCPTime, nextCPTime time.Time
	pendingSince           time.Time

	// shared is set when the store is shared by several writers: see
	// shared.go.
	shared *sharedLog

	// witness is set when the log has witnesses: see witnessing.go.
	witness  *witnessing
	signedCP atomic.Int64 // size of the newest checkpoint signed here
	kickedCP atomic.Int64 // the size witnesses were last asked to take
}

// entry is one queued event (or, with ev nil, a checkpoint request).
type entry struct {
	ev       *Event
	head     []byte // canonical JSON up to the index value
	tail     []byte // and after it
	payloads []sealed
	erase    *eraseJob  // the event records this erasure, done in the same transaction
	done     chan error // nil: nobody waits
}

// eraseJob erases payloads of the listed events, or of every event below
// before.
type eraseJob struct {
	indexes []int64
	before  int64
	erased  []int64
}

// Open starts a log over st, signing checkpoints with signer.
func Open(ctx context.Context, st store.AuditStore, signer note.Signer, verifier note.Verifier, opts Options) (*Log, error) {
	opts = opts.withDefaults()
	l := &Log{store: st, signer: signer, verifier: verifier, opts: opts, log: opts.Logger,
		queue: make(chan *entry, opts.QueueSize), toSync: make(chan committed, 64),
		closing: make(chan struct{}), stopped: make(chan struct{}), synced: make(chan struct{})}
	// Check the store answers and pick up where the log stands. What
	// another process committed is made durable before anyone reads it as
	// such (a crash may have left it unsynced).
	size, err := st.AuditSize(ctx)
	if err != nil {
		return nil, err
	}
	if err := st.Sync(ctx); err != nil {
		return nil, err
	}
	l.durable.Store(size)
	if cp, err := st.LatestAuditCheckpoint(ctx); err == nil {
		if _, err := OpenCheckpoint(cp.Note, verifier); err != nil {
			return nil, fmt.Errorf("audit: the latest checkpoint does not verify with this log's key: %w", err)
		}
		l.lastCPSize, l.lastCPTime = cp.Size, cp.CreatedAt
	} else if !errors.Is(err, store.ErrNotFound) {
		return nil, err
	}
	if q, ok := st.(store.AuditQueue); ok {
		l.shared = &sharedLog{q: q, stop: make(chan struct{}), done: make(chan struct{})}
		l.shared.journal, _ = q.(store.AuditJournal)
	}
	go l.run()
	go l.syncLoop()
	if l.shared != nil {
		if l.shared.journal != nil && opts.SweepStreams {
			// The server owns a journaled log: move what the
			// journals hold into the log before anything reads it
			// (the sweep below, forwarders, queries).
			if err := l.drainJournals(ctx); err != nil {
				l.Close()
				return nil, err
			}
		}
		go l.sequence()
	}
	if len(opts.Witnesses) > 0 {
		l.witness = &witnessing{witnesses: opts.Witnesses, kick: make(chan struct{}, 1)}
		for _, w := range opts.Witnesses {
			if d, ok := w.(*DirWitness); ok && d.Logs == nil {
				d.Logs = note.VerifierList(verifier) // witnessing this log
			}
			l.witness.status = append(l.witness.status, WitnessStatus{Name: w.Name()})
		}
		if err := l.checkWitnesses(ctx); err != nil {
			l.Close()
			return nil, err
		}
		go l.witnessLoop()
		l.kickWitnesses()
	}
	if opts.SweepStreams {
		if l.shared == nil || l.shared.journal != nil {
			// This process owns the log: any stream still open was
			// written by a process that is gone.
			if n, err := l.SweepStreams(ctx, time.Now()); err != nil {
				l.Close()
				return nil, err
			} else if n > 0 {
				l.log.Warn("audit log: streams cut off by the previous stop recorded as interrupted", "streams", n)
			}
		}
		go l.sweepLoop()
	}
	return l, nil
}

// sweepLoop sweeps streams that outlived MaxStream, on the sequencer when
// the log is shared, until the log closes.
func (l *Log) sweepLoop() {
	t := time.NewTicker(l.opts.MaxStream / 2)
	defer t.Stop()
	for {
		select {
		case <-l.closing:
			return
		case <-t.C:
		}
		if l.shared != nil && !l.Leading() {
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		if _, err := l.SweepStreams(ctx, time.Now().Add(-l.opts.MaxStream)); err != nil && !errors.Is(err, ErrClosed) {
			l.log.Error("audit log: stream sweep failed", "err", err)
		}
		cancel()
	}
}

// Mode returns the log's mode.
func (l *Log) Mode() Mode { return l.opts.Mode }

// Verifier returns the key that verifies this log's checkpoints.
func (l *Log) Verifier() note.Verifier { return l.verifier }

// Healthy returns nil when the last write worked (and, on a journaled
// store, the last round of sequencing).
func (l *Log) Healthy() error {
	if p := l.unhealthy.Load(); p != nil {
		return *p
	}
	if l.shared != nil && l.shared.journal != nil {
		if p := l.shared.stalled.Load(); p != nil {
			return fmt.Errorf("audit sequencer: %w", *p)
		}
	}
	return nil
}

// Stats counts what a Log has done.
type Stats struct {
	Written, Failed int64         // events
	Commits         int64         // group commits
	CommitTime      time.Duration // spent in them, in total
	Syncs           int64         // syncs to disk (one may cover several commits)
	SyncTime        time.Duration // spent in them, in total
}

// Stats returns the Log's counters.
func (l *Log) Stats() Stats {
	return Stats{Written: l.written.Load(), Failed: l.failed.Load(), Commits: l.commits.Load(), CommitTime: time.Duration(l.commitTime.Load()),
		Syncs: l.syncs.Load(), SyncTime: time.Duration(l.syncTime.Load())}
}

func (l *Log) newEntry(ev *Event, payloads []Payload, wait bool) *entry {
	e := &entry{ev: ev}
	for _, p := range payloads {
		if p.Mode == CaptureNone || p.Mode == "" {
			continue
		}
		ref, s := seal(p)
		switch p.Kind {
		case PayloadInput:
			ev.Payloads.Input = ref
		case PayloadOutput:
			ev.Payloads.Output = ref
		}
		e.payloads = append(e.payloads, s)
	}
	// Encoded here, in the caller's goroutine, so the writer only splices.
	buf := appendHead(make([]byte, 0, 1024), ev)
	n := len(buf)
	buf = appendTail(buf, ev)
	e.head, e.tail = buf[:n:n], buf[n:]
	if wait {
		e.done = make(chan error, 1)
	}
	return e
}

// Append writes an event and returns once it is durable; ev.Index is set.
func (l *Log) Append(ctx context.Context, ev *Event, payloads ...Payload) error {
	e := l.newEntry(ev, payloads, true)
	if err := l.enqueue(ctx, e); err != nil {
		return err
	}
	select {
	case err := <-e.done:
		return err
	case <-ctx.Done():
		return ctx.Err() // the event may still be written
	}
}

// Submit queues an event and returns without waiting for it to be written.
// It blocks only while the queue is full.
func (l *Log) Submit(ev *Event, payloads ...Payload) error {
	return l.enqueue(context.Background(), l.newEntry(ev, payloads, false))
}

func (l *Log) enqueue(ctx context.Context, e *entry) error {
	select {
	case <-l.closing:
		return ErrClosed
	default:
	}
	select {
	case l.queue <- e:
		return nil
	case <-l.closing:
		return ErrClosed
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Erase deletes the payloads (bytes and salts) of the given events, or of
// every event below before when before > 0, and appends ev recording it,
// in one transaction. ev's details gain "indexes" (the events the erasure
// covers, as ranges) or "before", which `audit verify` uses to tell an
// erasure from tampering, and "erased" (how many of them had payloads to
// erase). It returns the indexes whose payloads it erased.
func (l *Log) Erase(ctx context.Context, ev *Event, indexes []int64, before int64) ([]int64, error) {
	job := &eraseJob{indexes: indexes, before: before}
	e := &entry{ev: ev, erase: job, done: make(chan error, 1)}
	if err := l.enqueue(ctx, e); err != nil {
		return nil, err
	}
	select {
	case err := <-e.done:
		return job.erased, err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// Checkpoint signs a checkpoint of everything written so far (if the
// latest does not already cover it) and returns the latest checkpoint.
func (l *Log) Checkpoint(ctx context.Context) (*Checkpoint, error) {
	e := &entry{done: make(chan error, 1)}
	if err := l.enqueue(ctx, e); err != nil {
		return nil, err
	}
	select {
	case err := <-e.done:
		if err != nil {
			return nil, err
		}
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	cp, err := l.store.LatestAuditCheckpoint(ctx)
	if err != nil {
		return nil, err
	}
	return OpenCheckpoint(cp.Note, l.verifier)
}

// Close writes what is queued, signs a final checkpoint and stops. Events
// appended after Close starts get ErrClosed.
func (l *Log) Close() error {
	l.once.Do(func() { close(l.closing) })
	<-l.stopped
	<-l.synced
	if l.shared != nil {
		l.shared.stopOnce.Do(func() { close(l.shared.stop) })
		<-l.shared.done
	}
	// The final checkpoint goes to the witnesses, unless the log is shared
	// by replicas, which go on without this one.
	if l.witness != nil && (l.shared == nil || l.shared.journal != nil) {
		l.pushWitnesses()
	}
	return l.Healthy()
}

// run is the writer: it takes whatever is queued, up to BatchMax, and
// commits it as one transaction.
func (l *Log) run() {
	defer close(l.stopped)
	defer close(l.toSync)
	tick := time.NewTicker(min(l.opts.CheckpointInterval, time.Second))
	defer tick.Stop()
	for {
		var batch []*entry
		select {
		case e := <-l.queue:
			batch = append(batch, e)
		case <-tick.C:
			l.onTick()
			continue
		case <-l.closing:
			l.drainAndStop()
			return
		}
		batch = l.fill(batch)
		l.commit(batch, false)
	}
}

// journalPaceAbove is the rate of waited-for events, per second, above
// which a journaled log paces its writes. Below it each write may carry a
// single event: at this rate its syncs cost about a tenth of a core.
const journalPaceAbove = 2000

// noteCommit updates the rate of waited-for events with a commit of n of
// them starting at began. The caller is the writer.
func (l *Log) noteCommit(began time.Time, n int) {
	// An exponentially decaying count over rateWindow: steady arrivals
	// at r per second hold it at r, a burst of k adds only k/rateWindow.
	const rateWindow = 20 * time.Millisecond
	dt := began.Sub(l.lastCommit)
	l.rate = l.rate*math.Exp(-float64(dt)/float64(rateWindow)) + float64(n)/rateWindow.Seconds()
	l.lastCommit = began
}

// fill adds what is queued and, when the previous commit started less
// than BatchWait ago, what arrives until BatchWait after it. (Committing
// as soon as the previous sync ends instead made commits three times as
// frequent and smaller, and the gateway slower: each commit and sync
// costs CPU the requests need.)
func (l *Log) fill(batch []*entry) []*entry {
	batch = l.takeQueued(batch)
	wait := time.Until(l.lastCommit.Add(l.opts.BatchWait))
	if len(batch) >= l.opts.BatchMax || l.opts.BatchWait <= 0 || wait <= 0 {
		return batch
	}
	// A journal write costs one append and one sync, cheap enough to
	// spend on each event someone waits for while they are few: pacing,
	// which makes each sync carry many, starts only under load. Events
	// nobody waits for (a stream's end, a refusal) ride with the next.
	unpaced := l.shared != nil && l.shared.journal != nil && l.rate < journalPaceAbove
	if unpaced && slices.ContainsFunc(batch, waited) {
		return batch
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	for len(batch) < l.opts.BatchMax {
		select {
		case e := <-l.queue:
			batch = append(batch, e)
			if unpaced && waited(e) {
				return l.takeQueued(batch)
			}
		case <-t.C:
			return batch
		}
	}
	return batch
}

// waited reports whether someone waits for e to be written.
func waited(e *entry) bool { return e.done != nil }

// takeQueued adds what is queued, up to BatchMax, without waiting.
func (l *Log) takeQueued(batch []*entry) []*entry {
	for len(batch) < l.opts.BatchMax {
		select {
		case e := <-l.queue:
			batch = append(batch, e)
		default:
			return batch
		}
	}
	return batch
}

func (l *Log) onTick() {
	// A checkpoint when events have waited long enough; and when the last
	// write failed, an empty transaction to find out whether writing
	// works again, so Healthy recovers without waiting for traffic.
	l.treeMu.Lock()
	due := l.front != nil && l.front.size > l.lastCPSize && time.Since(l.pendingSince) >= l.opts.CheckpointInterval
	l.treeMu.Unlock()
	if due || l.Healthy() != nil {
		l.commit(nil, due)
	}
	// Events another process appended (the CLI recording an erasure) are
	// durable once a sync after their commit returns: pick them up even
	// when this process writes nothing.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if size, err := l.store.AuditSize(ctx); err == nil && size > l.durable.Load() {
		if l.store.Sync(ctx) == nil {
			l.setDurable(size)
		}
	}
}

func (l *Log) drainAndStop() {
	for {
		batch := l.takeQueued(nil)
		if len(batch) == 0 {
			l.commit(nil, true) // the final checkpoint
			return
		}
		l.commit(batch, false)
	}
}

// commit writes a batch, its tree hashes and, when due, a checkpoint in one
// transaction, then tells every waiter the outcome.
func (l *Log) commit(batch []*entry, forceCheckpoint bool) {
	if l.shared != nil {
		// Plain events go to the shared queue; the sequencer writes
		// them. Erasures and checkpoints are written here, below.
		probe := len(batch) == 0
		if batch = l.enqueueShared(batch); len(batch) == 0 && !forceCheckpoint {
			if probe && l.Healthy() != nil {
				l.probeShared()
			}
			return
		}
	}
	var events []*entry
	for _, e := range batch {
		if e.ev == nil {
			forceCheckpoint = true
		} else {
			events = append(events, e)
		}
	}
	if forceCheckpoint && l.shared != nil && l.shared.journal != nil {
		// A checkpoint asked for here covers what was appended before
		// it, which the journals may still hold.
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		if err := l.shared.journal.WaitSequenced(ctx); err != nil {
			l.log.Warn("audit log: checkpoint signed before the journals were moved into the log", "err", err)
		}
		cancel()
	}
	l.treeMu.Lock()
	defer l.treeMu.Unlock()
	began := time.Now()
	if len(events) > 0 {
		l.lastCommit = began
	}
	var next *frontier
	ctx, end := context.WithTimeout(context.Background(), 30*time.Second)
	defer end()
	err := l.store.AppendAudit(ctx, func(tx store.AuditTx) (err error) {
		next, err = l.writeTx(tx, events, forceCheckpoint)
		return err
	})
	l.afterWrite(next, len(events), began, err)
	if err != nil {
		release(batch, err)
		return
	}
	l.toSync <- committed{batch, next.size}
}

// writeTx appends events (possibly none) to the tree inside tx and signs a
// checkpoint when one is due, returning the new frontier. The caller holds
// treeMu and records the outcome with afterWrite.
func (l *Log) writeTx(tx store.AuditTx, events []*entry, forceCheckpoint bool) (*frontier, error) {
	now := time.Now()
	size, err := tx.Size()
	if err != nil {
		return nil, err
	}
	// Another process (the CLI erasing payloads, another replica) may
	// have appended since: rebuild the frontier from what is stored.
	if l.front == nil || l.front.size != size {
		if l.front, err = loadFrontier(size, tx.Hashes); err != nil {
			return nil, err
		}
		if l.lastCPSize, err = tx.LatestCheckpointSize(); err != nil {
			return nil, err
		}
	}
	f := l.front.clone()
	if len(events) > 0 {
		if err := l.writeEvents(tx, f, events); err != nil {
			return nil, err
		}
	}
	l.nextCPSize, l.nextCPTime = l.lastCPSize, l.lastCPTime
	due := forceCheckpoint || f.size-l.lastCPSize >= l.opts.CheckpointEvery
	if due && f.size > l.lastCPSize {
		root, err := f.root()
		if err != nil {
			return nil, err
		}
		msg, err := signCheckpoint(l.signer, tlog.Tree{N: f.size, Hash: root})
		if err != nil {
			return nil, err
		}
		if err := tx.InsertCheckpoint(store.AuditCheckpoint{Size: f.size, Note: msg, CreatedAt: now}); err != nil {
			return nil, err
		}
		l.nextCPSize, l.nextCPTime = f.size, now
	}
	return f, nil
}

// afterWrite records the outcome of a tree write: the new frontier and
// checkpoint on success, the error (and a frontier to reload) on failure.
func (l *Log) afterWrite(next *frontier, events int, began time.Time, err error) {
	if err != nil {
		l.front = nil // reload from storage on the next commit
		l.unhealthy.Store(&err)
		l.failed.Add(int64(events))
		l.log.Error("audit log write failed", "events", events, "err", err)
		return
	}
	if events > 0 && (l.front == nil || l.front.size == l.lastCPSize) {
		l.pendingSince = began
	}
	l.front, l.lastCPSize, l.lastCPTime = next, l.nextCPSize, l.nextCPTime
	l.signedCP.Store(l.lastCPSize)
	l.unhealthy.Store(nil)
	l.written.Add(int64(events))
	l.commits.Add(1)
	l.commitTime.Add(int64(time.Since(began)))
}

// committed is a committed batch and the log's size after it.
type committed struct {
	batch []*entry
	size  int64
}

// DurableSize returns how many events are known durable: everything below
// it survives a power loss. Forwarders send nothing beyond it, so that a
// receiver never holds an event the log could lose.
func (l *Log) DurableSize() int64 { return l.durable.Load() }

func (l *Log) setDurable(size int64) {
	for {
		cur := l.durable.Load()
		if size <= cur || l.durable.CompareAndSwap(cur, size) {
			return
		}
	}
}

// syncLoop makes committed batches durable and only then tells their
// waiters. Batches that commit while a sync runs share the next one, so
// the writer never waits on the disk and the disk sees one sync however
// many batches it covers.
func (l *Log) syncLoop() {
	defer close(l.synced)
	for c := range l.toSync {
		batches := []committed{c}
	more:
		for {
			select {
			case b, ok := <-l.toSync:
				if !ok {
					break more
				}
				batches = append(batches, b)
			default:
				break more
			}
		}
		began := time.Now()
		err := l.store.Sync(context.Background())
		l.syncs.Add(1)
		l.syncTime.Add(int64(time.Since(began)))
		if err != nil {
			l.unhealthy.Store(&err)
			l.log.Error("audit log sync failed", "err", err)
		}
		if err == nil {
			l.setDurable(batches[len(batches)-1].size)
			if cp := l.signedCP.Load(); cp > l.kickedCP.Load() {
				l.kickedCP.Store(cp)
				l.kickWitnesses() // a checkpoint is durable: witness it
			}
		}
		for _, b := range batches {
			release(b.batch, err)
		}
	}
}

func release(batch []*entry, err error) {
	for _, e := range batch {
		if e.done != nil {
			e.done <- err
		}
	}
}

func (l *Log) writeEvents(tx store.AuditTx, f *frontier, events []*entry) error {
	b := &store.AuditBatch{First: f.size, Leaves: make([]*store.AuditLeaf, len(events))}
	firstHash := int64(-1)
	var hashes [][]byte
	for i, e := range events {
		ev := e.ev
		if e.erase != nil {
			if err := erase(tx, e); err != nil {
				return err
			}
		}
		ev.Index = f.size
		data := make([]byte, 0, len(e.head)+20+len(e.tail))
		data = append(data, e.head...)
		data = strconv.AppendInt(data, ev.Index, 10)
		data = append(data, e.tail...)
		idx, hs, err := f.append(tlog.RecordHash(data))
		if err != nil {
			return err
		}
		for j := range hs {
			// A record's stored hashes follow the previous record's.
			if firstHash < 0 {
				firstHash = idx[j]
			} else if idx[j] != firstHash+int64(len(hashes)) {
				return fmt.Errorf("audit: stored hash %d does not follow %d", idx[j], firstHash+int64(len(hashes))-1)
			}
			hashes = append(hashes, hs[j][:])
		}
		leaf := &store.AuditLeaf{Index: ev.Index, Data: data}
		for _, p := range e.payloads {
			blob := &store.AuditBlob{Salt: p.salt, Data: p.data}
			if p.kind == PayloadInput {
				leaf.Input = blob
			} else {
				leaf.Output = blob
			}
		}
		b.Leaves[i] = leaf
		if i == 0 || ev.Time.Before(b.MinTime) {
			b.MinTime = ev.Time
		}
		if ev.Time.After(b.MaxTime) {
			b.MaxTime = ev.Time
		}
	}
	if err := tx.InsertBatch(b); err != nil {
		return err
	}
	return tx.InsertHashes(firstHash, hashes)
}

// erase runs an erasure inside the commit and completes its event.
func erase(tx store.AuditTx, e *entry) error {
	job, ev := e.erase, e.ev
	erased, err := tx.ErasePayloads(job.indexes, job.before)
	if err != nil {
		return err
	}
	job.erased = erased
	if ev.Details == nil {
		ev.Details = map[string]string{}
	}
	if job.before > 0 {
		ev.Details["before"] = strconv.FormatInt(job.before, 10)
	}
	if len(job.indexes) > 0 {
		ev.Details["indexes"] = FormatRanges(job.indexes)
	}
	ev.Details["erased"] = strconv.Itoa(len(erased))
	e.head = appendHead(e.head[:0], ev)
	e.tail = appendTail(e.tail[:0], ev)
	return nil
}
