package journal

import (
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/modelgate/modelgate/internal/fsync"
)

// Options configure a Writer. Zero fields take the defaults.
type Options struct {
	// SegmentBytes is how much a segment holds (default 16 MiB), and
	// SegmentAge how long it is written to (default one minute). A segment is retired only once it is no longer written,
	// so the age bounds how long a record outlives its move elsewhere,
	// which matters when what it holds must be erasable.
	SegmentBytes int64
	SegmentAge   time.Duration
}

func (o Options) withDefaults() Options {
	if o.SegmentBytes <= 0 {
		o.SegmentBytes = 16 << 20
	}
	if o.SegmentAge <= 0 {
		o.SegmentAge = time.Minute
	}
	return o
}

// Writer appends batches to one process's journal. Its methods are safe
// for concurrent use; Append calls run one at a time.
type Writer struct {
	opts Options
	id   string
	dir  string
	lock *os.File

	mu      sync.Mutex
	seg     *os.File // nil before the first append and after a failure
	segment int64
	size    int64 // bytes of batches in seg; zeros follow
	opened  time.Time
	buf     []byte
	closed  bool
}

// Create starts a new journal for this process under root (created if
// needed) and locks it for as long as the Writer is open.
func Create(root string, opts Options) (*Writer, error) {
	if err := os.MkdirAll(root, 0o700); err != nil {
		return nil, fmt.Errorf("journal: %w", err)
	}
	var rnd [4]byte
	rand.Read(rnd[:])
	// Hex of the creation time first, so that older journals sort first.
	id := fmt.Sprintf("%016x-%08x", time.Now().UnixNano(), binary.BigEndian.Uint32(rnd[:]))
	dir := filepath.Join(root, id)
	if err := os.Mkdir(dir, 0o700); err != nil {
		return nil, fmt.Errorf("journal: %w", err)
	}
	lock, err := os.OpenFile(filepath.Join(dir, lockName), os.O_CREATE|os.O_RDWR, 0o600)
	if err == nil {
		if ok, lerr := tryLock(lock); lerr != nil || !ok {
			lock.Close()
			err = fmt.Errorf("cannot lock a new journal (%v)", lerr)
		}
	}
	if err == nil {
		err = syncDir(root) // the journal's directory survives a crash
	}
	if err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("journal: %w", err)
	}
	return &Writer{opts: opts.withDefaults(), id: id, dir: dir, lock: lock}, nil
}

// ID names the journal among the root's journals.
func (w *Writer) ID() string { return w.id }

// Append writes records as one batch and returns once they are on disk.
// On error nothing of the batch is left for a reader to take as whole,
// unless the error is the sync's, in which case it may be.
func (w *Writer) Append(records [][]byte) error {
	if len(records) == 0 {
		return nil
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return ErrClosed
	}
	w.buf = appendBatch(w.buf[:0], records)
	if len(w.buf)-headerSize > MaxBatch {
		return fmt.Errorf("journal: a batch of %d bytes is over the limit of %d", len(w.buf), MaxBatch)
	}
	if w.seg == nil || w.size > 0 && (w.size+int64(len(w.buf)) > w.opts.SegmentBytes || time.Since(w.opened) >= w.opts.SegmentAge) {
		if err := w.rotate(); err != nil {
			return err
		}
	}
	if n, err := w.seg.WriteAt(w.buf, w.size); err != nil {
		// Zero what was written, so no reader sees half a batch from a
		// live writer; if that fails too, write on in a fresh segment
		// and leave the cut to the reader, which cuts torn ends of
		// segments no longer written.
		if n > 0 {
			if _, zerr := w.seg.WriteAt(make([]byte, n), w.size); zerr != nil {
				w.abandon()
			}
		}
		return fmt.Errorf("journal: write %s: %w", w.seg.Name(), err)
	}
	if err := fsync.Data(w.seg); err != nil {
		// After a failed sync the kernel may have dropped the pages and
		// a later sync may succeed without them: never write here again.
		w.abandon()
		return fmt.Errorf("journal: %w", err)
	}
	w.size += int64(len(w.buf))
	if cap(w.buf) > 4<<20 {
		w.buf = nil // do not keep one large batch's buffer
	}
	return nil
}

// abandon stops writing to the current segment.
func (w *Writer) abandon() {
	w.seg.Close()
	w.seg = nil
}

// rotate starts the next segment. The previous one is on disk already:
// every write to it was synced.
func (w *Writer) rotate() error {
	if w.seg != nil {
		w.seg.Close()
		w.seg = nil
	}
	next := w.segment + 1
	f, err := os.OpenFile(segmentPath(w.dir, next), os.O_CREATE|os.O_EXCL|os.O_RDWR, 0o600)
	if err != nil {
		return fmt.Errorf("journal: %w", err)
	}
	if err := syncDir(w.dir); err != nil {
		f.Close()
		os.Remove(f.Name())
		return fmt.Errorf("journal: %w", err)
	}
	w.seg, w.segment, w.size, w.opened = f, next, 0, time.Now()
	return nil
}

// Close stops the writer and unlocks its journal, which stays for a
// reader to finish; a journal never written to is removed.
func (w *Writer) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return nil
	}
	w.closed = true
	if w.seg != nil {
		w.seg.Close()
		w.seg = nil
	}
	if w.segment == 0 {
		os.RemoveAll(w.dir)
	}
	unlock(w.lock)
	return w.lock.Close()
}

func segmentPath(dir string, n int64) string {
	return filepath.Join(dir, fmt.Sprintf("%016d%s", n, segSuffix))
}

// syncDir makes the entries of a directory durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	return nil
}
