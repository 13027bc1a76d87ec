package pickle

import (
	"encoding/binary"
	"fmt"
	"math"
	"unicode/utf8"
)

// Opcodes, protocols 0 to 5 (Lib/pickle.py).
const (
	opMark           = '('
	opStop           = '.'
	opPop            = '0'
	opPopMark        = '1'
	opDup            = '2'
	opFloat          = 'F'
	opInt            = 'I'
	opBinInt         = 'J'
	opBinInt1        = 'K'
	opLong           = 'L'
	opBinInt2        = 'M'
	opNone           = 'N'
	opPersID         = 'P'
	opBinPersID      = 'Q'
	opReduce         = 'R'
	opString         = 'S'
	opBinString      = 'T'
	opShortBinString = 'U'
	opUnicode        = 'V'
	opBinUnicode     = 'X'
	opAppend         = 'a'
	opBuild          = 'b'
	opGlobal         = 'c'
	opDict           = 'd'
	opEmptyDict      = '}'
	opAppends        = 'e'
	opGet            = 'g'
	opBinGet         = 'h'
	opInst           = 'i'
	opLongBinGet     = 'j'
	opList           = 'l'
	opEmptyList      = ']'
	opObj            = 'o'
	opPut            = 'p'
	opBinPut         = 'q'
	opLongBinPut     = 'r'
	opSetItem        = 's'
	opTuple          = 't'
	opEmptyTuple     = ')'
	opSetItems       = 'u'
	opBinFloat       = 'G'
	opProto          = 0x80
	opNewObj         = 0x81
	opExt1           = 0x82
	opExt2           = 0x83
	opExt4           = 0x84
	opTuple1         = 0x85
	opTuple2         = 0x86
	opTuple3         = 0x87
	opNewTrue        = 0x88
	opNewFalse       = 0x89
	opLong1          = 0x8a
	opLong4          = 0x8b
	opBinBytes       = 'B'
	opShortBinBytes  = 'C'
	opShortBinUni    = 0x8c
	opBinUnicode8    = 0x8d
	opBinBytes8      = 0x8e
	opEmptySet       = 0x8f
	opAddItems       = 0x90
	opFrozenSet      = 0x91
	opNewObjEx       = 0x92
	opStackGlobal    = 0x93
	opMemoize        = 0x94
	opFrame          = 0x95
	opByteArray8     = 0x96
	opNextBuffer     = 0x97
	opReadonlyBuffer = 0x98
)

// HighestProtocol is the highest pickle protocol there is.
const HighestProtocol = 5

// pickle walks one pickle, to its STOP.
func (w *walker) pickle() error {
	w.stack, w.marks = w.stack[:0], w.marks[:0]
	w.bufEnd = math.MaxInt64
	for _, page := range w.memo {
		clear(page)
	}
	w.memoN = 0
	w.sparse = nil
	w.arena = w.arena[:0]
	w.proto = 0 // each pickle.load starts a new unpickler
	w.capture, w.captured, w.spans, w.capFull = false, w.captured[:0], w.spans[:0], false
	first := true
	for {
		at := w.offset()
		if at >= w.bufEnd {
			w.bufEnd = math.MaxInt64 // the buffer is used up: reads go to the file
		}
		if w.pos == w.end && !w.fill(1) {
			return w.fail(at, "truncated: the pickle ends without STOP")
		}
		op := w.buf[w.pos]
		w.pos++
		err := w.step(op, at)
		if err != nil {
			if first {
				if e, ok := err.(*Error); ok {
					return errFirst{e}
				}
			}
			return err
		}
		if op == opStop {
			return nil
		}
		first = false
	}
}

// intValue is an int value.
func intValue(r pyInt) value {
	v := value{kind: kInt}
	switch {
	case r.big:
		v.flags |= fBig
		if !r.neg {
			v.flags |= fLarge
		}
	case r.neg:
		v.flags |= fNeg
	case r.v > math.MaxUint32:
		v.flags |= fBig | fLarge
	default:
		v.off = uint32(r.v)
		if r.v >= LargeInt {
			v.flags |= fLarge
		}
	}
	if r.neg {
		v.flags |= fNeg
	}
	return v
}

func smallInt(x uint64) value { return intValue(pyInt{v: int64(x)}) }

