package pickle

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// Walk reads pickles from r to its end and returns what they import. The
// error is nil when the data is one or more pickles (possibly followed by
// other bytes, counted in TrailingBytes) and ErrNotPickle when it does not
// start with one; a pickle broken part-way is reported in Result.Err.
func Walk(r io.Reader, lim Limits) (*Result, error) {
	w := &walker{r: r, buf: make([]byte, 256<<10), lim: lim.withDefaults(), res: &Result{}}
	for {
		start := w.offset()
		if !w.more() {
			break
		}
		err := w.pickle()
		if err == nil {
			w.res.Pickles++
			continue
		}
		if w.res.Pickles == 0 && w.offset() == start+1 && len(w.res.Imports) == 0 {
			return w.res, ErrNotPickle // not even the first opcode was valid
		}
		if w.res.Pickles > 0 && w.res.Err == nil && isFirstOpcodeError(err) {
			// Bytes after a complete pickle that do not start another.
			w.res.TrailingBytes = w.remaining(start)
			break
		}
		var f errFirst
		if errors.As(err, &f) {
			err = f.err
		}
		w.res.Err = err
		break
	}
	return w.res, nil
}

// errFirst marks an error at a pickle's first opcode: the bytes there do
// not start a pickle at all.
type errFirst struct{ err *Error }

func (e errFirst) Error() string { return e.err.Error() }
func (e errFirst) Unwrap() error { return e.err }

func isFirstOpcodeError(err error) bool {
	var f errFirst
	return errors.As(err, &f)
}

// value is a stack or memo entry: a placeholder, a string (kept in the
// arena when it could name a module or attribute), or an import.
type value struct {
	kind uint8
	n    uint16 // string length in the arena
	off  uint32 // string offset in the arena, or import index
}

const (
	kUnset  uint8 = iota // a memo slot never stored (the zero value, so new pages are empty)
	kOther               // anything but a string or an import
	kName                // a string that could be a module or attribute name
	kString              // any other string
	kImport
)

// maxName bounds the strings kept: module and attribute names are short.
const maxName = 256

type walker struct {
	r        io.Reader
	buf      []byte
	pos, end int
	base     int64 // offset of buf[0]
	eof      bool
	err      error

	stack []value
	marks []int
	// memo is paged, so that a memo of millions of entries grows without
	// the copies (and the momentary double size) of one growing slice.
	memo   [][]value
	memoN  uint64           // entries stored, MEMOIZE's next index
	sparse map[uint64]value // memo keys too large for the pages
	arena  []byte

	lim Limits
	res *Result
}

func (w *walker) offset() int64 { return w.base + int64(w.pos) }

// fill makes at least n bytes available from pos, unless the input ends.
func (w *walker) fill(n int) bool {
	if w.end-w.pos >= n {
		return true
	}
	if w.pos > 0 {
		copy(w.buf, w.buf[w.pos:w.end])
		w.base += int64(w.pos)
		w.end -= w.pos
		w.pos = 0
	}
	if n > len(w.buf) {
		nb := make([]byte, n)
		copy(nb, w.buf[:w.end])
		w.buf = nb
	}
	for w.end < n && !w.eof {
		k, err := w.r.Read(w.buf[w.end:])
		w.end += k
		if err != nil {
			w.eof = true
			if err != io.EOF {
				w.err = err
			}
		}
	}
	return w.end-w.pos >= n
}

func (w *walker) more() bool { return w.fill(1) }

func (w *walker) remaining(from int64) int64 {
	n := w.base + int64(w.end) - from
	for !w.eof {
		k, err := w.r.Read(w.buf)
		n += int64(k)
		if err != nil {
			break
		}
	}
	return n
}

func (w *walker) fail(at int64, format string, args ...any) error {
	msg := format
	if len(args) > 0 {
		msg = fmt.Sprintf(format, args...)
	}
	if w.err != nil {
		msg += " (" + w.err.Error() + ")"
	}
	return &Error{Offset: at, Msg: msg}
}

// take returns the next n bytes, valid until the next read. The fast
// path is small enough to be inlined into the opcode loop.
func (w *walker) take(at int64, n int) ([]byte, error) {
	if w.end-w.pos >= n {
		b := w.buf[w.pos : w.pos+n]
		w.pos += n
		return b, nil
	}
	return w.takeSlow(at, n)
}

func (w *walker) takeSlow(at int64, n int) ([]byte, error) {
	if !w.fill(n) {
		return nil, w.fail(at, "truncated: %d bytes of operand expected", n)
	}
	b := w.buf[w.pos : w.pos+n]
	w.pos += n
	return b, nil
}

// skip discards n bytes, however many.
func (w *walker) skip(at int64, n uint64) error {
	for n > 0 {
		if w.pos == w.end && !w.fill(1) {
			return w.fail(at, "truncated: %d bytes of data missing", n)
		}
		k := uint64(w.end - w.pos)
		if k > n {
			k = n
		}
		w.pos += int(k)
		n -= k
	}
	return nil
}

