package pickle

import (
	"math"
	"strconv"
	"unicode/utf8"

	"github.com/modelgate/modelgate/modelscan/internal/pystr"
)

// The text opcodes of protocols 0 and 1 carry numbers and strings as
// lines of text. CPython's C unpickler (Modules/_pickle.c, what
// pickle.load runs) parses them with its own routines; the walker accepts
// exactly what those accept, so that a line it reads as an argument is
// the argument the loader reads, and a pickle the loader refuses is not
// taken for a valid one.

// pySpace is Py_ISSPACE: the ASCII whitespace CPython's parsers skip.
func pySpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r'
}

// cString returns b up to its first NUL: the C routines see a line as a
// C string.
func cString(b []byte) []byte {
	for i, c := range b {
		if c == 0 {
			return b[:i]
		}
	}
	return b
}

// maxStrDigits is sys.get_int_max_str_digits()'s default: longer decimal
// literals are refused (Python 3.11 and later).
const maxStrDigits = 4300

// pyInt is an integer parsed from text: its value when it fits in an
// int64 (ok), whether it is negative, and whether it overflowed.
type pyInt struct {
	v   int64
	neg bool
	big bool // does not fit in an int64
}

// signStart skips the spaces before a number and its sign, as both
// PyLong_FromString and strtol do, and returns where the digits start and
// whether the sign was a minus.
func signStart(s []byte) (int, bool) {
	i := 0
	for i < len(s) && pySpace(s[i]) {
		i++
	}
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		return i + 1, s[i] == '-'
	}
	return i, false
}

// pyLongFromString parses s as PyLong_FromString(s, NULL, base) does:
// whitespace around, a sign, for base 0 a 0x/0o/0b prefix (and no other
// leading zero unless the number is zero), single underscores between
// digits, nothing else.
func pyLongFromString(s []byte, base int) (pyInt, bool) {
	s = cString(s)
	var r pyInt
	i, neg := signStart(s)
	r.neg = neg
	errorIfNonzero := false
	at := func(k int) byte {
		if i+k < len(s) {
			return s[i+k]
		}
		return 0
	}
	if base == 0 {
		switch {
		case at(0) != '0':
			base = 10
		case at(1) == 'x' || at(1) == 'X':
			base = 16
		case at(1) == 'o' || at(1) == 'O':
			base = 8
		case at(1) == 'b' || at(1) == 'B':
			base = 2
		default:
			errorIfNonzero, base = true, 10
		}
	}
	if at(0) == '0' && (base == 16 && (at(1) == 'x' || at(1) == 'X') || base == 8 && (at(1) == 'o' || at(1) == 'O') || base == 2 && (at(1) == 'b' || at(1) == 'B')) {
		i += 2
		if at(0) == '_' {
			i++
		}
	}
	if at(0) == '_' {
		return r, false
	}
	digits, nonzero := 0, false
	prev := byte(0)
	var v uint64
	for i < len(s) && (pystr.Digit(s[i]) < base || s[i] == '_') {
		c := s[i]
		if c == '_' {
			if prev == '_' {
				return r, false
			}
		} else {
			d := uint64(pystr.Digit(c))
			digits++
			if d != 0 {
				nonzero = true
			}
			if !r.big {
				if v > (math.MaxUint64-d)/uint64(base) {
					r.big = true
				} else {
					v = v*uint64(base) + d
				}
			}
		}
		prev = c
		i++
	}
	if prev == '_' || digits == 0 {
		return r, false
	}
	if errorIfNonzero && nonzero {
		return r, false
	}
	if base&(base-1) != 0 && digits > maxStrDigits {
		return r, false
	}
	for i < len(s) && pySpace(s[i]) {
		i++
	}
	if i != len(s) {
		return r, false
	}
	r.setMagnitude(v)
	return r, true
}

func (r *pyInt) setMagnitude(v uint64) {
	if r.big || v > math.MaxInt64 {
		r.big = true
		return
	}
	r.v = int64(v)
	if r.neg {
		r.v = -r.v
	}
}