// byteValue reports whether v is an int a bytearray can hold (0-255).
func byteValue(v value) bool {
	return v.kind == kBool || v.kind == kInt && v.flags&(fNeg|fBig) == 0 && v.off < 256
}

func (w *walker) step(op byte, at int64) error {
	switch op {
	case opMark:
		if len(w.marks) >= w.lim.MaxStack {
			w.incomplete(fmt.Sprintf("more than %d nested MARKs", w.lim.MaxStack))
			return w.fail(at, "too many nested MARKs")
		}
		w.marks = append(w.marks, len(w.stack))
	case opStop:
		_, err := w.pop(at, "STOP")
		return err
	case opPop:
		if len(w.marks) > 0 && len(w.stack) == w.marks[len(w.marks)-1] {
			w.marks = w.marks[:len(w.marks)-1] // POP of a mark
			return nil
		}
		_, err := w.pop(at, "POP")
		return err
	case opPopMark:
		m, err := w.marker(at, "POP_MARK")
		if err != nil {
			return err
		}
		w.stack = w.stack[:m]
	case opDup:
		v, err := w.top(at, "DUP")
		if err != nil {
			return err
		}
		return w.push(v, at)
	case opFloat:
		b, err := w.numberLine(at, "FLOAT")
		if err != nil {
			return err
		}
		if !parseFLOAT(b) {
			return w.fail(at, "FLOAT: could not convert string to float")
		}
		return w.push(value{kind: kFloat}, at)
	case opInt, opLong:
		b, err := w.numberLine(at, "INT/LONG")
		if err != nil {
			return err
		}
		var r pyInt
		var ok bool
		if op == opInt {
			r, ok = parseINT(b)
		} else {
			r, ok = parseLONG(b)
		}
		if !ok {
			return w.fail(at, "INT/LONG: could not convert string to int")
		}
		return w.push(intValue(r), at)
	case opBinInt:
		b, err := w.take(at, 4)
		if err != nil {
			return err
		}
		x := int32(binary.LittleEndian.Uint32(b))
		return w.push(intValue(pyInt{v: int64(x), neg: x < 0}), at)
	case opBinInt1, opBinInt2:
		n := 1
		if op == opBinInt2 {
			n = 2
		}
		b, err := w.take(at, n)
		if err != nil {
			return err
		}
		return w.push(smallInt(le(b)), at)
	case opBinFloat:
		if _, err := w.take(at, 8); err != nil {
			return err
		}
		return w.push(value{kind: kFloat}, at)
	case opNone:
		return w.push(none, at)
	case opNewTrue, opNewFalse:
		return w.push(value{kind: kBool}, at)
	case opEmptyDict:
		return w.push(value{kind: kDict, flags: fUnhashable}, at)
	case opEmptyList:
		return w.push(value{kind: kList, flags: fUnhashable}, at)
	case opEmptySet:
		return w.push(value{kind: kSet, flags: fUnhashable}, at)
	case opEmptyTuple:
		return w.push(value{kind: kTuple}, at)
	case opLong1, opLong4:
		return w.long(op, at)
	case opPersID:
		b, _, err := w.line(at)
		if err != nil {
			return err
		}
		if !ascii(b) {
			return w.fail(at, "PERSID: persistent IDs in protocol 0 must be ASCII strings")
		}
		w.res.PersistentIDs++
		return w.push(other, at)
	case opBinPersID:
		if _, err := w.pop(at, "BINPERSID"); err != nil {
			return err
		}
		w.res.PersistentIDs++
		return w.push(other, at)
	case opReduce:
		args, err := w.pop(at, "REDUCE")
		if err != nil {
			return err
		}
		f, err := w.pop(at, "REDUCE")
		if err != nil {
			return err
		}
		if !f.callable() {
			return w.fail(at, "REDUCE: the callable is not callable")
		}
		if err := w.needTuple(at, "REDUCE", args); err != nil {
			return err
		}
		w.called(f, args)
		return w.push(w.callResult(f, args), at)
	case opString:
		return w.stringLine(at)
	case opUnicode:
		b, long, err := w.line(at)
		if err != nil {
			return err
		}
		if long {
			return w.push(value{kind: kStr}, at)
		}
		s, ok := decodeRawUnicodeEscape(b[:len(b)-1])
		if !ok {
			return w.fail(at, "UNICODE: the raw_unicode_escape codec cannot decode the argument")
		}
		v := w.str(s)
		if w.capture {
			v = w.keepText(v, s)
		}
		return w.push(v, at)
	case opBinString, opShortBinString, opBinUnicode, opShortBinUni, opBinUnicode8, opBinBytes, opShortBinBytes, opBinBytes8, opByteArray8:
		return w.stringOp(op, at)
	case opAppend:
		if len(w.stack)-1 <= w.fence() {
			return w.fail(at, "APPEND: unpickling stack underflow")
		}
		return w.appendItems(at, "APPEND", len(w.stack)-1)
	case opAppends:
		m, err := w.marker(at, "APPENDS")
		if err != nil {
			return err
		}
		return w.appendItems(at, "APPENDS", m)
	case opSetItem:
		return w.setItems(at, "SETITEM", len(w.stack)-2)
	case opSetItems:
		m, err := w.marker(at, "SETITEMS")
		if err != nil {
			return err
		}
		return w.setItems(at, "SETITEMS", m)
	case opAddItems:
		return w.addItems(at)
	case opBuild:
		return w.build(at)
	case opDict:
		m, err := w.marker(at, "DICT")
		if err != nil {
			return err
		}
		items := w.stack[m:]
		if len(items)%2 != 0 {
			return w.fail(at, "DICT: odd number of items")
		}
		for i := 0; i < len(items); i += 2 {
			if !items[i].hashable() {
				return w.fail(at, "DICT: unhashable key")
			}
		}
		w.stack = w.stack[:m]
		return w.push(value{kind: kDict, flags: fUnhashable}, at)
	case opList:
		m, err := w.marker(at, "LIST")
		if err != nil {
			return err
		}
		w.stack = w.stack[:m]
		return w.push(value{kind: kList, flags: fUnhashable}, at)
	case opTuple:
		m, err := w.marker(at, "TUPLE")
		if err != nil {
			return err
		}
		t := w.tuple(w.stack[m:])
		w.stack = w.stack[:m]
		return w.push(t, at)
	case opFrozenSet:
		m, err := w.marker(at, "FROZENSET")
		if err != nil {
			return err
		}
		for _, v := range w.stack[m:] {
			if !v.hashable() {
				return w.fail(at, "FROZENSET: unhashable item")
			}
		}
		w.stack = w.stack[:m]
		return w.push(value{kind: kFrozenSet}, at)
	case opTuple1, opTuple2, opTuple3:
		n := int(op-opTuple1) + 1
		start := len(w.stack) - n
		if start < w.fence() {
			return w.fail(at, "TUPLE%d: unpickling stack underflow", n)
		}
		t := w.tuple(w.stack[start:])
		w.stack = w.stack[:start]
		return w.push(t, at)
	case opGlobal:
		return w.global(at)
	case opInst:
		return w.inst(at)
	case opStackGlobal:
		return w.stackGlobal(at)
	case opObj:
		m, err := w.marker(at, "OBJ")
		if err != nil {
			return err
		}
		if len(w.stack)-m < 1 {
			return w.fail(at, "OBJ: unpickling stack underflow")
		}
		cls := w.stack[m]
		args := w.tuple(w.stack[m+1:])
		w.stack = w.stack[:m]
		if !cls.callable() {
			return w.fail(at, "OBJ: the class is not callable")
		}
		w.called(cls, args)
		return w.push(w.callResult(cls, args), at)
	case opNewObj, opNewObjEx:
		return w.newObj(op, at)
	case opExt1, opExt2, opExt4:
		n := map[byte]int{opExt1: 1, opExt2: 2, opExt4: 4}[op]
		b, err := w.take(at, n)
		if err != nil {
			return err
		}
		code := int64(le(b))
		if n == 4 {
			code = int64(int32(le(b)))
		}
		if code <= 0 {
			return w.fail(at, "EXT specifies code <= 0")
		}
		// A vanilla interpreter has no extensions registered and refuses
		// the pickle; one that registered some (copyreg.add_extension)
		// resolves the code to any callable. The walk goes on.
		w.res.Extensions++
		return w.push(other, at)
	case opGet:
		b, err := w.numberLine(at, "GET")
		if err != nil {
			return err
		}
		r, ok := pyLongFromString(b, 10)
		if !ok {
			return w.fail(at, "GET: invalid literal for int() with base 10")
		}
		if r.big || r.neg && r.v != 0 {
			return w.fail(at, "GET: memo key is out of range")
		}
		v, err := w.memoGet(at, uint64(r.v))
		if err != nil {
			return err
		}
		return w.push(v, at)
	case opBinGet, opLongBinGet:
		n := 1
		if op == opLongBinGet {
			n = 4
		}
		b, err := w.take(at, n)
		if err != nil {
			return err
		}
		v, err := w.memoGet(at, le(b))
		if err != nil {
			return err
		}
		return w.push(v, at)
	case opPut:
		b, err := w.numberLine(at, "PUT")
		if err != nil {
			return err
		}
		if len(w.stack) <= w.fence() {
			return w.fail(at, "PUT: unpickling stack underflow")
		}
		r, ok := pyLongFromString(b, 10)
		if !ok {
			return w.fail(at, "PUT: invalid literal for int() with base 10")
		}
		if r.neg && r.v != 0 || r.big {
			return w.fail(at, "PUT: negative or overflowing memo key")
		}
		return w.memoTop(at, uint64(r.v))
	case opBinPut, opLongBinPut:
		n := 1
		if op == opLongBinPut {
			n = 4
		}
		b, err := w.take(at, n)
		if err != nil {
			return err
		}
		return w.memoTop(at, le(b))
	case opMemoize:
		return w.memoTop(at, w.memoN)
	case opProto:
		b, err := w.take(at, 1)
		if err != nil {
			return err
		}
		if b[0] > HighestProtocol {
			return w.fail(at, "unsupported pickle protocol: %d", b[0])
		}
		w.proto = int(b[0])
		w.res.Protocol = max(w.res.Protocol, w.proto)
	case opFrame:
		b, err := w.take(at, 8)
		if err != nil {
			return err
		}
		n := le(b)
		if n > math.MaxInt64-uint64(at)-9 {
			return w.fail(at, "FRAME length exceeds the system's maximum")
		}
		start := w.offset()
		if start+int64(n) > w.bufEnd {
			// The frame does not fit in what is buffered: it is read anew
			// (a frame inside a frame that fits leaves the buffer be).
			if w.framed {
				w.discardTo(w.bufEnd)
				start = w.offset()
			} else if w.bufEnd != math.MaxInt64 {
				w.crossed = true
			}
			w.bufEnd = start + int64(n)
		}
		if w.bufEnd == math.MaxInt64 {
			w.bufEnd = start + int64(n)
		}
		if end := start + int64(n); end > w.frameEnd {
			w.frameAt, w.frameEnd = at, end
		}
	case opNextBuffer:
		// pickle.load refuses it; a loader given buffers= supplies one.
		w.divergent("the pickle refers to out-of-band buffers: pickle.load refuses it, a loader given buffers= reads on")
		return w.push(other, at)
	case opReadonlyBuffer:
		v, err := w.top(at, "READONLY_BUFFER")
		if err != nil {
			return err
		}
		switch v.kind {
		case kBytes, kByteArray:
		case kObject, kImport:
			w.divergent("READONLY_BUFFER on an object whose type only the loader knows")
		default:
			return w.fail(at, "READONLY_BUFFER: the value does not support the buffer protocol")
		}
	default:
		return w.fail(at, "invalid load key, 0x%02x", op)
	}
	return nil
}

