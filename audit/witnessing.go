package audit

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// WitnessStatus is what a log knows of one of its witnesses.
type WitnessStatus struct {
	Name string
	// Size is the size of the newest checkpoint the witness accepted
	// from this log (0 before the first).
	Size        int64
	LastSuccess time.Time
	LastError   string // empty while it accepts checkpoints
}

// witnessing pushes a log's checkpoints to its witnesses.
type witnessing struct {
	witnesses []Witness
	kick      chan struct{} // a new checkpoint to push
	mu        sync.Mutex
	status    []WitnessStatus
}

// checkWitnesses compares the log with each witness before it serves: a
// witness holding more than the log, or another tree, means the log was
// cut back or rewritten, and the log does not open. A witness that cannot
// be reached fails the open only when the options require witnesses.
func (l *Log) checkWitnesses(ctx context.Context) error {
	w := l.witness
	tr, err := NewTreeReader(ctx, l.store, l.verifier)
	if err != nil {
		return err
	}
	if tr.Size() == 0 {
		// An empty log: a witness that holds anything for it holds
		// more than it.
		return l.checkEmpty(ctx)
	}
	// Sign the log as it stands, so that what is submitted covers every
	// event (a deleted newest checkpoint is signed again).
	if _, err := l.Checkpoint(ctx); err != nil {
		return err
	}
	for i, wt := range w.witnesses {
		st, err := CheckWitness(ctx, tr, wt)
		switch {
		case err == nil:
			w.set(i, st.Size, nil)
		case errors.Is(err, ErrTruncated), errors.Is(err, ErrWitnessRootConflict), errors.Is(err, ErrWitnessProof):
			return fmt.Errorf("audit: refusing to open the log: %w", err)
		case l.opts.RequireWitnesses:
			return fmt.Errorf("audit: witness %s cannot be checked and witnesses are required: %w", wt.Name(), err)
		default:
			w.set(i, 0, err)
			l.log.Error("audit log: a witness cannot be checked; serving without its confirmation", "witness", wt.Name(), "err", err)
		}
	}
	return nil
}

// checkEmpty fails when a readable witness holds a checkpoint for a log
// that has none: the whole log was replaced.
func (l *Log) checkEmpty(ctx context.Context) error {
	for _, wt := range l.witness.witnesses {
		r, ok := wt.(WitnessReader)
		if !ok {
			continue
		}
		cp, err := r.Latest(ctx, l.verifier.Name())
		if err == nil && cp != nil {
			return fmt.Errorf("audit: refusing to open the log: %w: witness %s holds a checkpoint of a log that is now empty", ErrTruncated, wt.Name())
		}
	}
	return nil
}

func (w *witnessing) set(i int, size int64, err error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	s := &w.status[i]
	if err != nil {
		s.LastError = err.Error()
		return
	}
	s.Size, s.LastSuccess, s.LastError = size, time.Now(), ""
}

// WitnessStatus returns what the log knows of its witnesses.
func (l *Log) WitnessStatus() []WitnessStatus {
	if l.witness == nil {
		return nil
	}
	l.witness.mu.Lock()
	defer l.witness.mu.Unlock()
	return append([]WitnessStatus(nil), l.witness.status...)
}

// kickWitnesses asks the witness loop to push the newest checkpoint.
func (l *Log) kickWitnesses() {
	if l.witness == nil {
		return
	}
	select {
	case l.witness.kick <- struct{}{}:
	default:
	}
}

// witnessLoop pushes each new checkpoint to every witness, with a
// consistency proof from the size that witness last accepted, and retries
// failed witnesses every few seconds. On a shared log only the sequencer
// pushes.
func (l *Log) witnessLoop() {
	retry := time.NewTicker(5 * time.Second)
	defer retry.Stop()
	for {
		select {
		case <-l.closing:
			return // Close pushes the final checkpoint
		case <-l.witness.kick:
		case <-retry.C:
			if !l.witnessBehind() {
				continue
			}
		}
		if l.shared != nil && !l.Leading() {
			continue
		}
		l.pushWitnesses()
	}
}

// witnessBehind reports whether some witness failed or lags the newest
// checkpoint.
func (l *Log) witnessBehind() bool {
	l.treeMu.Lock()
	cp := l.lastCPSize
	l.treeMu.Unlock()
	for _, s := range l.WitnessStatus() {
		if s.LastError != "" || s.Size < cp {
			return true
		}
	}
	return false
}

func (l *Log) pushWitnesses() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	tr, err := NewTreeReader(ctx, l.store, l.verifier)
	if err != nil {
		return
	}
	cp, err := tr.LatestCheckpoint(ctx)
	if err != nil {
		return
	}
	w := l.witness
	for i, wt := range w.witnesses {
		w.mu.Lock()
		old := w.status[i].Size
		w.mu.Unlock()
		if old == cp.Tree.N {
			continue
		}
		err := l.push(ctx, tr, wt, old, cp)
		var sc *SizeConflict
		if errors.As(err, &sc) && sc.Size <= cp.Tree.N {
			// The witness holds another size than we thought (another
			// writer pushed, or it was restored): prove from there.
			err = l.push(ctx, tr, wt, sc.Size, cp)
		}
		if err != nil {
			if w.status[i].LastError == "" {
				l.log.Error("audit log: a witness refused the checkpoint", "witness", wt.Name(), "size", cp.Tree.N, "err", err)
			}
			w.set(i, 0, err)
			continue
		}
		w.set(i, cp.Tree.N, nil)
	}
}

func (l *Log) push(ctx context.Context, tr *TreeReader, wt Witness, old int64, cp *Checkpoint) error {
	if old > cp.Tree.N {
		return &SizeConflict{Witness: wt.Name(), Size: old}
	}
	proof, err := tr.ProveTree(ctx, cp.Tree.N, old)
	if err != nil {
		return err
	}
	_, err = wt.AddCheckpoint(ctx, old, proof, cp.Note)
	return err
}
