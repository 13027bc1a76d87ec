package audit

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"

	"github.com/modelgate/modelgate/store"
	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// VerifyError is the first thing found wrong with a log.
type VerifyError struct {
	Index int64 // the first bad event, or -1 when the problem is not one event's
	What  string
}

func (e *VerifyError) Error() string {
	if e.Index < 0 {
		return e.What
	}
	return fmt.Sprintf("event %d: %s", e.Index, e.What)
}

func bad(index int64, format string, args ...any) error {
	return &VerifyError{Index: index, What: fmt.Sprintf(format, args...)}
}

// Report summarises a verification that passed.
type Report struct {
	Events          int64
	Checkpoints     int
	LatestSigned    int64 // size of the latest checkpoint
	Unsigned        int64 // events after the latest checkpoint
	PayloadsChecked int64 // payloads whose bytes matched their digests
	DigestsOnly     int64 // payloads kept as digests alone
	Erased          int64 // payloads erased by a recorded erasure
}

// Verify checks the whole log: that every stored event is an event in
// canonical JSON at its place, that the tree rebuilt from the events
// matches every stored hash and the root of every checkpoint, that every
// checkpoint is signed by v, that the log is not shorter than its latest
// checkpoint, and that every payload matches its committed digest or was
// erased by a recorded erasure. It stops at the first problem.
func Verify(ctx context.Context, st store.AuditStore, v note.Verifier) (*Report, error) {
	cps, err := st.AuditCheckpoints(ctx)
	if err != nil {
		return nil, err
	}
	roots := make(map[int64]tlog.Hash, len(cps))
	sizes := make([]int64, 0, len(cps))
	for _, c := range cps {
		cp, err := OpenCheckpoint(c.Note, v)
		if err != nil {
			return nil, bad(-1, "checkpoint stored at size %d: %v", c.Size, err)
		}
		if cp.Tree.N != c.Size {
			return nil, bad(-1, "checkpoint stored at size %d is signed for size %d", c.Size, cp.Tree.N)
		}
		roots[c.Size] = cp.Tree.Hash
		sizes = append(sizes, c.Size)
	}

	// The log may grow while it is read (the server keeps writing): read
	// its size after the checkpoints, and bound every scan by it. Events,
	// hashes and payloads below that size never change.
	size, err := st.AuditSize(ctx)
	if err != nil {
		return nil, err
	}
	w := &walker{ctx: ctx, st: st, size: size, front: &frontier{}, roots: roots, report: &Report{Checkpoints: len(cps)}}
	if len(sizes) > 0 {
		w.report.LatestSigned = sizes[len(sizes)-1]
	}
	stopHashes := w.startHashes()
	defer stopHashes()

	if size > 0 {
		if err := w.walk(); err != nil {
			return nil, err
		}
	}
	n := w.front.size
	if extra, ok := <-w.hashes; ok {
		return nil, bad(-1, "stored tree hash %d does not belong to any event (the log has %d events)", extra.index, n)
	}
	if err := w.hashErr(); err != nil {
		return nil, err
	}
	if last := w.report.LatestSigned; last > n {
		return nil, bad(n, "missing: the checkpoint signed at size %d covers events up to %d, but the log ends at %d (truncated)", last, last-1, n-1)
	}
	if err := w.checkErasures(); err != nil {
		return nil, err
	}
	w.report.Events = n
	w.report.Unsigned = n - w.report.LatestSigned
	return w.report, nil
}

type storedHash struct {
	index int64
	hash  []byte
}

// walker follows the log event by event, with the hash table read
// alongside in the same order (a merge join), so memory stays flat however
// long the log is.
type walker struct {
	ctx    context.Context
	st     store.AuditStore
	size   int64 // events below this index are verified
	front  *frontier
	roots  map[int64]tlog.Hash
	report *Report

	hashes    chan storedHash
	hashScan  scanResult
	missing   []missingPayload
	erasedIdx map[int64]int64 // event -> erasing event
	erasedLt  []erasure       // "every payload below" erasures
}

type missingPayload struct{ index int64 }

type erasure struct{ by, before int64 }