// numberLine reads a text opcode's line, which must hold more than its
// newline.
func (w *walker) numberLine(at int64, op string) ([]byte, error) {
	b, long, err := w.line(at)
	if err != nil {
		return nil, err
	}
	if long {
		w.incomplete("a text argument longer than the walk reads")
		return nil, w.fail(at, "%s: argument longer than %d bytes", op, maxLine)
	}
	if len(b) < 2 {
		return nil, w.fail(at, "%s: empty argument (pickle exhausted before end of line)", op)
	}
	return b, nil
}

// needTuple checks that a call's arguments are a tuple, as CPython
// requires; a value whose type only the loader knows may be one.
func (w *walker) needTuple(at int64, op string, args value) error {
	switch args.kind {
	case kTuple:
		return nil
	case kObject, kImport:
		w.divergent(op + " with arguments whose type only the loader knows")
		return nil
	}
	return w.fail(at, "%s: the arguments are not a tuple", op)
}

// tuple makes a tuple of items: hashable unless one is not, large when
// one is, and carrying the first kept payload among them.
func (w *walker) tuple(items []value) value {
	t := value{kind: kTuple}
	for _, v := range items {
		if !v.hashable() {
			t.flags |= fUnhashable
		}
		if v.kind == kInt && v.flags&fLarge != 0 {
			t.flags |= fLarge
		}
		if v.flags&fSpan != 0 && t.flags&fSpan == 0 && v.kind != kTuple {
			t.flags |= fSpan
			t.off = v.off
		}
	}
	return t
}

