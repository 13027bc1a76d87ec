package pickle

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
)

// Walk reads pickles from r to its end and returns what they import. The
// error is nil when the data is one or more pickles (possibly followed by
// other bytes, counted in TrailingBytes) and ErrNotPickle when its first
// opcode is not one CPython's unpickler accepts; a pickle broken
// part-way is reported in Result.Err.
func Walk(r io.Reader, lim Limits) (*Result, error) {
	return walk(r, lim, false)
}

func walk(r io.Reader, lim Limits, framed bool) (*Result, error) {
	w := &walker{r: r, buf: make([]byte, 256<<10), lim: lim.withDefaults(), res: &Result{}, framed: framed, bufEnd: math.MaxInt64}
	for {
		if w.framed && w.bufEnd != math.MaxInt64 && w.offset() < w.bufEnd {
			// The next pickle.load on the file starts where the last one's
			// buffer ended: what was left of its frame is gone.
			w.discardTo(w.bufEnd)
		}
		w.bufEnd = math.MaxInt64
		start := w.offset()
		if !w.more() {
			break
		}
		err := w.pickle()
		if err == nil {
			w.res.Pickles++
			continue
		}
		if w.res.Pickles == 0 && w.offset() == start+1 && len(w.res.Imports) == 0 && isFirstOpcodeError(err) {
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
	w.res.crossed = w.crossed
	if w.frameEnd > w.offset() && w.res.Err == nil {
		// A FRAME promised bytes that a loader reads in full before it
		// goes on; a pickle that ends inside it is truncated to CPython.
		if end := w.offset() + w.remaining(w.offset()); end < w.frameEnd {
			w.res.Err = &Error{Offset: w.frameAt, Msg: fmt.Sprintf("truncated: FRAME of %d bytes runs past the end", w.frameEnd-w.frameAt-9)}
		}
	}
	return w.res, nil
}

// WalkFile walks a pickle the ways its loaders read it. pickle.loads, and
// pickle.load on a file with peek(), read straight through; CPython's C
// unpickler on a file without peek() (io.BytesIO, which torch.load uses
// for the pickle of a zip checkpoint) drops what is left of a frame when
// an operand runs past the frame's end, and reads that operand from after
// it. When a read crosses a frame's end the pickle is walked both ways:
// the result holds the imports of both, and says that loaders disagree.
func WalkFile(r io.ReaderAt, size int64, lim Limits) (*Result, error) {
	res, err := Walk(io.NewSectionReader(r, 0, size), lim)
	if err != nil || !res.crossed {
		return res, err
	}
	alt, aerr := walk(io.NewSectionReader(r, 0, size), lim, true)
	res.Divergent = append(res.Divergent, "an operand runs past the end of a FRAME: loaders reading from a file without peek() (io.BytesIO, as torch.load does) read other bytes there")
	if aerr != nil {
		return res, nil
	}
	type key struct {
		module, name string
		offset       int64
	}
	seen := map[key]bool{}
	for _, imp := range res.Imports {
		seen[key{imp.Module, imp.Name, imp.Offset}] = true
	}
	for _, imp := range alt.Imports {
		if !seen[key{imp.Module, imp.Name, imp.Offset}] {
			res.Imports = append(res.Imports, imp)
		}
	}
	if alt.Err != nil && res.Err == nil {
		res.Divergent = append(res.Divergent, "read as io.BytesIO loaders read it, the pickle breaks: "+alt.Err.Error())
	}
	res.Extensions = max(res.Extensions, alt.Extensions)
	res.Incomplete = append(res.Incomplete, alt.Incomplete...)
	res.Divergent = append(res.Divergent, alt.Divergent...)
	return res, nil
}

// WalkNoPeek walks a pickle only as CPython's C unpickler reads it from a
// file without peek() (see WalkFile).
func WalkNoPeek(r io.Reader, lim Limits) (*Result, error) { return walk(r, lim, true) }

// errFirst marks an error at a pickle's first opcode: the bytes there do
// not start a pickle at all.
type errFirst struct{ err *Error }

func (e errFirst) Error() string { return e.err.Error() }
func (e errFirst) Unwrap() error { return e.err }

func isFirstOpcodeError(err error) bool {
	var f errFirst
	return errors.As(err, &f)
}

// value is a stack or memo entry: what the unpickler would hold there, as
// far as a walk needs to know it.
type value struct {
	kind  uint8
	flags uint8
	n     uint16 // string length in the arena
	off   uint32 // arena offset (kName), import index (kImport), integer value (kInt), span index (fSpan)
}

// Kinds of values.
const (
	kUnset     uint8 = iota // a memo slot never stored (the zero value, so new pages are empty)
	kNone                   // None
	kBool                   // True, False
	kInt                    // an int
	kFloat                  // a float
	kName                   // a short str, kept in the arena: it may name a module or an attribute
	kStr                    // a longer str
	kBytes                  // bytes
	kByteArray              // bytearray
	kTuple                  // a tuple
	kList                   // a list
	kDict                   // a dict
	kSet                    // a set
	kFrozenSet              // a frozenset
	kObject                 // what an imported callable returned, or a persistent object: anything
	kImport                 // an imported callable
)

// Flags of values.
const (
	fUnhashable uint8 = 1 << iota // a list, dict, set or bytearray, or a tuple holding one
	fNeg                          // a negative int
	fBig                          // an int that does not fit in 32 bits (off is meaningless)
	fSpan                         // off indexes w.spans: bytes the walk kept
	fLarge                        // an int of at least LargeInt, or a tuple holding one
	fLoader                       // an import that loads nested payloads
)

var (
	none  = value{kind: kNone}
	other = value{kind: kObject}
)

func (v value) str() bool      { return v.kind == kName || v.kind == kStr }
func (v value) callable() bool { return v.kind == kObject || v.kind == kImport }
func (v value) hashable() bool { return v.flags&fUnhashable == 0 }

// maxName bounds the strings kept: module and attribute names are short.
const maxName = 256

// span is a piece of w.captured.
type span struct{ off, n int }

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

	proto             int   // the protocol in force (the last PROTO)
	frameAt, frameEnd int64 // the last FRAME and where it ends

	// bufEnd is where the C unpickler's input buffer ends: after a FRAME,
	// the frame's end; otherwise nowhere (reads go to the file). A read
	// that runs past it is where loaders differ: one reading from a file
	// without peek() drops the rest of the frame and reads anew (framed),
	// any other reads on (and crossed is noted).
	bufEnd  int64
	framed  bool
	crossed bool

	// Payload capture: once a loader is imported, the bytes and strings
	// that follow are kept, so that the arguments it is called with can
	// be handed over.
	capture  bool
	captured []byte
	spans    []span
	capFull  bool

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

// remaining counts the bytes from offset from to the end of the input,
// reading through them.
func (w *walker) remaining(from int64) int64 {
	n := w.base + int64(w.end) - from
	for !w.eof {
		k, err := w.r.Read(w.buf)
		n += int64(k)
		if err != nil {
			w.eof = true
			if err != io.EOF {
				w.err = err
			}
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

// incomplete notes a limit reached, once per kind.
func (w *walker) incomplete(what string) {
	for _, s := range w.res.Incomplete {
		if s == what {
			return
		}
	}
	w.res.Incomplete = append(w.res.Incomplete, what)
}

// divergent notes where loaders disagree, once per kind.
func (w *walker) divergent(what string) {
	for _, s := range w.res.Divergent {
		if s == what {
			return
		}
	}
	w.res.Divergent = append(w.res.Divergent, what)
}

// take returns the next n bytes, valid until the next read. The fast
// path is small enough to be inlined into the opcode loop.
func (w *walker) take(at int64, n int) ([]byte, error) {
	if w.end-w.pos >= n && w.base+int64(w.pos+n) <= w.bufEnd {
		b := w.buf[w.pos : w.pos+n]
		w.pos += n
		return b, nil
	}
	return w.takeSlow(at, n)
}

// cross handles a read that runs past the end of the unpickler's buffer.
func (w *walker) cross() {
	if w.framed {
		// Modules/_pickle.c, reading from a file without peek(), drops
		// what is left of the frame and reads the whole operand anew.
		w.discardTo(w.bufEnd)
	} else {
		w.crossed = true
	}
	w.bufEnd = math.MaxInt64
}

// discardTo passes over the input up to an offset.
func (w *walker) discardTo(off int64) {
	for w.offset() < off {
		if w.pos == w.end && !w.fill(1) {
			return
		}
		w.pos += int(min(off-w.offset(), int64(w.end-w.pos)))
	}
}

func (w *walker) takeSlow(at int64, n int) ([]byte, error) {
	if w.offset()+int64(n) > w.bufEnd {
		w.cross()
	}
	if !w.fill(n) {
		return nil, w.fail(at, "truncated: %d bytes of operand expected", n)
	}
	b := w.buf[w.pos : w.pos+n]
	w.pos += n
	return b, nil
}

// skip passes over n bytes, however many, handing each piece to see when
// it is not nil.
func (w *walker) skip(at int64, n uint64, see func([]byte)) error {
	if w.bufEnd != math.MaxInt64 && (n > uint64(w.bufEnd) || w.offset() > w.bufEnd-int64(n)) {
		w.cross()
	}
	for n > 0 {
		if w.pos == w.end && !w.fill(1) {
			return w.fail(at, "truncated: %d bytes of data missing", n)
		}
		k := uint64(w.end - w.pos)
		if k > n {
			k = n
		}
		if see != nil {
			see(w.buf[w.pos : w.pos+int(k)])
		}
		w.pos += int(k)
		n -= k
	}
	return nil
}

// maxLine is the longest line the walk reads as an argument; a longer one
// (no module, name or number is that long) is passed over.
const maxLine = 64 << 10

// line returns the next line with its newline, valid until the next
// read; a line longer than maxLine is passed over and returned as nil with
// long set. A line without a newline is truncated, as CPython reads it.
func (w *walker) line(at int64) (b []byte, long bool, err error) {
	if w.bufEnd != math.MaxInt64 {
		// The line must end inside the buffer; else the loaders differ.
		if !w.lineEndsBefore(w.bufEnd) {
			w.cross()
		}
	}
	for scanned := 0; ; {
		if i := bytes.IndexByte(w.buf[w.pos+scanned:w.end], '\n'); i >= 0 {
			b = w.buf[w.pos : w.pos+scanned+i+1]
			w.pos += scanned + i + 1
			return b, false, nil
		}
		scanned = w.end - w.pos
		if scanned >= maxLine {
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

// lineEndsBefore reports whether the next newline comes before an offset.
func (w *walker) lineEndsBefore(off int64) bool {
	if off <= w.offset() {
		return false
	}
	for scanned := 0; ; {
		limit := min(w.end, w.pos+int(min(off-w.offset(), int64(w.end-w.pos))))
		if i := bytes.IndexByte(w.buf[w.pos+scanned:limit], '\n'); i >= 0 {
			return true
		}
		scanned = limit - w.pos
		if w.offset()+int64(scanned) >= off || scanned >= maxLine || !w.fill(scanned+1) {
			return false
		}
	}
}

// fence is the stack height below which the current mark hides values.
func (w *walker) fence() int {
	if len(w.marks) > 0 {
		return w.marks[len(w.marks)-1]
	}
	return 0
}

func (w *walker) push(v value, at int64) error {
	if len(w.stack) >= w.lim.MaxStack {
		w.incomplete(fmt.Sprintf("the stack grew past %d values", w.lim.MaxStack))
		return w.fail(at, "stack deeper than %d values", w.lim.MaxStack)
	}
	w.stack = append(w.stack, v)
	return nil
}

func (w *walker) pop(at int64, op string) (value, error) {
	if len(w.stack) <= w.fence() {
		return value{}, w.fail(at, "%s: unpickling stack underflow", op)
	}
	v := w.stack[len(w.stack)-1]
	w.stack = w.stack[:len(w.stack)-1]
	return v, nil
}

// top returns the value on top of the stack, above the fence.
func (w *walker) top(at int64, op string) (value, error) {
	if len(w.stack) <= w.fence() {
		return value{}, w.fail(at, "%s: unpickling stack underflow", op)
	}
	return w.stack[len(w.stack)-1], nil
}

// marker removes the last mark and returns where it was.
func (w *walker) marker(at int64, op string) (int, error) {
	if len(w.marks) == 0 {
		return 0, w.fail(at, "%s: could not find MARK", op)
	}
	m := w.marks[len(w.marks)-1]
	w.marks = w.marks[:len(w.marks)-1]
	return m, nil
}

// str makes a str value, keeping it when it is short enough to name a
// module or an attribute: whatever its characters, since find_class is
// asked for whatever the pickle gives (and a loader's own find_class may
// read it otherwise than import would).
func (w *walker) str(b []byte) value {
	if len(b) > maxName || !nameLike(b) {
		return value{kind: kStr}
	}
	if len(w.arena)+len(b) > cap(w.arena) && cap(w.arena) >= 1<<20 {
		// Compacting in place of growing: the fresh arena holds the
		// live names with as much room again, so the walk copies each
		// byte a constant number of times, and dead names (memo slots
		// overwritten, values popped) never make the arena grow.
		w.compact(len(b))
	}
	off := len(w.arena)
	w.arena = append(w.arena, b...)
	return value{kind: kName, off: uint32(off), n: uint16(len(b))}
}

// nameChar marks the bytes a module or attribute name can hold: ASCII
// letters, digits, _ and the dots of a dotted name, and the bytes of
// non-ASCII characters, which Python identifiers may use.
var nameChar = func() (t [256]bool) {
	for c := range 256 {
		t[c] = c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '.' || c >= 0x80
	}
	return t
}()

// nameLike reports whether a str could name a module or attribute. Only
// those are kept in the arena: a pickle's text (prose, paths, keys with
// spaces) takes no memory, and a STACK_GLOBAL of a str not kept is an
// import the scanner cannot name, which is a finding, not a pass.
func nameLike(b []byte) bool {
	for _, c := range b {
		if !nameChar[c] {
			return false
		}
	}
	return true
}

func (w *walker) text(v value) string { return string(w.arena[v.off : v.off+uint32(v.n)]) }

// compact drops arena bytes no live value refers to. It runs in place
// of the arena's growth and leaves as much room as the live names take,
// so a pickle whose names all stay live (memoized) copies each name a
// constant number of times, not once per new name.
func (w *walker) compact(need int) {
	live := need
	w.eachValue(func(v *value) {
		if v.kind == kName {
			live += int(v.n)
		}
	})
	fresh := make([]byte, 0, max(1<<20, 2*live))
	w.eachValue(func(v *value) {
		if v.kind == kName {
			off := len(fresh)
			fresh = append(fresh, w.arena[v.off:v.off+uint32(v.n)]...)
			v.off = uint32(off)
		}
	})
	w.arena = fresh
}

// eachValue calls f on every value the walk still holds.
func (w *walker) eachValue(f func(*value)) {
	for i := range w.stack {
		f(&w.stack[i])
	}
	for _, page := range w.memo {
		for i := range page {
			f(&page[i])
		}
	}
	for k, v := range w.sparse {
		f(&v)
		w.sparse[k] = v
	}
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
	if _, ok := w.sparse[idx]; !ok {
		if len(w.sparse) >= 1<<16 {
			w.incomplete("the memo grew past its limit")
			return w.fail(at, "memo larger than the walk keeps")
		}
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
		// Keep the walk going, but say that imports went unrecorded.
		w.incomplete(fmt.Sprintf("more than %d imports: the rest were not recorded", w.lim.MaxImports))
		return value{kind: kImport, off: ^uint32(0)}
	}
	rm, rn := resolve(module, name, w.proto)
	imp := Import{Module: module, Name: name, ResolvedModule: rm, ResolvedName: rn, Offset: at, Opcode: op, Proto: w.proto, Dynamic: dynamic}
	v := value{kind: kImport, off: uint32(len(w.res.Imports))}
	if w.lim.Loader != nil && !dynamic && w.lim.Loader(rm, rn) {
		v.flags |= fLoader
		w.capture = true
	}
	w.res.Imports = append(w.res.Imports, imp)
	return v
}

// imp returns the import a value is, or nil when it is not a recorded one.
func (w *walker) imp(v value) *Import {
	if v.kind != kImport || v.off == ^uint32(0) {
		return nil
	}
	return &w.res.Imports[v.off]
}

// called records a call of f with args (a tuple, or a value the walk
// does not know).
func (w *walker) called(f, args value) {
	imp := w.imp(f)
	if imp == nil {
		return
	}
	imp.Called = true
	if args.flags&fLarge != 0 {
		imp.LargeArg = true
	}
	if f.flags&fLoader == 0 {
		return
	}
	if args.kind == kTuple && args.flags&fSpan != 0 {
		sp := w.spans[args.off]
		imp.Payloads = append(imp.Payloads, bytes.Clone(w.captured[sp.off:sp.off+sp.n]))
		return
	}
	imp.PayloadUnread = true
}

// keep captures data for a later call of a loader; it returns a span
// flag and index, or nothing when capture is off or full.
func (w *walker) keep(data []byte) (uint8, uint32) {
	if !w.capture || w.capFull {
		return 0, 0
	}
	if len(w.captured)+len(data) > w.lim.MaxCapture {
		w.capFull = true
		w.incomplete(fmt.Sprintf("nested payloads larger than %d bytes were not kept", w.lim.MaxCapture))
		return 0, 0
	}
	w.spans = append(w.spans, span{len(w.captured), len(data)})
	w.captured = append(w.captured, data...)
	return fSpan, uint32(len(w.spans) - 1)
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

// Py3Name returns the Python 3 name of a Python 2 module and global, as
// the unpickler's fix_imports renames them (__builtin__.set is
// builtins.set, commands.getoutput is subprocess.getoutput).
func Py3Name(module, name string) (string, string) { return resolve(module, name, 0) }

// resolve applies the unpickler's fix_imports: below protocol 3, Python 2
// names are renamed to their Python 3 homes.
func resolve(module, name string, proto int) (string, string) {
	if proto >= 3 {
		return module, name
	}
	if m, ok := compatNames[[2]string{module, name}]; ok {
		return m[0], m[1]
	}
	if m, ok := compatModules[module]; ok {
		return m, name
	}
	return module, name
}