// strtolBase0 is glibc's strtol(s, &end, 0), which the INT opcode tries
// first: it reports whether the whole line (up to its newline or a NUL)
// is the number. A leading 0 means octal here, unlike in Python.
func strtolBase0(line []byte) (pyInt, bool) {
	s := cString(line)
	var r pyInt
	i, neg := signStart(s)
	r.neg = neg
	base := 10
	if i < len(s) && s[i] == '0' {
		base = 8
		if i+2 < len(s) && (s[i+1] == 'x' || s[i+1] == 'X') && pystr.Digit(s[i+2]) < 16 {
			base, i = 16, i+2
		}
	}
	start := i
	var v uint64
	for i < len(s) && pystr.Digit(s[i]) < base {
		d := uint64(pystr.Digit(s[i]))
		if v > (math.MaxUint64-d)/uint64(base) {
			r.big = true
		} else {
			v = v*uint64(base) + d
		}
		i++
	}
	if i == start {
		// No digits: strtol returns 0 with the end at the string's start,
		// which is a success when that is the line's end or a NUL.
		return pyInt{}, len(line) > 0 && (line[0] == '\n' || line[0] == 0)
	}
	// strtol succeeds when what is left is the newline or the C string's
	// end; overflow (ERANGE) sends the INT opcode to PyLong_FromString.
	if i < len(s) && s[i] != '\n' {
		return r, false
	}
	r.setMagnitude(v)
	if r.big {
		return r, false
	}
	return r, true
}

// parseINT parses the INT opcode's line (newline included).
func parseINT(line []byte) (pyInt, bool) {
	if r, ok := strtolBase0(line); ok {
		return r, true
	}
	return pyLongFromString(line, 0)
}

// parseLONG parses the LONG opcode's line (newline included): a Python
// 2 long, its trailing L optional.
func parseLONG(line []byte) (pyInt, bool) {
	if n := len(line); n >= 2 && line[n-2] == 'L' {
		line = line[:n-2] // where the C code writes its NUL
	}
	return pyLongFromString(line, 0)
}

// parseFLOAT reports whether the FLOAT opcode's line (newline included)
// is a float as PyOS_string_to_double reads it: no leading whitespace, a
// sign, digits with a point and an exponent, or inf, infinity or nan;
// then the newline. A literal that overflows to infinity is refused.
func parseFLOAT(line []byte) bool {
	s := cString(line)
	i := 0
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		i++
	}
	end := func(j int) bool { return j == len(s) || s[j] == '\n' }
	for _, word := range []string{"infinity", "inf", "nan"} {
		if len(s)-i >= len(word) && equalFoldASCII(s[i:i+len(word)], word) {
			return end(i + len(word))
		}
	}
	digits := 0
	start := i
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i, digits = i+1, digits+1
	}
	if i < len(s) && s[i] == '.' {
		i++
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i, digits = i+1, digits+1
		}
	}
	if digits == 0 {
		return false
	}
	mantissa := s[start:i]
	exp := 0
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		j := i + 1
		neg := false
		if j < len(s) && (s[j] == '+' || s[j] == '-') {
			neg = s[j] == '-'
			j++
		}
		k := j
		for j < len(s) && s[j] >= '0' && s[j] <= '9' {
			if exp < 1<<20 {
				exp = exp*10 + int(s[j]-'0')
			}
			j++
		}
		if j > k { // an exponent without digits is not part of the number
			i = j
			if neg {
				exp = -exp
			}
		}
	}
	if !end(i) {
		return false
	}
	return !overflows(mantissa, exp)
}