// callResult is what a call returns: unknown, except that encoding a kept
// text to Latin-1 (protocol 2's way of writing bytes) gives those bytes.
func (w *walker) callResult(f, args value) value {
	if imp := w.imp(f); imp != nil && args.flags&fSpan != 0 {
		if m, n := imp.ResolvedModule, imp.ResolvedName; n == "encode" && (m == "_codecs" || m == "codecs") {
			return value{kind: kBytes, flags: fSpan, off: args.off}
		}
	}
	return other
}

func (w *walker) memoTop(at int64, idx uint64) error {
	v, err := w.top(at, "PUT")
	if err != nil {
		return err
	}
	return w.memoPut(at, idx, v)
}

// long reads LONG1 and LONG4: a count, then that many bytes of a two's
// complement little-endian integer.
func (w *walker) long(op byte, at int64) error {
	n := 1
	if op == opLong4 {
		n = 4
	}
	b, err := w.take(at, n)
	if err != nil {
		return err
	}
	size := int64(le(b))
	if n == 4 {
		size = int64(int32(le(b)))
		if size < 0 {
			return w.fail(at, "LONG pickle has negative byte count")
		}
	}
	if size <= 8 {
		data, err := w.take(at, int(size))
		if err != nil {
			return err
		}
		var x int64
		if size > 0 {
			u := le(data)
			shift := 64 - 8*uint(size)
			x = int64(u<<shift) >> shift // sign-extend
		}
		return w.push(intValue(pyInt{v: x, neg: x < 0}), at)
	}
	var last byte
	if err := w.skip(at, uint64(size), func(p []byte) { last = p[len(p)-1] }); err != nil {
		return err
	}
	return w.push(intValue(pyInt{big: true, neg: last&0x80 != 0}), at)
}

