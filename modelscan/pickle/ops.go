package pickle

import (
	"bytes"
	"strconv"
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

var other = value{kind: kOther}

// pickle walks one pickle, to its STOP.
func (w *walker) pickle() error {
	w.stack, w.marks = w.stack[:0], w.marks[:0]
	for _, page := range w.memo {
		clear(page)
	}
	w.memoN = 0
	w.sparse = nil
	w.arena = w.arena[:0]
	first := true
	for {
		at := w.offset()
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

func (w *walker) step(op byte, at int64) error {
	switch op {
	case opMark:
		w.marks = append(w.marks, len(w.stack))
		if len(w.marks) > w.lim.MaxStack {
			return w.fail(at, "too many nested MARKs")
		}
	case opStop:
		if _, err := w.pop(at, "STOP"); err != nil {
			return err
		}
	case opPop:
		if len(w.marks) > 0 && len(w.stack) == w.marks[len(w.marks)-1] {
			w.marks = w.marks[:len(w.marks)-1] // POP of a mark
			return nil
		}
		_, err := w.pop(at, "POP")
		return err
	case opPopMark:
		_, err := w.popMark(at, "POP_MARK")
		return err
	case opDup:
		if len(w.stack) == 0 {
			return w.fail(at, "DUP on an empty stack")
		}
		return w.push(w.stack[len(w.stack)-1], at)
	case opFloat, opInt, opLong:
		if _, _, err := w.line(at); err != nil {
			return err
		}
		return w.push(other, at)
	case opBinInt, opBinFloat:
		n := 4
		if op == opBinFloat {
			n = 8
		}
		if _, err := w.take(at, n); err != nil {
			return err
		}
		return w.push(other, at)
	case opBinInt1:
		if _, err := w.take(at, 1); err != nil {
			return err
		}
		return w.push(other, at)
	case opBinInt2:
		if _, err := w.take(at, 2); err != nil {
			return err
		}
		return w.push(other, at)
	case opNone, opNewTrue, opNewFalse, opEmptyDict, opEmptyList, opEmptyTuple, opEmptySet:
		return w.push(other, at)
	case opLong1, opLong4:
		n := 1
		if op == opLong4 {
			n = 4
		}
		b, err := w.take(at, n)
		if err != nil {
			return err
		}
		if err := w.skip(at, le(b)); err != nil {
			return err
		}
		return w.push(other, at)
	case opPersID:
		if _, _, err := w.line(at); err != nil {
			return err
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
		if _, err := w.pop(at, "REDUCE"); err != nil {
			return err
		}
		f, err := w.pop(at, "REDUCE")
		if err != nil {
			return err
		}
		w.called(f)
		return w.push(other, at)
	case opString:
		b, long, err := w.line(at)
		if err != nil {
			return err
		}
		if long {
			return w.push(value{kind: kString}, at)
		}
		s, ok := unquote(b)
		if !ok {
			return w.fail(at, "STRING operand is not a quoted string")
		}
		return w.push(w.str(s), at)
	case opUnicode:
		b, long, err := w.line(at)
		if err != nil {
			return err
		}
		if long {
			return w.push(value{kind: kString}, at)
		}
		return w.push(w.str(rawUnicodeEscape(b)), at)
	case opBinString, opBinUnicode, opBinBytes, opShortBinString, opShortBinBytes, opShortBinUni, opBinUnicode8, opBinBytes8, opByteArray8:
		return w.stringOp(op, at)
	case opAppend:
		_, err := w.pop(at, "APPEND")
		return err
	case opAppends, opSetItems, opAddItems:
		_, err := w.popMark(at, "APPENDS/SETITEMS/ADDITEMS")
		return err
	case opSetItem:
		if _, err := w.pop(at, "SETITEM"); err != nil {
			return err
		}
		_, err := w.pop(at, "SETITEM")
		return err
	case opBuild:
		_, err := w.pop(at, "BUILD")
		return err
	case opDict, opList, opTuple, opFrozenSet:
		if _, err := w.popMark(at, "DICT/LIST/TUPLE/FROZENSET"); err != nil {
			return err
		}
		return w.push(other, at)
	case opTuple1, opTuple2, opTuple3:
		for range int(op-opTuple1) + 1 {
			if _, err := w.pop(at, "TUPLE1-3"); err != nil {
				return err
			}
		}
		return w.push(other, at)
	case opGlobal, opInst:
		return w.global(op, at)
	case opStackGlobal:
		name, err := w.pop(at, "STACK_GLOBAL")
		if err != nil {
			return err
		}
		module, err := w.pop(at, "STACK_GLOBAL")
		if err != nil {
			return err
		}
		if module.kind == kName && name.kind == kName {
			return w.push(w.addImport(at, w.text(module), w.text(name), "STACK_GLOBAL", false), at)
		}
		m, n := "?", "?"
		if module.kind == kName {
			m = w.text(module)
		}
		if name.kind == kName {
			n = w.text(name)
		}
		return w.push(w.addImport(at, m, n, "STACK_GLOBAL", true), at)
	case opObj:
		items, err := w.popMark(at, "OBJ")
		if err != nil {
			return err
		}
		if len(items) == 0 {
			return w.fail(at, "OBJ without a class")
		}
		w.called(items[0])
		return w.push(other, at)
	case opNewObj:
		if _, err := w.pop(at, "NEWOBJ"); err != nil {
			return err
		}
		cls, err := w.pop(at, "NEWOBJ")
		if err != nil {
			return err
		}
		w.called(cls)
		return w.push(other, at)
	case opNewObjEx:
		for range 2 {
			if _, err := w.pop(at, "NEWOBJ_EX"); err != nil {
				return err
			}
		}
		cls, err := w.pop(at, "NEWOBJ_EX")
		if err != nil {
			return err
		}
		w.called(cls)
		return w.push(other, at)
	case opExt1, opExt2, opExt4:
		n := map[byte]int{opExt1: 1, opExt2: 2, opExt4: 4}[op]
		if _, err := w.take(at, n); err != nil {
			return err
		}
		w.res.Extensions++
		return w.push(other, at)
	case opGet:
		b, _, err := w.line(at)
		if err != nil {
			return err
		}
		idx, perr := strconv.ParseUint(string(b), 10, 64)
		if perr != nil {
			return w.fail(at, "GET key %q is not a number", b)
		}
		v, err := w.memoGet(at, idx)
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
		b, _, err := w.line(at)
		if err != nil {
			return err
		}
		idx, perr := strconv.ParseUint(string(b), 10, 64)
		if perr != nil {
			return w.fail(at, "PUT key %q is not a number", b)
		}
		return w.memoTop(at, idx)
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
		if b[0] > 5 {
			return w.fail(at, "unsupported protocol %d", b[0])
		}
		w.res.Protocol = max(w.res.Protocol, int(b[0]))
	case opFrame:
		if _, err := w.take(at, 8); err != nil {
			return err
		}
	case opNextBuffer:
		return w.push(other, at)
	case opReadonlyBuffer:
		if len(w.stack) == 0 {
			return w.fail(at, "READONLY_BUFFER on an empty stack")
		}
	default:
		return w.fail(at, "unknown opcode 0x%02x", op)
	}
	return nil
}

func (w *walker) memoTop(at int64, idx uint64) error {
	if len(w.stack) == 0 {
		return w.fail(at, "memo store from an empty stack")
	}
	return w.memoPut(at, idx, w.stack[len(w.stack)-1])
}

// stringOp reads a length-prefixed string or bytes opcode.
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
		return w.fail(at, "BINSTRING with a negative length")
	}
	isText := op == opShortBinUni || op == opBinUnicode || op == opBinUnicode8 || op == opShortBinString || op == opBinString
	if isText && size <= maxName {
		s, err := w.take(at, int(size))
		if err != nil {
			return err
		}
		return w.push(w.str(s), at)
	}
	if err := w.skip(at, size); err != nil {
		return err
	}
	kind := kOther
	if isText {
		kind = kString
	}
	return w.push(value{kind: kind}, at)
}

// global reads GLOBAL's or INST's two lines.
func (w *walker) global(op byte, at int64) error {
	mb, long, err := w.line(at)
	if err != nil {
		return err
	}
	module := string(mb)
	if long {
		module = "?"
	}
	nb, long, err := w.line(at)
	if err != nil {
		return err
	}
	name := string(nb)
	if long {
		name = "?"
	}
	opName := "GLOBAL"
	if op == opInst {
		opName = "INST"
		if _, err := w.popMark(at, "INST"); err != nil {
			return err
		}
		v := w.addImport(at, module, name, opName, false)
		w.called(v)
		return w.push(other, at)
	}
	return w.push(w.addImport(at, module, name, opName, false), at)
}

// unquote decodes protocol 0's STRING operand: a Python string literal in
// single or double quotes with backslash escapes.
func unquote(b []byte) ([]byte, bool) {
	if len(b) < 2 || b[0] != b[len(b)-1] || b[0] != '\'' && b[0] != '"' {
		return nil, false
	}
	b = b[1 : len(b)-1]
	if bytes.IndexByte(b, '\\') < 0 {
		return b, true
	}
	out := make([]byte, 0, len(b))
	for i := 0; i < len(b); i++ {
		c := b[i]
		if c != '\\' || i+1 == len(b) {
			out = append(out, c)
			continue
		}
		i++
		switch b[i] {
		case 'n':
			out = append(out, '\n')
		case 't':
			out = append(out, '\t')
		case 'r':
			out = append(out, '\r')
		case 'x':
			if i+2 < len(b) {
				if v, err := strconv.ParseUint(string(b[i+1:i+3]), 16, 8); err == nil {
					out = append(out, byte(v))
					i += 2
					continue
				}
			}
			out = append(out, '\\', 'x')
		default:
			if b[i] >= '0' && b[i] <= '7' {
				j := i
				for j < len(b) && j < i+3 && b[j] >= '0' && b[j] <= '7' {
					j++
				}
				v, _ := strconv.ParseUint(string(b[i:j]), 8, 16)
				out = append(out, byte(v))
				i = j - 1
				continue
			}
			out = append(out, b[i]) // \\ \' \" and unknown escapes
		}
	}
	return out, true
}

// rawUnicodeEscape decodes protocol 0's UNICODE operand (\uXXXX and
// \UXXXXXXXX escapes).
func rawUnicodeEscape(b []byte) []byte {
	if bytes.IndexByte(b, '\\') < 0 {
		return b
	}
	out := make([]byte, 0, len(b))
	for i := 0; i < len(b); i++ {
		if b[i] == '\\' && i+1 < len(b) && (b[i+1] == 'u' || b[i+1] == 'U') {
			n := 4
			if b[i+1] == 'U' {
				n = 8
			}
			if i+2+n <= len(b) {
				if v, err := strconv.ParseUint(string(b[i+2:i+2+n]), 16, 32); err == nil {
					out = append(out, string(rune(v))...)
					i += 1 + n
					continue
				}
			}
		}
		out = append(out, b[i])
	}
	return out
}
