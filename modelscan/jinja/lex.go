package jinja

import (
	"fmt"
	"math/big"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/modelgate/modelgate/modelscan/internal/pystr"
)

// SyntaxError is a template jinja2 would refuse, and where.
type SyntaxError struct {
	Line int
	Msg  string
}

func (e *SyntaxError) Error() string { return fmt.Sprintf("line %d: %s", e.Line, e.Msg) }

type tokenKind uint8

const (
	tEOF tokenKind = iota
	tData
	tVariableBegin
	tVariableEnd
	tBlockBegin
	tBlockEnd
	tName
	tString
	tInteger
	tFloat
	tOp
)

var kindNames = [...]string{"end of template", "template data", "begin of print statement", "end of print statement",
	"begin of statement block", "end of statement block", "name", "string", "integer", "float", "operator"}

type token struct {
	kind tokenKind
	val  string // a name, an operator, a string's value, an integer's decimal digits, template data
	num  float64
	line int
}

func (t token) String() string {
	switch t.kind {
	case tName, tOp:
		return t.val
	}
	return kindNames[t.kind]
}

// operators, longest first, as jinja2's lexer tries them.
var operators = []string{"//", "**", "==", "!=", ">=", "<=", "+", "-", "/", "*", "%", "~", "[", "]", "(", ")",
	"{", "}", ">", "<", "=", ".", ":", "|", ",", ";"}

// lexer is jinja2.lexer.Lexer.tokeniter and wrap with the default
// delimiters, trim_blocks and lstrip_blocks off, as a loop over the
// source rather than its table of regular expressions.
type lexer struct {
	src  string
	pos  int
	toks []token
}

func (l *lexer) line(pos int) int { return 1 + strings.Count(l.src[:min(pos, len(l.src))], "\n") }

func (l *lexer) fail(pos int, format string, args ...any) error {
	return &SyntaxError{Line: l.line(pos), Msg: fmt.Sprintf(format, args...)}
}

func (l *lexer) emit(kind tokenKind, val string, pos int) {
	l.toks = append(l.toks, token{kind: kind, val: val, line: l.line(pos)})
}

// lex splits a template into tokens.
func lex(src string) ([]token, error) {
	// Line breaks are \n, \r\n and \r; one trailing newline is dropped
	// (keep_trailing_newline is off).
	src = strings.ReplaceAll(strings.ReplaceAll(src, "\r\n", "\n"), "\r", "\n")
	src = strings.TrimSuffix(src, "\n")
	l := &lexer{src: src}
	for l.pos < len(src) {
		i := tagStart(src, l.pos)
		if i < 0 {
			l.emit(tData, src[l.pos:], l.pos)
			break
		}
		text := src[l.pos:i]
		if end, sign, ok := l.rawBegin(i); ok {
			l.data(text, sign)
			if err := l.raw(end); err != nil {
				return nil, err
			}
			continue
		}
		kind := src[i+1]
		l.pos = i + 2
		sign := byte(0)
		if l.pos < len(src) && (src[l.pos] == '-' || src[l.pos] == '+') {
			sign = src[l.pos]
			l.pos++
		}
		l.data(text, sign)
		var err error
		switch kind {
		case '#':
			err = l.comment()
		case '%':
			l.emit(tBlockBegin, "", i)
			err = l.tag(tBlockEnd)
		default:
			l.emit(tVariableBegin, "", i)
			err = l.tag(tVariableEnd)
		}
		if err != nil {
			return nil, err
		}
	}
	return append(l.toks, token{kind: tEOF, line: l.line(len(src))}), nil
}

// data emits the text before a tag; a - on the tag strips its trailing
// whitespace.
func (l *lexer) data(text string, sign byte) {
	if sign == '-' {
		text = strings.TrimRightFunc(text, pystr.IsSpace)
	}
	if text != "" {
		l.emit(tData, text, l.pos)
	}
}

func tagStart(src string, from int) int {
	for i := from; i+1 < len(src); i++ {
		if src[i] == '{' && (src[i+1] == '{' || src[i+1] == '%' || src[i+1] == '#') {
			return i
		}
	}
	return -1
}

// spaceAt returns the end of the whitespace (Python's \s*) at i.
func spaceAt(s string, i int) int {
	for i < len(s) {
		r, n := utf8.DecodeRuneInString(s[i:])
		if !pystr.IsSpace(r) {
			break
		}
		i += n
	}
	return i
}

// rawBegin matches {%(-|+|)\s*raw\s*(-%}\s*|%}) at i.
func (l *lexer) rawBegin(i int) (end int, sign byte, ok bool) {
	s := l.src
	if !strings.HasPrefix(s[i:], "{%") {
		return 0, 0, false
	}
	j := i + 2
	if j < len(s) && (s[j] == '-' || s[j] == '+') {
		sign = s[j]
		j++
	}
	j = spaceAt(s, j)
	if !strings.HasPrefix(s[j:], "raw") {
		return 0, 0, false
	}
	j = spaceAt(s, j+3)
	switch {
	case strings.HasPrefix(s[j:], "-%}"):
		return spaceAt(s, j+3), sign, true
	case strings.HasPrefix(s[j:], "%}"):
		return j + 2, sign, true
	}
	return 0, 0, false
}

