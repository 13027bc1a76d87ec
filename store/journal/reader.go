package journal

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// Reader reads the journals under a root. It keeps each journal's current
// segment open between reads. It is safe for concurrent use, though one
// reader at a time (the one that holds Lead) should move records.
type Reader struct {
	root string

	mu    sync.Mutex
	files map[string]*openSegment
	// Cut is called when a torn end of a segment is cut, with the file
	// and the bytes removed; nil means not told.
	Cut func(path string, bytes int64)
}

type openSegment struct {
	n int64
	f *os.File
}

// NewReader reads the journals under root.
func NewReader(root string) *Reader {
	return &Reader{root: root, files: map[string]*openSegment{}}
}

// Root returns the directory the reader reads.
func (r *Reader) Root() string { return r.root }

// Close closes the files the reader keeps open.
func (r *Reader) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	for id, s := range r.files {
		s.f.Close()
		delete(r.files, id)
	}
	return nil
}

// Journals returns the ids of the journals under root, oldest first. A
// root that does not exist has none.
func (r *Reader) Journals() ([]string, error) {
	entries, err := os.ReadDir(r.root)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("journal: %w", err)
	}
	var ids []string
	for _, e := range entries {
		if e.IsDir() && !strings.HasPrefix(e.Name(), ".") {
			ids = append(ids, e.Name())
		}
	}
	return ids, nil // ReadDir sorts by name, which is age
}

// segments returns the segment numbers of a journal, ascending.
func (r *Reader) segments(id string) ([]int64, error) {
	entries, err := os.ReadDir(filepath.Join(r.root, id))
	if err != nil {
		return nil, fmt.Errorf("journal: %w", err)
	}
	var ns []int64
	for _, e := range entries {
		name, ok := strings.CutSuffix(e.Name(), segSuffix)
		if !ok {
			continue
		}
		n, err := strconv.ParseInt(name, 10, 64)
		if err != nil || n <= 0 {
			return nil, fmt.Errorf("journal %s: unexpected file %s", id, e.Name())
		}
		ns = append(ns, n)
	}
	slices.Sort(ns)
	return ns, nil
}

// Read calls fn for the records of the journal id from position from, in
// order, a whole batch at a time, until it has given at least max records
// or reached the end of what is whole. It returns the position after the
// last batch it gave and how many records it gave. When fn fails, Read
// returns its error and the position before the batch fn failed in.
func (r *Reader) Read(id string, from Position, max int, fn func(record []byte) error) (Position, int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	pos, n := from, 0
	for n < max {
		f, err := r.open(id, &pos)
		if err != nil || f == nil {
			return pos, n, err
		}
		var hdr [headerSize]byte
		k, err := f.ReadAt(hdr[:], pos.Offset)
		if err != nil && !errors.Is(err, io.EOF) {
			return pos, n, fmt.Errorf("journal: %w", err)
		}
		if allZero(hdr[:k]) {
			// The end of this segment: go on only if it is finished,
			// which it is once a newer one exists.
			if next, err := r.nextSegment(id, pos.Segment); err != nil || next == 0 {
				return pos, n, err
			} else {
				pos = Position{next, 0}
			}
			continue
		}
		h, herr := parseHeader(hdr[:k])
		var body []byte
		if herr == nil {
			body = make([]byte, h.length)
			k, err := f.ReadAt(body, pos.Offset+headerSize)
			if k < len(body) {
				if err == nil || errors.Is(err, io.EOF) {
					herr = errors.New("incomplete batch")
				} else {
					return pos, n, fmt.Errorf("journal: %w", err)
				}
			}
		}
		if herr == nil {
			if n > 0 && n+int(h.count) > max {
				return pos, n, nil
			}
			herr = parseBody(h, hdr[:], body, func(rec []byte) error {
				n++
				return fn(rec)
			})
			if bad, ok := herr.(badBody); ok {
				herr = bad.error
			} else if herr != nil {
				return pos, n, herr // fn's
			} else {
				pos.Offset += headerSize + int64(h.length)
				continue
			}
		}
		// Not a whole batch: being written, torn, or damaged.
		again, err := r.badBatch(id, f, pos, herr)
		if err != nil || !again {
			return pos, n, err
		}
	}
	return pos, n, nil
}