// stringLine reads protocol 0's STRING: a quoted, escaped Python 2 string.
func (w *walker) stringLine(at int64) error {
	b, long, err := w.line(at)
	if err != nil {
		return err
	}
	if long {
		return w.push(value{kind: kStr}, at)
	}
	b = b[:len(b)-1]
	if len(b) < 2 || b[0] != b[len(b)-1] || b[0] != '\'' && b[0] != '"' {
		return w.fail(at, "the STRING opcode argument must be quoted")
	}
	s, ok := decodeEscape(b[1 : len(b)-1])
	if !ok {
		return w.fail(at, "STRING: invalid escape in the argument")
	}
	return w.push(w.py2String(s), at)
}

// py2String is a Python 2 string (STRING, BINSTRING, SHORT_BINSTRING) as
// str: pickle.load decodes it as ASCII and refuses other bytes; loaders
// that pass encoding='latin1' (as numpy and joblib can) accept them.
func (w *walker) py2String(s []byte) value {
	if !ascii(s) {
		w.divergent("a Python 2 string holds non-ASCII bytes: pickle.load refuses it, loaders with encoding='latin1' read on")
		v := value{kind: kStr}
		if w.capture {
			v = w.keepText(v, latin1ToUTF8(s))
		}
		return v
	}
	v := w.str(s)
	if w.capture {
		v = w.keepText(v, s)
	}
	return v
}

func latin1ToUTF8(s []byte) []byte {
	out := make([]byte, 0, len(s)+len(s)/2)
	for _, c := range s {
		out = utf8.AppendRune(out, rune(c))
	}
	return out
}

// keepText keeps a text's Latin-1 encoding (what _codecs.encode(s,
// 'latin1') makes of it, protocol 2's way of writing bytes), when it has
// one. Names are not payloads and stay as they are.
func (w *walker) keepText(v value, utf8Text []byte) value {
	if v.kind != kStr {
		return v
	}
	enc := make([]byte, 0, len(utf8Text))
	for _, r := range string(utf8Text) {
		if r > 0xFF {
			return v
		}
		enc = append(enc, byte(r))
	}
	if flag, idx := w.keep(enc); flag != 0 {
		v.flags |= flag
		v.off = idx
	}
	return v
}