// raw reads a raw block's body, up to {% endraw %}, as data.
func (l *lexer) raw(from int) error {
	s := l.src
	for i := from; ; i++ {
		i = tagStartBlock(s, i)
		if i < 0 {
			if from >= len(s) {
				l.pos = from
				return nil
			}
			return l.fail(from, "Missing end of raw directive")
		}
		j := i + 2
		sign := byte(0)
		if j < len(s) && (s[j] == '-' || s[j] == '+') {
			sign = s[j]
			j++
		}
		j = spaceAt(s, j)
		if !strings.HasPrefix(s[j:], "endraw") {
			continue
		}
		j = spaceAt(s, j+6)
		end := 0
		switch {
		case strings.HasPrefix(s[j:], "+%}"):
			end = j + 3
		case strings.HasPrefix(s[j:], "-%}"):
			end = spaceAt(s, j+3)
		case strings.HasPrefix(s[j:], "%}"):
			end = j + 2
		default:
			continue
		}
		l.pos = from
		l.data(s[from:i], sign)
		l.pos = end
		return nil
	}
}

func tagStartBlock(s string, from int) int {
	if k := strings.Index(s[from:], "{%"); k >= 0 {
		return from + k
	}
	return -1
}

// comment skips a comment's body, up to +#}, -#} or #}.
func (l *lexer) comment() error {
	k := strings.Index(l.src[l.pos:], "#}")
	if k < 0 {
		if l.pos >= len(l.src) {
			return nil
		}
		return l.fail(l.pos, "Missing end of comment tag")
	}
	end := l.pos + k + 2
	if k > 0 && l.src[l.pos+k-1] == '-' {
		end = spaceAt(l.src, end)
	}
	l.pos = end
	return nil
}

// tag reads the tokens of a block or print tag up to its end.
func (l *lexer) tag(end tokenKind) error {
	s := l.src
	var balance []byte
	for l.pos < len(s) {
		rest := s[l.pos:]
		if len(balance) == 0 {
			if n := tagEnd(rest, end); n > 0 {
				l.emit(end, "", l.pos)
				l.pos += n
				if n >= 3 && rest[0] == '-' {
					l.pos = spaceAt(s, l.pos)
				}
				return nil
			}
		}
		if n := spaceAt(s, l.pos); n > l.pos {
			l.pos = n
			continue
		}
		start := l.pos
		if n := floatAt(s, l.pos); n > 0 {
			text := strings.ReplaceAll(rest[:n], "_", "")
			for _, r := range text {
				if r >= utf8.RuneSelf {
					return l.fail(start, "invalid character %q in a number", r)
				}
			}
			f, err := strconv.ParseFloat(text, 64)
			if err != nil && !isRange(err) {
				return l.fail(start, "invalid float %q", text)
			}
			l.toks = append(l.toks, token{kind: tFloat, val: text, num: f, line: l.line(start)})
			l.pos += n
			continue
		}
		if n := integerAt(rest); n > 0 {
			v, err := integerValue(rest[:n])
			if err != nil {
				return l.fail(start, "%v", err)
			}
			l.emit(tInteger, v, start)
			l.pos += n
			continue
		}
		if n := nameAt(rest); n > 0 {
			if !pystr.IsIdentifier(rest[:n]) {
				return l.fail(start, "Invalid character in identifier")
			}
			l.emit(tName, rest[:n], start)
			l.pos += n
			continue
		}
		if n := stringAt(rest); n > 0 {
			v, err := pystr.Unescape(pystr.BackslashReplace(rest[1:n-1]), false)
			if err != nil {
				return l.fail(start, "%v", err)
			}
			l.emit(tString, v, start)
			l.pos += n
			continue
		}
		op := ""
		for _, o := range operators {
			if strings.HasPrefix(rest, o) {
				op = o
				break
			}
		}
		if op == "" {
			r, _ := utf8.DecodeRuneInString(rest)
			return l.fail(start, "unexpected char %q at %d", r, start)
		}
		switch op {
		case "{":
			balance = append(balance, '}')
		case "(":
			balance = append(balance, ')')
		case "[":
			balance = append(balance, ']')
		case "}", ")", "]":
			if len(balance) == 0 {
				return l.fail(start, "unexpected '%s'", op)
			}
			if want := balance[len(balance)-1]; want != op[0] {
				return l.fail(start, "unexpected '%s', expected '%c'", op, want)
			}
			balance = balance[:len(balance)-1]
		}
		l.emit(tOp, op, start)
		l.pos += len(op)
	}
	return nil
}

func isRange(err error) bool {
	ne, ok := err.(*strconv.NumError)
	return ok && ne.Err == strconv.ErrRange
}

