// Package pystr holds the parts of Python's text semantics that the
// scanner's readers of Python-made formats share: the escapes of string
// literals and of the unicode_escape codec, and the character classes
// of Python's str methods and re module.
package pystr

import (
	"errors"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/runenames"
)

// Unescape applies the escapes of a Python string literal's body, which
// are the unicode_escape codec's: \n \xNN \uNNNN \UNNNNNNNN \N{NAME}
// \ooo and the rest; an unknown escape stays as written. In a bytes
// literal (bytesLit) \u, \U and \N are not escapes and \xNN is a byte.
// A lone surrogate is written as its three-byte WTF-8 form, as Python
// can hold one and Go cannot.
func Unescape(body string, bytesLit bool) (string, error) {
	if strings.IndexByte(body, '\\') < 0 {
		return body, nil
	}
	var out strings.Builder
	for i := 0; i < len(body); i++ {
		c := body[i]
		if c != '\\' {
			out.WriteByte(c)
			continue
		}
		i++
		if i >= len(body) {
			return "", errors.New(`\ at end of string`)
		}
		switch c = body[i]; c {
		case '\n':
		case '\\', '\'', '"':
			out.WriteByte(c)
		case 'a':
			out.WriteByte('\a')
		case 'b':
			out.WriteByte('\b')
		case 'f':
			out.WriteByte('\f')
		case 'n':
			out.WriteByte('\n')
		case 'r':
			out.WriteByte('\r')
		case 't':
			out.WriteByte('\t')
		case 'v':
			out.WriteByte('\v')
		case '0', '1', '2', '3', '4', '5', '6', '7':
			v := uint32(c - '0')
			for k := 0; k < 2 && i+1 < len(body) && body[i+1] >= '0' && body[i+1] <= '7'; k++ {
				i++
				v = v<<3 + uint32(body[i]-'0')
			}
			writeCode(&out, v, bytesLit)
		case 'x':
			if i+2 >= len(body) || Digit(body[i+1]) >= 16 || Digit(body[i+2]) >= 16 {
				return "", errors.New(`truncated \xXX escape`)
			}
			writeCode(&out, uint32(Digit(body[i+1])<<4|Digit(body[i+2])), bytesLit)
			i += 2
		case 'u', 'U', 'N':
			if bytesLit {
				out.WriteByte('\\')
				out.WriteByte(c)
				continue
			}
			if c == 'N' {
				end := strings.IndexByte(body[i:], '}')
				if i+1 >= len(body) || body[i+1] != '{' || end < 0 {
					return "", errors.New(`malformed \N character escape`)
				}
				r, ok := RuneNamed(body[i+2 : i+end])
				if !ok {
					return "", errors.New("unknown Unicode character name")
				}
				out.WriteRune(r)
				i += end
				continue
			}
			n := 4
			if c == 'U' {
				n = 8
			}
			if i+n >= len(body) {
				return "", errors.New(`truncated \` + string(c) + " escape")
			}
			var v uint32
			for k := 1; k <= n; k++ {
				d := Digit(body[i+k])
				if d >= 16 {
					return "", errors.New(`truncated \` + string(c) + " escape")
				}
				v = v<<4 | uint32(d)
			}
			if v > unicode.MaxRune {
				return "", errors.New("illegal Unicode character")
			}
			writeCode(&out, v, false)
			i += n
		default:
			out.WriteByte('\\')
			out.WriteByte(c)
		}
	}
	return out.String(), nil
}

// writeCode writes a code point, or a byte in a bytes literal.
func writeCode(out *strings.Builder, v uint32, bytesLit bool) {
	if bytesLit {
		out.WriteByte(byte(v))
		return
	}
	if v >= 0xD800 && v <= 0xDFFF {
		out.Write([]byte{0xED, byte(0x80 | (v>>6)&0x3F), byte(0x80 | v&0x3F)})
		return
	}
	out.WriteRune(rune(v))
}

// BackslashReplace is what str.encode("ascii", "backslashreplace")
// makes of s: every non-ASCII character written as \xNN, \uNNNN or
// \UNNNNNNNN.
func BackslashReplace(s string) string {
	var b strings.Builder
	const hex = "0123456789abcdef"
	for _, r := range s {
		switch {
		case r < utf8.RuneSelf:
			b.WriteByte(byte(r))
			continue
		case r < 0x100:
			b.WriteString(`\x`)
			b.WriteByte(hex[r>>4])
			b.WriteByte(hex[r&15])
			continue
		}
		shift := 12
		if r < 0x10000 {
			b.WriteString(`\u`)
		} else {
			b.WriteString(`\U`)
			shift = 28
		}
		for ; shift >= 0; shift -= 4 {
			b.WriteByte(hex[r>>shift&15])
		}
	}
	return b.String()
}

// RuneNamed finds a character by its Unicode name, as \N{...} does.
func RuneNamed(name string) (rune, bool) {
	r, ok := unicodeNames()[strings.ToUpper(name)]
	return r, ok
}

var unicodeNames = sync.OnceValue(func() map[string]rune {
	m := map[string]rune{}
	for r := rune(0); r <= unicode.MaxRune; r++ {
		if n := runenames.Name(r); n != "" && !strings.HasPrefix(n, "<") {
			m[n] = r
		}
	}
	return m
})

// Digit is an ASCII character's value as a digit in the bases up to 36
// that int() reads, or 36 when it is none.
func Digit(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'a' && c <= 'z':
		return int(c-'a') + 10
	case c >= 'A' && c <= 'Z':
		return int(c-'A') + 10
	}
	return 36
}

// IsSpace is str.isspace for one character, which is what \s matches
// in a Python str pattern: the ASCII blanks, the information
// separators \x1c-\x1f and Unicode's spaces and line separators.
func IsSpace(r rune) bool {
	switch {
	case r == ' ' || r >= '\t' && r <= '\r' || r >= 0x1c && r <= 0x1f:
		return true
	case r < 0x80:
		return false
	case r == 0x85 || r == 0xa0 || r == 0x1680 || r >= 0x2000 && r <= 0x200a || r == 0x2028 || r == 0x2029 ||
		r == 0x202f || r == 0x205f || r == 0x3000:
		return true
	}
	return false
}

// IsDigit reports what \d matches in a Python str pattern: a decimal
// digit of any script.
func IsDigit(r rune) bool { return r >= '0' && r <= '9' || r >= 0x80 && unicode.Is(unicode.Nd, r) }

// DigitValue is a decimal digit's value, in any script, or -1. Unicode
// places every script's digits as a run of ten from zero.
func DigitValue(r rune) int {
	if r >= '0' && r <= '9' {
		return int(r - '0')
	}
	if r < 0x80 || !unicode.Is(unicode.Nd, r) {
		return -1
	}
	// Runs can follow each other directly (the mathematical digits), so
	// the value is the offset from the start of the block, in tens.
	start := r
	for unicode.Is(unicode.Nd, start-1) {
		start--
	}
	return int(r-start) % 10
}

// IsWord reports what \w matches in a Python str pattern: letters,
// numbers of any kind and the underscore.
func IsWord(r rune) bool {
	if r < utf8.RuneSelf {
		return r == '_' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z'
	}
	return unicode.IsLetter(r) || unicode.IsNumber(r)
}

// IsIdentifier is str.isidentifier: a character that may start a Python
// name followed by characters that may continue one.
func IsIdentifier(s string) bool {
	for i, r := range s {
		if i == 0 && !identStart(r) || i > 0 && !identContinue(r) {
			return false
		}
	}
	return s != ""
}

func identStart(r rune) bool {
	if r < utf8.RuneSelf {
		return r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z'
	}
	return unicode.IsLetter(r) || unicode.Is(unicode.Nl, r) || unicode.Is(unicode.Other_ID_Start, r)
}

func identContinue(r rune) bool {
	if r < utf8.RuneSelf {
		return r == '_' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z'
	}
	return identStart(r) || unicode.In(r, unicode.Mn, unicode.Mc, unicode.Nd, unicode.Pc, unicode.Other_ID_Continue)
}
