package audit

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// lexer reads the JSON of one event. It exists for speed: `audit verify`
// reads every leaf, and a general-purpose JSON decoder spent more time
// validating than everything else verification did. It need not be strict:
// every decoded event is re-encoded canonically and compared byte for byte
// with what is stored, so any input it reads leniently (whitespace, an odd
// escape, invalid UTF-8, a duplicate key) fails that comparison. What it
// must be is safe: on any input it returns or errors, never panics or
// loops (FuzzDecodeEvent).
type lexer struct {
	b   []byte
	i   int
	buf []byte
}

var errSyntax = errors.New("malformed JSON")

func (l *lexer) reset(b []byte) { l.b, l.i = b, 0 }

func (l *lexer) skipSpace() {
	for l.i < len(l.b) {
		switch l.b[l.i] {
		case ' ', '\t', '\n', '\r':
			l.i++
		default:
			return
		}
	}
}

func (l *lexer) peek() byte {
	l.skipSpace()
	if l.i < len(l.b) {
		return l.b[l.i]
	}
	return 0
}

func (l *lexer) expect(c byte) error {
	if l.peek() != c {
		return fmt.Errorf("%w: expected %q at byte %d", errSyntax, c, l.i)
	}
	l.i++
	return nil
}

// member moves to the next member of an object or element of an array:
// more is false once the closing byte is consumed.
func (l *lexer) member(first *bool, closing byte) (more bool, err error) {
	if l.peek() == closing {
		l.i++
		return false, nil
	}
	if !*first {
		if err := l.expect(','); err != nil {
			return false, err
		}
	}
	*first = false
	return true, nil
}

// key reads an object key and its colon. Keys are returned raw (escapes
// kept; no canonical leaf escapes a schema key's characters) and valid
// until the next read; switching on string(key) does not allocate.
func (l *lexer) key() ([]byte, error) {
	raw, err := l.rawString()
	if err != nil {
		return nil, err
	}
	if err := l.expect(':'); err != nil {
		return nil, err
	}
	return raw, nil
}

// rawString reads a string and returns its bytes between the quotes.
func (l *lexer) rawString() ([]byte, error) {
	if err := l.expect('"'); err != nil {
		return nil, err
	}
	start := l.i
	for {
		j := bytes.IndexByte(l.b[l.i:], '"')
		if j < 0 {
			return nil, fmt.Errorf("%w: unterminated string", errSyntax)
		}
		end := l.i + j
		// The quote ends the string unless an odd run of backslashes
		// escapes it.
		n := 0
		for k := end - 1; k >= start && l.b[k] == '\\'; k-- {
			n++
		}
		l.i = end + 1
		if n%2 == 0 {
			return l.b[start:end], nil
		}
	}
}

// str reads a string value, unescaped.
func (l *lexer) str() (string, error) {
	raw, err := l.rawString()
	if err != nil {
		return "", err
	}
	if bytes.IndexByte(raw, '\\') < 0 {
		if s, ok := interned[string(raw)]; ok {
			return s, nil
		}
		return string(raw), nil
	}
	l.buf = l.buf[:0]
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		if c != '\\' {
			l.buf = append(l.buf, c)
			continue
		}
		i++
		if i >= len(raw) {
			return "", fmt.Errorf("%w: bad escape", errSyntax)
		}
		switch raw[i] {
		case '"', '\\', '/':
			l.buf = append(l.buf, raw[i])
		case 'b':
			l.buf = append(l.buf, '\b')
		case 'f':
			l.buf = append(l.buf, '\f')
		case 'n':
			l.buf = append(l.buf, '\n')
		case 'r':
			l.buf = append(l.buf, '\r')
		case 't':
			l.buf = append(l.buf, '\t')
		case 'u':
			r, n, err := hex4(raw[i+1:])
			if err != nil {
				return "", err
			}
			i += n
			if utf16.IsSurrogate(r) {
				if i+6 < len(raw) && raw[i+1] == '\\' && raw[i+2] == 'u' {
					if r2, n2, err := hex4(raw[i+3:]); err == nil {
						r = utf16.DecodeRune(r, r2)
						i += 2 + n2
					}
				}
			}
			l.buf = utf8.AppendRune(l.buf, r)
		default:
			return "", fmt.Errorf("%w: bad escape", errSyntax)
		}
	}
	return string(l.buf), nil
}

func hex4(b []byte) (rune, int, error) {
	if len(b) < 4 {
		return 0, 0, fmt.Errorf("%w: bad \\u escape", errSyntax)
	}
	v, err := strconv.ParseUint(string(b[:4]), 16, 32)
	if err != nil {
		return 0, 0, fmt.Errorf("%w: bad \\u escape", errSyntax)
	}
	return rune(v), 4, nil
}

// number returns a number's bytes.
func (l *lexer) number() ([]byte, error) {
	l.skipSpace()
	start := l.i
	for l.i < len(l.b) {
		c := l.b[l.i]
		if c >= '0' && c <= '9' || c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E' {
			l.i++
			continue
		}
		break
	}
	if l.i == start {
		return nil, fmt.Errorf("%w: expected a number at byte %d", errSyntax, start)
	}
	return l.b[start:l.i], nil
}

func (l *lexer) integer() (int64, error) {
	n, err := l.number()
	if err != nil {
		return 0, err
	}
	return strconv.ParseInt(string(n), 10, 64)
}

func (l *lexer) float() (float64, error) {
	n, err := l.number()
	if err != nil {
		return 0, err
	}
	return strconv.ParseFloat(string(n), 64)
}

// boolean reads true or false.
func (l *lexer) boolean() (bool, error) {
	l.skipSpace()
	switch {
	case len(l.b)-l.i >= 4 && string(l.b[l.i:l.i+4]) == "true":
		l.i += 4
		return true, nil
	case len(l.b)-l.i >= 5 && string(l.b[l.i:l.i+5]) == "false":
		l.i += 5
		return false, nil
	}
	return false, fmt.Errorf("%w: expected true or false at byte %d", errSyntax, l.i)
}

// end reports an error if anything but space follows.
func (l *lexer) end() error {
	if l.peek() != 0 || l.i < len(l.b) {
		return errors.New("data after the event")
	}
	return nil
}