// stringOp reads a length-prefixed string, bytes or bytearray opcode.
func (w *walker) stringOp(op byte, at int64) error {
	var n int
	switch op {
	case opShortBinString, opShortBinBytes, opShortBinUni:
		n = 1
	case opBinString, opBinUnicode, opBinBytes:
		n = 4
	default:
		n = 8
	}
	b, err := w.take(at, n)
	if err != nil {
		return err
	}
	size := le(b)
	if op == opBinString && int32(size) < 0 {
		return w.fail(at, "BINSTRING pickle has negative byte count")
	}
	if n == 8 && size > math.MaxInt64 {
		return w.fail(at, "the argument exceeds the system's maximum size")
	}
	switch op {
	case opBinUnicode, opShortBinUni, opBinUnicode8:
		return w.unicode(at, size)
	case opBinString, opShortBinString:
		if size <= maxName || w.capture && size <= uint64(w.lim.MaxCapture) {
			s, err := w.takeBig(at, size)
			if err != nil {
				return err
			}
			return w.push(w.py2String(s), at)
		}
		allASCII := true
		if err := w.skip(at, size, func(p []byte) { allASCII = allASCII && ascii(p) }); err != nil {
			return err
		}
		if !allASCII {
			w.divergent("a Python 2 string holds non-ASCII bytes: pickle.load refuses it, loaders with encoding='latin1' read on")
		}
		return w.push(value{kind: kStr}, at)
	}
	v := value{kind: kBytes}
	if op == opByteArray8 {
		v = value{kind: kByteArray, flags: fUnhashable}
	}
	if w.bufEnd != math.MaxInt64 && (size > uint64(w.bufEnd) || uint64(w.offset()) > uint64(w.bufEnd)-size) {
		// Bytes are read into their object (_Unpickler_ReadInto): what is
		// left of the buffer, then the file, with nothing dropped.
		w.bufEnd = math.MaxInt64
	}
	if w.capture && size <= uint64(w.lim.MaxCapture) && !w.capFull {
		data, err := w.takeBig(at, size)
		if err != nil {
			return err
		}
		flag, idx := w.keep(data)
		v.flags |= flag
		if flag != 0 {
			v.off = idx
		}
		return w.push(v, at)
	}
	if err := w.skip(at, size, nil); err != nil {
		return err
	}
	return w.push(v, at)
}

// takeBig returns the next size bytes in a buffer of their own.
func (w *walker) takeBig(at int64, size uint64) ([]byte, error) {
	if size <= 64<<10 {
		b, err := w.take(at, int(size))
		if err != nil {
			return nil, err
		}
		return b, nil
	}
	out := make([]byte, 0, size)
	err := w.skip(at, size, func(p []byte) { out = append(out, p...) })
	return out, err
}

// unicode reads the text of BINUNICODE, SHORT_BINUNICODE and
// BINUNICODE8: UTF-8 as CPython decodes it (surrogates allowed).
func (w *walker) unicode(at int64, size uint64) error {
	if size <= maxName || w.capture && size <= uint64(w.lim.MaxCapture) {
		s, err := w.takeBig(at, size)
		if err != nil {
			return err
		}
		if !validUTF8Surrogates(s) {
			return w.fail(at, "BINUNICODE: 'utf-8' codec can't decode the argument")
		}
		v := w.str(s)
		if w.capture {
			v = w.keepText(v, s)
		}
		return w.push(v, at)
	}
	var u utf8Stream
	if err := w.skip(at, size, u.feed); err != nil {
		return err
	}
	if !u.valid() {
		return w.fail(at, "BINUNICODE: 'utf-8' codec can't decode the argument")
	}
	return w.push(value{kind: kStr}, at)
}

// utf8Stream validates UTF-8 (surrogates allowed) fed in pieces.
type utf8Stream struct {
	carry []byte
	bad   bool
}