// open returns the open file of segment pos.Segment, resolving the zero
// Position to the journal's first segment; nil when the journal has none.
func (r *Reader) open(id string, pos *Position) (*os.File, error) {
	if s := r.files[id]; s != nil && s.n == pos.Segment {
		return s.f, nil
	}
	if pos.Segment == 0 {
		next, err := r.nextSegment(id, 0)
		if err != nil || next == 0 {
			return nil, err
		}
		*pos = Position{next, 0}
	}
	f, err := os.Open(segmentPath(filepath.Join(r.root, id), pos.Segment))
	if err != nil {
		return nil, fmt.Errorf("journal: %w", err)
	}
	if s := r.files[id]; s != nil {
		s.f.Close()
	}
	r.files[id] = &openSegment{pos.Segment, f}
	return f, nil
}

// nextSegment returns the number of the segment after n, or 0 if there is
// none yet.
func (r *Reader) nextSegment(id string, n int64) (int64, error) {
	ns, err := r.segments(id)
	if err != nil {
		return 0, err
	}
	for _, s := range ns {
		if s > n {
			return s, nil
		}
	}
	return 0, nil
}

// badBatch decides what a batch that is not whole at pos is. Written in
// full since it was first read, it is read on (true). Followed by a whole
// batch, it is damage: a *CorruptError. At the end of a live writer's
// newest segment it is being written: stop (false). Anywhere else it is a
// torn end, cut, and reading goes on.
func (r *Reader) badBatch(id string, f *os.File, pos Position, why error) (bool, error) {
	st, err := f.Stat()
	if err != nil {
		return false, fmt.Errorf("journal: %w", err)
	}
	rest := make([]byte, max(st.Size()-pos.Offset, 0))
	if _, err := f.ReadAt(rest, pos.Offset); err != nil && !errors.Is(err, io.EOF) {
		return false, fmt.Errorf("journal: %w", err)
	}
	if _, err := ParseBatch(rest, func([]byte) error { return nil }); err == nil {
		return true, nil
	}
	if len(rest) > 0 && wholeBatchIn(rest[1:]) {
		return false, &CorruptError{Path: f.Name(), Offset: pos.Offset, Reason: why.Error()}
	}
	next, err := r.nextSegment(id, pos.Segment)
	if err != nil {
		return false, err
	}
	if next == 0 {
		// The newest segment: its writer may still be writing it.
		release, alive, err := lockIfDead(filepath.Join(r.root, id))
		if err != nil || alive {
			return false, err
		}
		defer release()
	}
	if err := cut(f.Name(), pos.Offset); err != nil {
		return false, err
	}
	if r.Cut != nil && !allZero(rest) {
		r.Cut(f.Name(), int64(len(rest)))
	}
	return next != 0, nil
}

// allZero reports whether b holds only zero bytes.
func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

// wholeBatchIn reports whether a whole, valid batch starts anywhere in b.
func wholeBatchIn(b []byte) bool {
	for off := 0; ; {
		i := bytes.Index(b[off:], []byte(magic))
		if i < 0 {
			return false
		}
		off += i
		if _, err := ParseBatch(b[off:], func([]byte) error { return nil }); err == nil {
			return true
		}
		off++
	}
}

// cut truncates a segment's torn end and syncs it.
func cut(path string, size int64) error {
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		return fmt.Errorf("journal: cut torn end: %w", err)
	}
	defer f.Close()
	if err := f.Truncate(size); err != nil {
		return fmt.Errorf("journal: cut torn end: %w", err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("journal: cut torn end: %w", err)
	}
	return nil
}

// lockIfDead takes the lock of the journal in dir if its writer is gone,
// returning how to release it; alive reports that the writer still holds
// it.
func lockIfDead(dir string) (release func(), alive bool, err error) {
	f, err := os.OpenFile(filepath.Join(dir, lockName), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, false, fmt.Errorf("journal: %w", err)
	}
	ok, err := tryLock(f)
	if err != nil || !ok {
		f.Close()
		return nil, !ok && err == nil, err
	}
	return func() { unlock(f); f.Close() }, false, nil
}

// End returns the position after the last whole batch a journal holds
// now, counting the records from from to there: what Read would give. A
// torn batch is not counted (it will be cut, never read).
func (r *Reader) End(id string, from Position) (Position, int64, error) {
	pos, n, err := r.Read(id, from, math.MaxInt, func([]byte) error { return nil })
	return pos, int64(n), err
}