func (w *walker) startHashes() func() {
	ctx, cancel := context.WithCancel(w.ctx)
	w.hashes, w.hashScan.c = make(chan storedHash, 1024), make(chan error, 1)
	go func() {
		defer close(w.hashes)
		w.hashScan.c <- w.st.ScanAuditHashes(ctx, tlog.StoredHashCount(w.size), func(i int64, h []byte) error {
			select {
			case w.hashes <- storedHash{i, bytes.Clone(h)}:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		})
	}()
	return cancel
}

// scanResult reads a scan's outcome once and remembers it: both the walk
// and the final checks may ask.
type scanResult struct {
	c    chan error
	done bool
	err  error
}

func (s *scanResult) get() error {
	if !s.done {
		s.err, s.done = <-s.c, true
	}
	if s.err != nil && !errors.Is(s.err, context.Canceled) {
		return s.err
	}
	return nil
}

func (w *walker) hashErr() error { return w.hashScan.get() }

// checked is one stored event and what a worker learnt about it.
type checked struct {
	leaf    store.AuditLeaf
	ev      *Event
	hash    tlog.Hash
	err     error
	payload payloadCount
}

// payloadCount is what checking one event's payloads adds to the report.
type payloadCount struct {
	checked, digestsOnly int64
	missing              int // payloads the event commits to that are gone
}

// walk checks the events in chunks of consecutive indexes on every CPU,
// each chunk read and checked by one worker, and advances the tree over
// the results in log order. Reading and checking an event does not depend
// on any other event and is nearly all the work; only the tree needs the
// order. At most a few chunks are in flight, so memory stays flat.
func (w *walker) walk() error {
	const chunk = 512
	workers := max(1, runtime.GOMAXPROCS(0))
	ctx, cancel := context.WithCancel(w.ctx)
	defer cancel()
	type job struct {
		from, to int64
		out      chan []checked
		err      *error
	}
	jobs := make(chan job)
	ordered := make(chan job, 2*workers)
	go func() {
		defer close(jobs)
		defer close(ordered)
		for from := int64(0); from < w.size; from += chunk {
			j := job{from: from, to: min(from+chunk, w.size), out: make(chan []checked, 1), err: new(error)}
			select {
			case ordered <- j:
			case <-ctx.Done():
				return
			}
			select {
			case jobs <- j:
			case <-ctx.Done():
				return
			}
		}
	}()
	for range workers {
		go func() {
			var (
				dec eventDecoder
				buf []byte
			)
			for j := range jobs {
				b := make([]checked, 0, j.to-j.from)
				*j.err = w.st.ScanAudit(ctx, store.AuditRange{FromIndex: j.from, BeforeIndex: j.to, WithPayloads: true}, func(l *store.AuditLeaf) error {
					b = append(b, checked{leaf: *l})
					return nil
				})
				var cb *store.CorruptBatchError
				if errors.As(*j.err, &cb) {
					*j.err = bad(cb.First, "its stored batch cannot be read: %s", cb.Detail)
				}
				for i := range b {
					buf = checkLeaf(&dec, buf, &b[i])
				}
				j.out <- b
			}
		}()
	}
	for j := range ordered {
		b := <-j.out
		if *j.err != nil {
			return *j.err
		}
		for i := range b {
			if err := w.advance(&b[i]); err != nil {
				return err
			}
		}
	}
	return w.ctx.Err()
}

// checkLeaf checks one event on its own: that it is an event in canonical
// form, that its columns agree with it, and that its kept payloads match
// their digests. It computes the leaf hash for the tree.
// buf is scratch space for the re-encoding, returned for reuse.
func checkLeaf(dec *eventDecoder, buf []byte, c *checked) []byte {
	l := &c.leaf
	ev, err := dec.decode(l.Data)
	if err != nil {
		c.err = bad(l.Index, "stored data is not an event: %v", err)
		return buf
	}
	buf = appendCanonical(buf[:0], ev)
	if !bytes.Equal(buf, l.Data) {
		c.err = bad(l.Index, "stored data is not in canonical form (RFC 8785)")
		return buf
	}
	if ev.Index != l.Index {
		c.err = bad(l.Index, "its data says it is event %d", ev.Index)
		return buf
	}
	c.ev, c.hash = ev, tlog.RecordHash(l.Data)
	for _, p := range []struct {
		kind string
		ref  *PayloadRef
		blob *store.AuditBlob
	}{{PayloadInput, ev.Payloads.Input, l.Input}, {PayloadOutput, ev.Payloads.Output, l.Output}} {
		switch {
		case p.ref == nil && p.blob != nil:
			c.err = bad(l.Index, "a %s payload is stored that the event does not commit to", p.kind)
			return buf
		case p.ref == nil:
		case p.blob == nil:
			c.payload.missing++
		case p.blob.Data == nil && p.ref.Mode != CaptureHash:
			c.err = bad(l.Index, "its %s payload bytes are missing but the salt remains", p.kind)
			return buf
		case p.blob.Data == nil:
			c.payload.digestsOnly++
		case !CheckPayload(p.ref, p.blob.Salt, p.blob.Data):
			c.err = bad(l.Index, "its %s payload does not match the digest committed in the event", p.kind)
			return buf
		default:
			c.payload.checked++
		}
	}
	return buf
}

// advance adds one checked event to the tree, in log order, and checks
// the stored hashes and checkpoints it reaches.
func (w *walker) advance(c *checked) error {
	i := w.front.size
	if c.leaf.Index != i {
		if c.leaf.Index > i {
			return bad(i, "missing (the next stored event is %d)", c.leaf.Index)
		}
		return bad(c.leaf.Index, "stored out of order")
	}
	if c.err != nil {
		return c.err
	}
	idx, hs, err := w.front.append(c.hash)
	if err != nil {
		return err
	}
	for j, want := range hs {
		got, ok := <-w.hashes
		if !ok {
			if err := w.hashErr(); err != nil {
				return err
			}
			return bad(i, "its tree hash %d is missing", idx[j])
		}
		if got.index != idx[j] {
			return bad(i, "expected stored tree hash %d, found %d (hashes deleted or inserted)", idx[j], got.index)
		}
		if !bytes.Equal(got.hash, want[:]) {
			if j == 0 {
				return bad(i, "its leaf hash does not match its data (the event was altered after it was written)")
			}
			return bad(i, "stored tree hash %d does not match the tree rebuilt from the events", idx[j])
		}
	}
	if root, ok := w.roots[w.front.size]; ok {
		got, err := w.front.root()
		if err != nil {
			return err
		}
		if got != root {
			return bad(i, "the tree of %d events does not match the checkpoint signed at that size (an event at or before %d differs from what was signed)", w.front.size, i)
		}
	}
	w.report.PayloadsChecked += c.payload.checked
	w.report.DigestsOnly += c.payload.digestsOnly
	for range c.payload.missing {
		w.missing = append(w.missing, missingPayload{index: i})
	}
	return w.noteErasure(c.ev)
}

// noteErasure remembers what an erasure event says it erased.
func (w *walker) noteErasure(ev *Event) error {
	if ev.Action != ActionErase && ev.Action != ActionRetention {
		return nil
	}
	if w.erasedIdx == nil {
		w.erasedIdx = map[int64]int64{}
	}
	if s := ev.Details["before"]; s != "" {
		before, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return bad(ev.Index, "erasure detail before=%q is not an index", s)
		}
		w.erasedLt = append(w.erasedLt, erasure{by: ev.Index, before: before})
	}
	if s := ev.Details["indexes"]; s != "" {
		idx, err := ParseRanges(s)
		if err != nil {
			return bad(ev.Index, "erasure detail indexes: %v", err)
		}
		for _, i := range idx {
			if _, done := w.erasedIdx[i]; !done {
				w.erasedIdx[i] = ev.Index
			}
		}
	}
	return nil
}

