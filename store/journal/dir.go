package journal

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// Lead blocks until the caller holds the root's reader lock, or ctx ends.
// One process at a time should move records out of the journals; the lock
// goes with the process, so a reader that dies hands over at once.
func Lead(ctx context.Context, root string) (release func(), err error) {
	if err := os.MkdirAll(root, 0o700); err != nil {
		return nil, fmt.Errorf("journal: %w", err)
	}
	f, err := os.OpenFile(filepath.Join(root, leaderName), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("journal: %w", err)
	}
	wait := time.Millisecond
	for {
		ok, err := tryLock(f)
		if err != nil {
			f.Close()
			return nil, err
		}
		if ok {
			return func() { unlock(f); f.Close() }, nil
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, ctx.Err()
		case <-time.After(wait):
		}
		wait = min(2*wait, 50*time.Millisecond)
	}
}

// Retire removes what the reader no longer needs of journal id, given
// that everything before upTo has been moved and is durable where it went:
// segments before upTo's, and the whole journal once its writer is gone
// and upTo is its end. It reports whether the journal is gone.
func (r *Reader) Retire(id string, upTo Position) (bool, error) {
	dir := filepath.Join(r.root, id)
	ns, err := r.segments(id)
	if errors.Is(err, fs.ErrNotExist) {
		return true, nil // retired already
	}
	if err != nil {
		return false, err
	}
	removed := false
	for _, n := range ns {
		if n >= upTo.Segment {
			break
		}
		if err := os.Remove(segmentPath(dir, n)); err != nil && !os.IsNotExist(err) {
			return false, fmt.Errorf("journal: retire: %w", err)
		}
		removed = true
	}
	if len(ns) == 0 || ns[len(ns)-1] == upTo.Segment {
		if gone, err := r.retireDead(id, upTo); gone || err != nil {
			return gone, err
		}
	}
	if removed {
		return false, syncDir(dir)
	}
	return false, nil
}

// retireDead removes a journal whose writer is gone and whose every
// record is before upTo.
func (r *Reader) retireDead(id string, upTo Position) (bool, error) {
	dir := filepath.Join(r.root, id)
	if upTo.Segment > 0 {
		if more, err := batchAt(segmentPath(dir, upTo.Segment), upTo.Offset); err != nil || more {
			return false, err // records remain
		}
	}
	release, alive, err := lockIfDead(dir)
	if err != nil || alive {
		return false, err
	}
	defer release()
	// Under the lock the writer cannot come back: it was the only one
	// to write here. Look once more now that it is held.
	if ns, err := r.segments(id); err != nil || len(ns) > 0 && ns[len(ns)-1] != upTo.Segment {
		return false, err
	}
	r.mu.Lock()
	if s := r.files[id]; s != nil {
		s.f.Close()
		delete(r.files, id)
	}
	r.mu.Unlock()
	if err := os.RemoveAll(dir); err != nil {
		return false, fmt.Errorf("journal: retire: %w", err)
	}
	return true, syncDir(r.root)
}

// batchAt reports whether anything but zeros (or the end) is at off in a
// segment.
func batchAt(path string, off int64) (bool, error) {
	f, err := os.Open(path)
	if os.IsNotExist(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("journal: %w", err)
	}
	defer f.Close()
	var hdr [headerSize]byte
	k, _ := f.ReadAt(hdr[:], off)
	return !allZero(hdr[:k]), nil
}
