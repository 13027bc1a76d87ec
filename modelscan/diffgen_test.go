package modelscan

import (
	"encoding/binary"
	"math/rand/v2"
	"strings"
)

// pickleGen writes random opcode streams for the differential test: every
// opcode, every spelling of every text argument CPython parses, random
// first opcodes, memo tricks and concatenations. Most streams keep the
// stack well-formed for a while, so that they get past the first few
// opcodes to where parsers disagree.
type pickleGen struct {
	r     *rand.Rand
	b     []byte
	depth int // values on the (imagined) stack
	marks int
	memo  []int
}

// Spellings of the text arguments, valid and not.
var (
	intSpellings = []string{"0", "1", "00", "01", "010", "0x1f", "0X1F", "0o17", "0b101", "1_000", "1__0", "_1", "1_", "+3", "-0",
		" 5", "5 ", "\t7\v", "0x", "12L", "0_0", "007", "0x_1", "9999999999999999999999", "-9223372036854775809", "1e3", "",
		"\u0661", "3\x00junk", strings.Repeat("9", 4301), strings.Repeat("9", 4300), "0o", "0b2", "٣"}
	floatSpellings = []string{"1.5", "1e5", "1E+5", "inf", "-Infinity", "nan", "NaN", " 1.0", "1.0 ", "1e400", "-1e400", "1_0.0", ".5", "5.",
		"1e", "0x1p3", "1.7976931348623157e308", "1.8e308", "4.9e-324", "1e-400", "", "+", "-.e1", "infinit"}
	keySpellings = []string{"0", "1", "2", " 1", "+1", "1 ", "1_0", "01", "0x1", "-1", "1__0", "\t2\v", "1\x00junk", "", "-0", "3"}
	strSpellings = []string{`'abc'`, `"abc"`, `'os'`, `'system'`, `'a\x41'`, `'a\x4'`, `'\777'`, `'\101\102'`, `'unterminated`, `'mismatch"`,
		"'caf\xe9'", `'a\qb'`, `'tail\'`, `''`, `'\a\b\f\v'`, `"it's"`, `'builtins'`, `'eval'`}
	uniSpellings = []string{`abc`, `os`, `system`, `a\u0041`, `\U0010ffff`, `\U00110000`, `\u12`, `\\u0041`, `tail\`, "caf\xe9", `\u00e9`, `\ud800`,
		`builtins`, `eval`, `numpy.ctypeslib.ctypes`}
	globals = [][2]string{{"collections", "OrderedDict"}, {"builtins", "list"}, {"__builtin__", "set"}, {"os", "system"},
		{"torch._utils", "_rebuild_tensor_v2"}, {"numpy", "dtype"}, {"copy_reg", "_reconstructor"}, {"x\xff", "y"}, {"", "y"},
		{"posix", "system"}, {"builtins", "getattr"}, {"numpy", "ctypeslib.ctypes.CDLL"}, {"subprocess", "Popen"}}
)

func (g *pickleGen) op(b ...byte)           { g.b = append(g.b, b...) }
func (g *pickleGen) text(s string)          { g.b = append(g.b, s...); g.b = append(g.b, '\n') }
func (g *pickleGen) pick(s []string) string { return s[g.r.IntN(len(s))] }

func (g *pickleGen) u32(x uint32) { g.b = binary.LittleEndian.AppendUint32(g.b, x) }

// gen returns one stream.
func (g *pickleGen) gen() []byte {
	g.b, g.depth, g.marks, g.memo = g.b[:0], 0, 0, g.memo[:0]
	switch g.r.IntN(4) {
	case 0:
		g.op(0x80, byte(g.r.IntN(7)))
	case 1:
		g.op(0x95)
		g.b = binary.LittleEndian.AppendUint64(g.b, uint64(g.r.IntN(200)))
	}
	for n := g.r.IntN(40); n > 0; n-- {
		g.action()
	}
	if g.r.IntN(10) > 0 {
		g.op('.')
	}
	if g.r.IntN(8) == 0 {
		// another pickle, or junk, after the first
		if g.r.IntN(2) == 0 {
			g.op('N', '.')
		} else {
			g.op(byte(g.r.IntN(256)), byte(g.r.IntN(256)))
		}
	}
	out := append([]byte(nil), g.b...)
	if g.r.IntN(6) == 0 && len(out) > 1 {
		out[g.r.IntN(len(out))] = byte(g.r.IntN(256)) // a flipped byte
	}
	if g.r.IntN(10) == 0 && len(out) > 1 {
		out = out[:g.r.IntN(len(out))] // truncated
	}
	return out
}

// action appends one opcode (with its arguments), mostly ones the stack
// can take.
func (g *pickleGen) action() {
	push := func() { g.depth++ }
	switch k := g.r.IntN(46); {
	case k < 3:
		g.op('N')
		push()
	case k < 5:
		g.op('I')
		g.text(g.pick(intSpellings))
		push()
	case k < 6:
		g.op('L')
		g.text(g.pick(intSpellings))
		push()
	case k < 7:
		g.op('F')
		g.text(g.pick(floatSpellings))
		push()
	case k < 9:
		g.op('J')
		g.u32(g.r.Uint32())
		push()
	case k < 10:
		g.op('K', byte(g.r.IntN(256)))
		push()
	case k < 11:
		n := g.r.IntN(10)
		g.op(0x8a, byte(n))
		for range n {
			g.op(byte(g.r.IntN(256)))
		}
		push()
	case k < 13:
		g.op('S')
		g.text(g.pick(strSpellings))
		push()
	case k < 15:
		g.op('V')
		g.text(g.pick(uniSpellings))
		push()
	case k < 18:
		s := g.pick(uniSpellings)
		if g.r.IntN(3) == 0 {
			s = string([]byte{0xed, 0xa0, 0x80}) // an encoded surrogate
		}
		g.op(0x8c, byte(len(s)))
		g.b = append(g.b, s...)
		push()
	case k < 19:
		s := g.pick(strSpellings)
		g.op('U', byte(len(s)))
		g.b = append(g.b, s...)
		push()
	case k < 20:
		n := g.r.IntN(6)
		g.op('C', byte(n))
		for range n {
			g.op(byte(g.r.IntN(256)))
		}
		push()
	case k < 21:
		g.op(0x96)
		g.b = binary.LittleEndian.AppendUint64(g.b, uint64(g.r.IntN(3)))
		for range g.b[len(g.b)-8] {
			g.op(byte(g.r.IntN(256)))
		}
		push()
	case k < 23:
		g.op([]byte("}])")[g.r.IntN(3)])
		push()
	case k < 24:
		g.op(0x8f)
		push()
	case k < 27:
		gl := globals[g.r.IntN(len(globals))]
		if g.r.IntN(2) == 0 {
			g.op('c')
			g.text(gl[0])
			g.text(gl[1])
			push()
		} else {
			for _, s := range gl {
				g.op(0x8c, byte(len(s)))
				g.b = append(g.b, s...)
			}
			g.op(0x93)
			push()
		}
	case k < 29:
		g.op('(')
		g.marks++
	case k < 31:
		g.op([]byte("tlde")[g.r.IntN(4)])
		if g.marks > 0 {
			g.marks--
		}
	case k < 32:
		g.op([]byte("u\x90\x91o1")[g.r.IntN(5)])
		if g.marks > 0 {
			g.marks--
		}
	case k < 34:
		g.op(0x85 + byte(g.r.IntN(3)))
	case k < 36:
		g.op([]byte("Rbas")[g.r.IntN(4)])
		g.depth--
	case k < 37:
		g.op(0x81 + byte(g.r.IntN(2))*0x11) // NEWOBJ, NEWOBJ_EX
	case k < 39:
		switch g.r.IntN(4) {
		case 0:
			g.op('p')
			g.text(g.pick(keySpellings))
		case 1:
			g.op('q', byte(g.r.IntN(4)))
		case 2:
			g.op('r')
			g.u32(uint32(g.r.IntN(4)))
		default:
			g.op(0x94)
		}
	case k < 41:
		switch g.r.IntN(3) {
		case 0:
			g.op('g')
			g.text(g.pick(keySpellings))
		case 1:
			g.op('h', byte(g.r.IntN(4)))
		default:
			g.op('j')
			g.u32(uint32(g.r.IntN(4)))
		}
		push()
	case k < 42:
		g.op([]byte("20")[g.r.IntN(2)])
	case k < 43:
		if g.r.IntN(2) == 0 {
			g.op('P')
			g.text(g.pick([]string{"0", "storage", "caf\xe9", ""}))
		} else {
			g.op('Q')
		}
	case k < 44:
		g.op(0x82+byte(g.r.IntN(3)), 0, 1, 0, 0)
	case k < 45:
		g.op(0x97 + byte(g.r.IntN(2)))
	default:
		g.op(byte(g.r.IntN(256))) // any byte at all
	}
}

// Spellings CPython accepts.
var (
	validInts   = []string{"0", "1", "00", "01", "010", "0x1f", "0o17", "0b101", "1_000", "+3", "-0", " 5", "5 ", "\t7\v", "12L", "0_0", "9999999999999999999999", "3\x00junk"}
	validFloats = []string{"1.5", "1e5", "1E+5", "inf", "-Infinity", "nan", ".5", "5.", "1.7976931348623157e308", "4.9e-324", "1e-400"}
	validKeys   = []string{"1", " 1", "+1", "1 ", "01", "\t1\v", "1\x00junk", "-0", "0_1"}
	validStrs   = []string{`'abc'`, `"abc"`, `'os'`, `'a\x41'`, `'\101\102'`, `'a\qb'`, `''`, `'\a\b\f\v'`, `"it's"`, `'\777'`}
)

// valid appends the pickling of one random well-formed value; it returns
// whether the value is hashable.
func (g *pickleGen) valid(depth int) bool {
	k := g.r.IntN(16)
	if depth > 3 {
		k = g.r.IntN(6)
	}
	switch k {
	case 0:
		g.op('N')
	case 1:
		g.op('I')
		g.text(g.pick(validInts))
	case 2:
		g.op('L')
		g.text(g.pick(validInts))
	case 3:
		g.op('F')
		g.text(g.pick(validFloats))
	case 4:
		g.op('S')
		g.text(g.pick(validStrs))
	case 5:
		s := g.pick(uniSpellings[:6])
		g.op(0x8c, byte(len(s)))
		g.b = append(g.b, s...)
	case 6:
		g.op('(')
		for n := g.r.IntN(4); n > 0; n-- {
			g.valid(depth + 1)
		}
		g.op('t')
	case 7:
		g.op(']')
		g.memoize()
		g.op('(')
		for n := g.r.IntN(4); n > 0; n-- {
			g.valid(depth + 1)
		}
		g.op('e')
		return false
	case 8:
		g.op('}')
		g.memoize()
		g.op('(')
		for n := g.r.IntN(3); n > 0; n-- {
			if !g.valid(depth + 1) {
				g.op('0', 'N') // replace an unhashable key with None
			}
			g.valid(depth + 1)
		}
		g.op('u')
		return false
	case 9:
		g.op(0x8f, '(')
		for n := g.r.IntN(3); n > 0; n-- {
			if !g.valid(depth + 1) {
				g.op('0', 'N')
			}
		}
		g.op(0x90)
		return false
	case 10, 11:
		gl := globals[g.r.IntN(len(globals))]
		if g.r.IntN(2) == 0 {
			g.op('c')
			g.text(gl[0])
			g.text(gl[1])
		} else {
			for _, s := range gl {
				g.op(0x8c, byte(len(s)))
				g.b = append(g.b, s...)
				g.memoize()
			}
			g.op(0x93)
		}
		g.op('(')
		for n := g.r.IntN(3); n > 0; n-- {
			g.valid(depth + 1)
		}
		g.op('t')
		g.op([]byte("R\x81")[g.r.IntN(2)])
		if g.r.IntN(3) == 0 {
			g.valid(depth + 1)
			g.op('b')
		}
	case 12:
		// A value stored and fetched back.
		g.valid(depth + 1)
		g.op('p')
		key := g.pick(validKeys)
		g.text(key)
		g.op('0', 'g')
		g.text(g.pick(validKeys))
	case 13:
		// A frame around a value, its end anywhere.
		start := len(g.b)
		g.op(0x95)
		g.b = binary.LittleEndian.AppendUint64(g.b, 0)
		h := g.valid(depth + 1)
		n := len(g.b) - start - 9
		if g.r.IntN(3) == 0 {
			n = g.r.IntN(n + 1)
		}
		binary.LittleEndian.PutUint64(g.b[start+1:], uint64(n))
		return h
	case 14:
		n := g.r.IntN(6)
		g.op('C', byte(n))
		for range n {
			g.op(byte(g.r.IntN(256)))
		}
	default:
		g.op('K', byte(g.r.IntN(256)))
	}
	return true
}

// memoize stores the value on top of the stack in one of the memo's ways.
func (g *pickleGen) memoize() {
	switch g.r.IntN(4) {
	case 0:
		g.op(0x94)
	case 1:
		g.op('q', byte(g.r.IntN(256)))
	case 2:
		g.op('p')
		g.text(g.pick(validKeys))
	}
}

// genValid returns a well-formed pickle, perhaps with a flipped byte.
func (g *pickleGen) genValid() []byte {
	g.b = g.b[:0]
	if g.r.IntN(2) == 0 {
		g.op(0x80, byte(g.r.IntN(6)))
	}
	g.valid(0)
	g.op('.')
	out := append([]byte(nil), g.b...)
	if g.r.IntN(4) == 0 {
		out[g.r.IntN(len(out))] ^= byte(1 << g.r.IntN(8))
	}
	return out
}

// literalGen writes Python literal expressions for the .npy header
// differential test: every quoting, prefix, escape, number spelling and
// container, comments and line continuations, with small damage.
type literalGen struct {
	r *rand.Rand
	b strings.Builder
}

var (
	litStrs = []string{`'abc'`, `"abc"`, `'''a'b'''`, `"""x"""`, `r'\d'`, `b'\x00'`, `u'é'`, `R"x\y"`, `rb'\n'`, `f'x'`, `'\x4'`,
		`'\N{LATIN SMALL LETTER A}'`, `'\u00e9'`, `'\U0001F600'`, `'a' 'b'`, `'a' b'b'`, `'\777'`, `'\q'`, `'|O'`, `'<f4'`,
		`'object'`, `"O8"`, `'i4, O'`, `'(2,)O'`, `'it\'s'`, `"multi
line"`, `'\
joined'`, `b'é'`}
	litNums = []string{"0", "1", "00", "010", "0x1F", "0o17", "0b1", "1_000", "1__0", "1_", "1.5", ".5", "5.", "1e5", "1E-5", "1e",
		"1j", "2.5J", "-1", "+2", "--1", "1+2j", "-1-2j", "1+2", "0_0", "9" + strings.Repeat("9", 4300), "1.0e400", "0xg"}
	litWords = []string{"True", "False", "None", "set()", "...", "Ellipsis", "set([1])", "x"}
)

func (g *literalGen) write(s string) { g.b.WriteString(s) }

func (g *literalGen) value(depth int) {
	if g.r.IntN(8) == 0 {
		g.write(g.pick([]string{" ", "\t", "\n", " # c\n", "\\\n"}))
	}
	k := g.r.IntN(9)
	if depth > 3 {
		k = g.r.IntN(3)
	}
	switch k {
	case 0:
		g.write(g.pick(litStrs))
	case 1:
		g.write(g.pick(litNums))
	case 2:
		g.write(g.pick(litWords))
	case 3, 4:
		open, close := "([{"[g.r.IntN(3)], ")]}"
		closer := close[strings.IndexByte("([{", open)]
		g.b.WriteByte(open)
		for n := g.r.IntN(4); n > 0; n-- {
			g.value(depth + 1)
			if open == '{' && g.r.IntN(3) > 0 {
				g.write(": ")
				g.value(depth + 1)
			}
			if n > 1 || g.r.IntN(2) == 0 {
				g.write(", ")
			}
		}
		g.b.WriteByte(closer)
	default:
		// a .npy header
		g.write("{'descr': ")
		g.value(depth + 1)
		g.write(", 'fortran_order': ")
		g.write(g.pick([]string{"False", "True", "0"}))
		g.write(", 'shape': ")
		g.write(g.pick([]string{"(3,)", "()", "(2, 3)", "[3]"}))
		g.write(g.pick([]string{", }", "}", ",}\n", "} # end"}))
	}
}

func (g *literalGen) pick(s []string) string { return s[g.r.IntN(len(s))] }

func (g *literalGen) gen() []byte {
	g.b.Reset()
	g.value(0)
	out := []byte(g.b.String())
	if g.r.IntN(6) == 0 && len(out) > 1 {
		i := g.r.IntN(len(out))
		out = append(out[:i], out[i+1:]...) // a character lost
	}
	return out
}