// line returns the next line without its newline, valid until the next
// read; a line longer than the buffer is skipped and returned as nil with
// long set.
func (w *walker) line(at int64) (b []byte, long bool, err error) {
	for scanned := 0; ; {
		if i := bytes.IndexByte(w.buf[w.pos+scanned:w.end], '\n'); i >= 0 {
			b = w.buf[w.pos : w.pos+scanned+i]
			w.pos += scanned + i + 1
			return b, false, nil
		}
		scanned = w.end - w.pos
		if scanned >= 64<<10 {
			// Too long to be a name: skip to the newline.
			for {
				w.pos = w.end
				if !w.fill(1) {
					return nil, true, w.fail(at, "truncated: unterminated line")
				}
				if i := bytes.IndexByte(w.buf[w.pos:w.end], '\n'); i >= 0 {
					w.pos += i + 1
					return nil, true, nil
				}
			}
		}
		if !w.fill(scanned + 1) {
			return nil, false, w.fail(at, "truncated: unterminated line")
		}
	}
}

func (w *walker) push(v value, at int64) error {
	if len(w.stack) >= w.lim.MaxStack {
		return w.fail(at, "stack deeper than %d values", w.lim.MaxStack)
	}
	w.stack = append(w.stack, v)
	return nil
}

func (w *walker) pop(at int64, op string) (value, error) {
	floor := 0
	if len(w.marks) > 0 {
		floor = w.marks[len(w.marks)-1]
	}
	if len(w.stack) <= floor {
		return value{}, w.fail(at, "%s on an empty stack", op)
	}
	v := w.stack[len(w.stack)-1]
	w.stack = w.stack[:len(w.stack)-1]
	return v, nil
}

// popMark removes everything down to the last mark and the mark, and
// returns what was above it.
func (w *walker) popMark(at int64, op string) ([]value, error) {
	if len(w.marks) == 0 {
		return nil, w.fail(at, "%s without a MARK", op)
	}
	m := w.marks[len(w.marks)-1]
	w.marks = w.marks[:len(w.marks)-1]
	items := w.stack[m:]
	w.stack = w.stack[:m]
	return items, nil
}

// str makes a string value, keeping it when it could be a name.
func (w *walker) str(b []byte) value {
	if len(b) == 0 || len(b) > maxName || !nameLike(b) {
		return value{kind: kString}
	}
	if len(w.arena) > 8<<20 {
		w.compact()
	}
	off := len(w.arena)
	w.arena = append(w.arena, b...)
	return value{kind: kName, off: uint32(off), n: uint16(len(b))}
}

func (w *walker) text(v value) string { return string(w.arena[v.off : v.off+uint32(v.n)]) }

// compact drops arena bytes no live value refers to.
func (w *walker) compact() {
	fresh := make([]byte, 0, 1<<20)
	move := func(v *value) {
		if v.kind == kName {
			off := len(fresh)
			fresh = append(fresh, w.arena[v.off:v.off+uint32(v.n)]...)
			v.off = uint32(off)
		}
	}
	for i := range w.stack {
		move(&w.stack[i])
	}
	for _, page := range w.memo {
		for i := range page {
			move(&page[i])
		}
	}
	for k, v := range w.sparse {
		move(&v)
		w.sparse[k] = v
	}
	w.arena = fresh
}

// nameLike reports whether b could be a dotted Python name.
func nameLike(b []byte) bool {
	for _, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

const memoPage = 1 << 16

func (w *walker) memoPut(at int64, idx uint64, v value) error {
	if idx < uint64(w.lim.MaxMemo) {
		p := idx / memoPage
		for uint64(len(w.memo)) <= p {
			w.memo = append(w.memo, make([]value, memoPage))
		}
		if w.memo[p][idx%memoPage].kind == kUnset {
			w.memoN++
		}
		w.memo[p][idx%memoPage] = v
		return nil
	}
	if w.sparse == nil {
		w.sparse = map[uint64]value{}
	}
	if len(w.sparse) >= 1<<16 {
		return w.fail(at, "memo larger than its limit")
	}
	if _, ok := w.sparse[idx]; !ok {
		w.memoN++
	}
	w.sparse[idx] = v
	return nil
}

func (w *walker) memoGet(at int64, idx uint64) (value, error) {
	if p := idx / memoPage; p < uint64(len(w.memo)) {
		if v := w.memo[p][idx%memoPage]; v.kind != kUnset {
			return v, nil
		}
	}
	if v, ok := w.sparse[idx]; ok {
		return v, nil
	}
	return value{}, w.fail(at, "memo key %d was never stored", idx)
}

func (w *walker) addImport(at int64, module, name, op string, dynamic bool) value {
	if len(w.res.Imports) >= w.lim.MaxImports {
		// Keep the walk going; the count of imports is already alarming.
		return value{kind: kOther}
	}
	w.res.Imports = append(w.res.Imports, Import{Module: module, Name: name, Offset: at, Opcode: op, Dynamic: dynamic})
	return value{kind: kImport, off: uint32(len(w.res.Imports) - 1)}
}

func (w *walker) called(v value) {
	if v.kind == kImport {
		w.res.Imports[v.off].Called = true
	}
}

func le(b []byte) uint64 {
	switch len(b) {
	case 1:
		return uint64(b[0])
	case 2:
		return uint64(binary.LittleEndian.Uint16(b))
	case 4:
		return uint64(binary.LittleEndian.Uint32(b))
	case 8:
		return binary.LittleEndian.Uint64(b)
	}
	var x uint64
	for i := len(b) - 1; i >= 0; i-- {
		x = x<<8 | uint64(b[i])
	}
	return x
}