// checkErasures requires every missing payload to be covered by an
// erasure recorded after the event: deleting evidence without leaving a
// signed trace is tampering.
func (w *walker) checkErasures() error {
	for _, m := range w.missing {
		if by, ok := w.erasedIdx[m.index]; ok && by > m.index {
			w.report.Erased++
			continue
		}
		covered := slices.ContainsFunc(w.erasedLt, func(e erasure) bool { return m.index < e.before && e.by > m.index })
		if !covered {
			return bad(m.index, "a payload it commits to is missing and no recorded erasure covers it")
		}
		w.report.Erased++
	}
	return nil
}

// FormatRanges writes sorted indexes compactly: "1-5,9,12-13".
func FormatRanges(idx []int64) string {
	idx = slices.Clone(idx)
	slices.Sort(idx)
	idx = slices.Compact(idx)
	var b strings.Builder
	for i := 0; i < len(idx); {
		j := i
		for j+1 < len(idx) && idx[j+1] == idx[j]+1 {
			j++
		}
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.FormatInt(idx[i], 10))
		if j > i {
			b.WriteByte('-')
			b.WriteString(strconv.FormatInt(idx[j], 10))
		}
		i = j + 1
	}
	return b.String()
}

// maxRangeIndexes bounds what ParseRanges expands, so that a short string
// cannot ask for gigabytes.
const maxRangeIndexes = 1 << 24

// ParseRanges reads what FormatRanges writes.
func ParseRanges(s string) ([]int64, error) {
	var out []int64
	for _, part := range strings.Split(s, ",") {
		lo, hi, isRange := strings.Cut(part, "-")
		a, err := strconv.ParseInt(lo, 10, 64)
		if err != nil || a < 0 {
			return nil, fmt.Errorf("bad index %q", part)
		}
		b := a
		if isRange {
			if b, err = strconv.ParseInt(hi, 10, 64); err != nil || b < a {
				return nil, fmt.Errorf("bad range %q", part)
			}
		}
		if b-a >= maxRangeIndexes-int64(len(out)) {
			return nil, fmt.Errorf("more than %d indexes", maxRangeIndexes)
		}
		for i := a; i <= b; i++ {
			out = append(out, i)
		}
	}
	return out, nil
}

// TuneForVerify sets the garbage collector for a process whose job is to
// verify a log: a verification holds little memory at once but allocates
// per event, so a larger heap target trades a few megabytes for about a
// quarter of the time. Call it from a command, not from a long-running
// server.
func TuneForVerify() { debug.SetGCPercent(400) }