// tagEnd matches a tag's end: +%} -%} %} for a block, -}} }} for a
// print tag.
func tagEnd(s string, end tokenKind) int {
	if end == tBlockEnd {
		switch {
		case strings.HasPrefix(s, "+%}"), strings.HasPrefix(s, "-%}"):
			return 3
		case strings.HasPrefix(s, "%}"):
			return 2
		}
		return 0
	}
	switch {
	case strings.HasPrefix(s, "-}}"):
		return 3
	case strings.HasPrefix(s, "}}"):
		return 2
	}
	return 0
}

// digitsAt matches (\d+_)*\d+ at i and returns its end, or i.
func digitsAt(s string, i int) int {
	end := i
	for {
		j := i
		for j < len(s) {
			r, n := utf8.DecodeRuneInString(s[j:])
			if !pystr.IsDigit(r) {
				break
			}
			j += n
		}
		if j == i {
			return end
		}
		end = j
		if j < len(s) && s[j] == '_' {
			i = j + 1
			continue
		}
		return end
	}
}

// floatAt matches jinja2's float_re at i: digits, then a fraction and
// an exponent, or a fraction, not after a dot.
func floatAt(s string, i int) int {
	if i > 0 && s[i-1] == '.' {
		return 0
	}
	j := digitsAt(s, i)
	if j == i {
		return 0
	}
	exponent := func(k int) int {
		if k < len(s) && (s[k] == 'e' || s[k] == 'E') {
			k++
			if k < len(s) && (s[k] == '+' || s[k] == '-') {
				k++
			}
			if e := digitsAt(s, k); e > k {
				return e
			}
		}
		return 0
	}
	if j < len(s) && s[j] == '.' {
		if f := digitsAt(s, j+1); f > j+1 {
			if e := exponent(f); e > 0 {
				return e - i
			}
			return f - i
		}
	}
	if e := exponent(j); e > 0 {
		return e - i
	}
	return 0
}

// integerAt matches jinja2's integer_re: 0b, 0o and 0x with digits, a
// decimal without leading zeros, or zeros.
func integerAt(s string) int {
	run := func(i int, ok func(r rune) bool) int {
		end := i
		for {
			j := i
			if j < len(s) && s[j] == '_' {
				j++
			}
			r, n := utf8.DecodeRuneInString(s[j:])
			if j >= len(s) || !ok(r) {
				return end
			}
			i = j + n
			end = i
		}
	}
	if len(s) >= 2 && s[0] == '0' {
		var ok func(r rune) bool
		switch s[1] {
		case 'b', 'B':
			ok = func(r rune) bool { return r == '0' || r == '1' }
		case 'o', 'O':
			ok = func(r rune) bool { return r >= '0' && r <= '7' }
		case 'x', 'X':
			ok = func(r rune) bool {
				return pystr.IsDigit(r) || r >= 'a' && r <= 'f' || r >= 'A' && r <= 'F'
			}
		}
		if ok != nil {
			if n := run(2, ok); n > 2 {
				return n
			}
		}
	}
	switch {
	case s != "" && s[0] >= '1' && s[0] <= '9':
		return run(1, pystr.IsDigit)
	case s != "" && s[0] == '0':
		return run(1, func(r rune) bool { return r == '0' })
	}
	return 0
}

// integerValue is int(text.replace("_", ""), 0) in decimal.
func integerValue(text string) (string, error) {
	text = strings.ReplaceAll(text, "_", "")
	base := 10
	if len(text) > 1 && text[0] == '0' {
		switch text[1] {
		case 'b', 'B':
			base = 2
		case 'o', 'O':
			base = 8
		case 'x', 'X':
			base = 16
		}
		if base != 10 {
			text = text[2:]
		}
	}
	var ascii strings.Builder
	for _, r := range text {
		if d := pystr.DigitValue(r); d >= 0 && r >= utf8.RuneSelf {
			r = rune('0' + d)
		}
		ascii.WriteRune(r)
	}
	n, ok := new(big.Int).SetString(ascii.String(), base)
	if !ok {
		return "", fmt.Errorf("invalid integer %q", text)
	}
	return n.String(), nil
}

// nameAt matches a run of jinja2's identifier characters: \w and the
// combining marks Python allows in names.
func nameAt(s string) int {
	i := 0
	for i < len(s) {
		r, n := utf8.DecodeRuneInString(s[i:])
		if !pystr.IsWord(r) && !(r >= utf8.RuneSelf && (unicode.In(r, unicode.Mn, unicode.Mc, unicode.Pc, unicode.Other_ID_Continue) || r == 0xB7)) {
			break
		}
		i += n
	}
	return i
}

// stringAt matches a quoted string, with escapes, at the start of s.
func stringAt(s string) int {
	if s == "" || s[0] != '\'' && s[0] != '"' {
		return 0
	}
	q := s[0]
	for i := 1; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case q:
			return i + 1
		}
	}
	return 0
}