func (u *utf8Stream) feed(p []byte) {
	if u.bad {
		return
	}
	if len(u.carry) > 0 {
		need := 4 - len(u.carry)
		k := min(need, len(p))
		u.carry = append(u.carry, p[:k]...)
		n := runeLen(u.carry)
		if n < 0 || n > len(u.carry) && k == len(p) {
			if n < 0 {
				u.bad = true
			}
			return // still incomplete
		}
		if !validUTF8Surrogates(u.carry[:n]) {
			u.bad = true
			return
		}
		used := n - (len(u.carry) - k)
		u.carry = u.carry[:0]
		p = p[used:]
	}
	// Hold back an incomplete rune at the end.
	cut := len(p)
	for i := len(p) - 1; i >= 0 && i >= len(p)-3; i-- {
		if p[i]&0xC0 != 0x80 {
			if n := runeLen(p[i:]); n > len(p)-i {
				cut = i
			}
			break
		}
	}
	if !validUTF8Surrogates(p[:cut]) {
		u.bad = true
		return
	}
	u.carry = append(u.carry[:0], p[cut:]...)
}

func (u *utf8Stream) valid() bool { return !u.bad && len(u.carry) == 0 }

// runeLen is the length a UTF-8 sequence's first byte announces, or -1.
func runeLen(b []byte) int {
	switch c := b[0]; {
	case c < 0x80:
		return 1
	case c&0xE0 == 0xC0:
		return 2
	case c&0xF0 == 0xE0:
		return 3
	case c&0xF8 == 0xF0:
		return 4
	}
	return -1
}

// appendItems is do_append: the items above x go into the list below it.
func (w *walker) appendItems(at int64, op string, x int) error {
	if x > len(w.stack) || x <= w.fence() {
		return w.fail(at, "%s: unpickling stack underflow", op)
	}
	items := w.stack[x:]
	if len(items) == 0 {
		return nil
	}
	switch target := w.stack[x-1]; target.kind {
	case kList, kObject, kImport:
	case kByteArray:
		for _, v := range items {
			if !byteValue(v) {
				return w.fail(at, "%s: a bytearray takes integers 0-255", op)
			}
		}
	default:
		return w.fail(at, "%s: the target has no append or extend", op)
	}
	w.stack = w.stack[:x]
	return nil
}

// setItems is do_setitems: the key-value pairs above x go into the
// mapping below it.
func (w *walker) setItems(at int64, op string, x int) error {
	if x > len(w.stack) || x <= w.fence() {
		return w.fail(at, "%s: unpickling stack underflow", op)
	}
	items := w.stack[x:]
	if len(items) == 0 {
		return nil
	}
	if len(items)%2 != 0 {
		return w.fail(at, "%s: odd number of items", op)
	}
	switch target := w.stack[x-1]; target.kind {
	case kDict:
		for i := 0; i < len(items); i += 2 {
			if !items[i].hashable() {
				return w.fail(at, "%s: unhashable key", op)
			}
		}
	case kObject, kImport:
	case kList, kByteArray:
		for i := 0; i < len(items); i += 2 {
			if k := items[i].kind; k != kInt && k != kBool && k != kObject && k != kImport {
				return w.fail(at, "%s: list indices must be integers", op)
			}
		}
		w.divergent("items set by index in a list: whether the index exists only the loader knows")
	default:
		return w.fail(at, "%s: the target does not support item assignment", op)
	}
	w.stack = w.stack[:x]
	return nil
}

// addItems is ADDITEMS: the items above the mark go into the set below it.
func (w *walker) addItems(at int64) error {
	m, err := w.marker(at, "ADDITEMS")
	if err != nil {
		return err
	}
	if m > len(w.stack) || m <= w.fence() {
		return w.fail(at, "ADDITEMS: unpickling stack underflow")
	}
	items := w.stack[m:]
	if len(items) == 0 {
		return nil
	}
	switch w.stack[m-1].kind {
	case kSet:
		for _, v := range items {
			if !v.hashable() {
				return w.fail(at, "ADDITEMS: unhashable item")
			}
		}
	case kObject, kImport:
	default:
		return w.fail(at, "ADDITEMS: the target has no add")
	}
	w.stack = w.stack[:m]
	return nil
}