// overflows reports whether digits (with an optional point) times 10**exp
// exceeds the largest float64, which PyOS_string_to_double refuses.
func overflows(mantissa []byte, exp int) bool {
	lead, point, seen := 0, -1, false
	intDigits := 0
	for _, c := range mantissa {
		if c == '.' {
			point = 0
			continue
		}
		if !seen && c == '0' {
			if point >= 0 {
				lead--
			}
			continue
		}
		seen = true
		if point < 0 {
			intDigits++
		}
	}
	if !seen {
		return false // zero
	}
	// The number is about 10**(magnitude-1).
	magnitude := intDigits + exp
	if intDigits == 0 {
		magnitude = lead + exp
	}
	switch {
	case magnitude > 309:
		return true
	case magnitude < 308:
		return false
	}
	// Near the limit: let the float parser decide.
	f, err := parseFloatDigits(mantissa, exp)
	return err != nil || math.IsInf(f, 0)
}

func equalFoldASCII(b []byte, lower string) bool {
	for i := range b {
		c := b[i]
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != lower[i] {
			return false
		}
	}
	return true
}

// decodeEscape is PyBytes_DecodeEscape, which the STRING opcode applies to
// its quoted operand: \\ \' \" \a \b \f \n \r \t \v, up to three octal
// digits, \x and two hex digits (else an error), a backslash and newline
// dropped, any other escape kept as written; a trailing backslash is an
// error.
func decodeEscape(s []byte) ([]byte, bool) {
	out, err := pystr.Unescape(string(s), true)
	return []byte(out), err == nil
}

// decodeRawUnicodeEscape is the raw_unicode_escape codec, which the
// UNICODE opcode applies: bytes are Latin-1 characters, except that a
// backslash with u and four hex digits, or U and eight, is that code
// point (an error when the digits are missing or it is past U+10FFFF); a
// backslash with anything else is kept, with what follows it. It returns
// UTF-8.
func decodeRawUnicodeEscape(s []byte) ([]byte, bool) {
	out := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '\\' {
			out = utf8.AppendRune(out, rune(c))
			continue
		}
		if i+1 == len(s) {
			out = append(out, '\\')
			break
		}
		i++
		c = s[i]
		count := 0
		switch c {
		case 'u':
			count = 4
		case 'U':
			count = 8
		default:
			out = append(out, '\\')
			out = utf8.AppendRune(out, rune(c))
			continue
		}
		var ch uint32
		for ; count > 0; count-- {
			i++
			if i >= len(s) {
				return nil, false
			}
			d := pystr.Digit(s[i])
			if d >= 16 {
				return nil, false
			}
			ch = ch<<4 | uint32(d)
		}
		if ch > 0x10FFFF {
			return nil, false
		}
		out = appendCodePoint(out, ch)
	}
	return out, true
}

// appendCodePoint appends a code point as UTF-8, surrogates included
// (as CPython's "surrogatepass" writes them).
func appendCodePoint(b []byte, ch uint32) []byte {
	if ch >= 0xD800 && ch <= 0xDFFF {
		return append(b, 0xED, byte(0x80|(ch>>6)&0x3F), byte(0x80|ch&0x3F))
	}
	return utf8.AppendRune(b, rune(ch))
}

// validUTF8Surrogates reports whether b is UTF-8 as CPython decodes it
// with "surrogatepass": valid UTF-8, where encoded surrogates are allowed.
// The BINUNICODE opcodes decode their bytes so.
func validUTF8Surrogates(b []byte) bool {
	if utf8.Valid(b) {
		return true
	}
	for i := 0; i < len(b); {
		if b[i] < utf8.RuneSelf {
			i++
			continue
		}
		if b[i] == 0xED && i+2 < len(b) && b[i+1] >= 0xA0 && b[i+1] <= 0xBF && b[i+2]&0xC0 == 0x80 {
			i += 3 // a surrogate
			continue
		}
		r, n := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && n <= 1 {
			return false
		}
		i += n
	}
	return true
}

// ascii reports whether every byte of b is ASCII: the STRING opcodes'
// bytes are decoded with the unpickler's encoding, ASCII by default.
func ascii(b []byte) bool {
	for _, c := range b {
		if c >= 0x80 {
			return false
		}
	}
	return true
}

func parseFloatDigits(mantissa []byte, exp int) (float64, error) {
	return strconv.ParseFloat(string(mantissa)+"e"+strconv.Itoa(exp), 64)
}