// build is BUILD: an object's state is set from the value above it.
func (w *walker) build(at int64) error {
	if len(w.stack)-2 < w.fence() {
		return w.fail(at, "BUILD: unpickling stack underflow")
	}
	state := w.stack[len(w.stack)-1]
	w.stack = w.stack[:len(w.stack)-1]
	switch inst := w.stack[len(w.stack)-1]; inst.kind {
	case kObject, kImport:
		return nil
	}
	// A built-in value has no __setstate__ and no __dict__: only a state
	// of None (or a (None, slots) pair that sets nothing) leaves it be.
	switch state.kind {
	case kNone:
		return nil
	case kTuple:
		w.divergent("BUILD on a built-in value with a state whose contents only the loader knows")
		return nil
	}
	return w.fail(at, "BUILD: the object has no __setstate__ or __dict__")
}

// global is GLOBAL: a module and a name, each on a line of its own.
func (w *walker) global(at int64) error {
	module, name, err := w.globalLines(at, "GLOBAL")
	if err != nil {
		return err
	}
	return w.push(w.addImport(at, module, name, "GLOBAL", false), at)
}

// globalLines reads GLOBAL's and INST's module and name: UTF-8, non-empty.
func (w *walker) globalLines(at int64, op string) (module, name string, err error) {
	var parts [2]string
	for i := range parts {
		b, long, err := w.line(at)
		if err != nil {
			return "", "", err
		}
		if long {
			w.incomplete("a module or name longer than the walk reads")
			parts[i] = "?"
			continue
		}
		if len(b) < 2 {
			return "", "", w.fail(at, "%s: empty module or name (pickle exhausted before end of line)", op)
		}
		if !utf8.Valid(b[:len(b)-1]) {
			return "", "", w.fail(at, "%s: 'utf-8' codec can't decode the module or name", op)
		}
		parts[i] = string(b[:len(b)-1])
	}
	return parts[0], parts[1], nil
}

// inst is INST: a class named by two lines, called with the values above
// the mark.
func (w *walker) inst(at int64) error {
	m, err := w.marker(at, "INST")
	if err != nil {
		return err
	}
	module, name, err := w.globalLines(at, "INST")
	if err != nil {
		return err
	}
	v := w.addImport(at, module, name, "INST", false)
	args := w.tuple(w.stack[m:])
	w.stack = w.stack[:m]
	w.called(v, args)
	return w.push(w.callResult(v, args), at)
}

// stackGlobal is STACK_GLOBAL: module and name from the stack, both str.
func (w *walker) stackGlobal(at int64) error {
	name, err := w.pop(at, "STACK_GLOBAL")
	if err != nil {
		return err
	}
	module, err := w.pop(at, "STACK_GLOBAL")
	if err != nil {
		return err
	}
	unknown := false
	for _, v := range [...]value{module, name} {
		switch {
		case v.str():
		case v.kind == kObject || v.kind == kImport:
			unknown = true // what a call returned may be a str
		default:
			return w.fail(at, "STACK_GLOBAL requires str")
		}
	}
	if module.kind == kName && name.kind == kName {
		return w.push(w.addImport(at, w.text(module), w.text(name), "STACK_GLOBAL", false), at)
	}
	if unknown {
		w.divergent("STACK_GLOBAL with operands whose type only the loader knows")
	}
	m, n := "?", "?"
	if module.kind == kName {
		m = w.text(module)
	}
	if name.kind == kName {
		n = w.text(name)
	}
	return w.push(w.addImport(at, m, n, "STACK_GLOBAL", true), at)
}

// newObj is NEWOBJ and NEWOBJ_EX: cls.__new__(cls, *args[, **kwargs]).
func (w *walker) newObj(op byte, at int64) error {
	name := "NEWOBJ"
	var kwargs value
	if op == opNewObjEx {
		name = "NEWOBJ_EX"
		var err error
		if kwargs, err = w.pop(at, name); err != nil {
			return err
		}
	}
	args, err := w.pop(at, name)
	if err != nil {
		return err
	}
	cls, err := w.pop(at, name)
	if err != nil {
		return err
	}
	if !cls.callable() {
		return w.fail(at, "%s: the class argument must be a type", name)
	}
	if err := w.needTuple(at, name, args); err != nil {
		return err
	}
	if op == opNewObjEx {
		switch kwargs.kind {
		case kDict:
		case kObject, kImport:
			w.divergent("NEWOBJ_EX with keyword arguments whose type only the loader knows")
		default:
			return w.fail(at, "NEWOBJ_EX: the kwargs argument must be a dict")
		}
	}
	w.called(cls, args)
	return w.push(other, at)
}
