package modelscan

import (
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/modelgate/modelgate/modelscan/internal/pystr"
)

// pyLiteral parses Python literal syntax as ast.literal_eval accepts it:
// numpy reads a .npy header with it, so the scanner reads the header as
// numpy will (single or double quotes, string prefixes and adjacent
// strings, escapes, comments, line continuations, numbers in every base,
// tuples, lists, sets, dicts), not by pattern. Anything literal_eval
// refuses is an error.

type pyKind uint8

const (
	pyStr pyKind = iota
	pyBytes
	pyInt
	pyFloat
	pyComplex
	pyBool
	pyNone
	pyEllipsis
	pyTuple
	pyList
	pySet
	pyDict
)

// pyValue is a literal's value. Dict items alternate key and value.
type pyValue struct {
	kind  pyKind
	s     string    // str or bytes content, or an int in decimal
	f     float64   // a float
	b     bool      // a bool
	items []pyValue // tuple, list, set; dict keys and values
}

type pyLexer struct {
	src   string
	pos   int
	depth int // brackets open
}

type pyErr string

func (e pyErr) Error() string { return string(e) }

func pyLiteralEval(src string) (v pyValue, err error) {
	if strings.IndexByte(src, 0) >= 0 {
		return v, pyErr("source code cannot contain null bytes")
	}
	l := &pyLexer{src: strings.TrimLeft(src, " \t")}
	// Blank and comment lines may come first; the first line with a token
	// may not be indented (an unexpected indent), except that
	// literal_eval strips the first line's leading blanks.
	for first := true; ; first = false {
		rest := l.src[l.pos:]
		line, _, more := strings.Cut(rest, "\n")
		trimmed := strings.TrimLeft(strings.TrimRight(line, "\r"), " \t\f")
		if !more || trimmed != "" && trimmed[0] != '#' {
			if !first && trimmed != "" && trimmed != rest && len(trimmed) != len(line) && line[0] != '\f' {
				return v, pyErr("unexpected indent")
			}
			break
		}
		l.pos += len(line) + 1
	}
	defer func() {
		if r := recover(); r != nil {
			if e, ok := r.(pyErr); ok {
				err = e
				return
			}
			panic(r)
		}
	}()
	v = l.exprList(true)
	l.space()
	if l.pos != len(l.src) {
		panic(pyErr(fmt.Sprintf("unexpected %q at %d", l.src[l.pos:min(len(l.src), l.pos+10)], l.pos)))
	}
	return v, nil
}

func (l *pyLexer) fail(format string, args ...any) { panic(pyErr(fmt.Sprintf(format, args...))) }

// space skips what separates tokens: blanks, comments, line
// continuations, and newlines inside brackets. At the top level a
// newline ends the expression; only blank lines and comments may follow.
func (l *pyLexer) space() {
	for l.pos < len(l.src) {
		c := l.src[l.pos]
		switch {
		case c == ' ' || c == '\t' || c == '\f':
			l.pos++
		case c == '#':
			for l.pos < len(l.src) && l.src[l.pos] != '\n' && l.src[l.pos] != '\r' {
				l.pos++
			}
		case c == '\\' && l.pos+1 < len(l.src) && (l.src[l.pos+1] == '\n' || l.src[l.pos+1] == '\r'):
			l.pos += 2
			if l.src[l.pos-1] == '\r' && l.pos < len(l.src) && l.src[l.pos] == '\n' {
				l.pos++
			}
		case c == '\n' || c == '\r':
			if l.depth > 0 {
				l.pos++
				continue
			}
			// The logical line ends: what follows must be blank.
			rest := l.pos
			for rest < len(l.src) {
				d := l.src[rest]
				if d == '#' {
					for rest < len(l.src) && l.src[rest] != '\n' && l.src[rest] != '\r' {
						rest++
					}
					continue
				}
				if d != ' ' && d != '\t' && d != '\f' && d != '\n' && d != '\r' {
					return
				}
				rest++
			}
			l.pos = rest
		default:
			return
		}
	}
}

func (l *pyLexer) peek() byte {
	l.space()
	if l.pos < len(l.src) {
		return l.src[l.pos]
	}
	return 0
}

func (l *pyLexer) expect(c byte) {
	if l.peek() != c {
		l.fail("expected %q at %d", c, l.pos)
	}
	l.pos++
}

// exprList reads expr {, expr} [,]: a tuple when there is a comma.
func (l *pyLexer) exprList(top bool) pyValue {
	first := l.expr()
	if l.peek() != ',' {
		return first
	}
	items := []pyValue{first}
	for l.peek() == ',' {
		l.pos++
		c := l.peek()
		if c == 0 || c == ')' || top && l.pos >= len(l.src) {
			break
		}
		items = append(items, l.expr())
	}
	return pyValue{kind: pyTuple, items: items}
}

// expr reads one literal: a constant, a signed number, real ± imaginary,
// or a container.
func (l *pyLexer) expr() pyValue {
	v := l.unary()
	if c := l.peek(); c == '+' || c == '-' {
		if v.kind != pyInt && v.kind != pyFloat && v.kind != pyComplex {
			l.fail("only numbers may be added")
		}
		l.pos++
		r := l.atom()
		if r.kind != pyComplex || v.kind == pyComplex && v.s == "" {
			l.fail("only a real and an imaginary number may be added")
		}
		return pyValue{kind: pyComplex, s: "sum"}
	}
	return v
}

func (l *pyLexer) unary() pyValue {
	if c := l.peek(); c == '+' || c == '-' {
		l.pos++
		v := l.atom()
		switch v.kind {
		case pyInt:
			if c == '-' && v.s != "0" {
				v.s = "-" + v.s
			}
		case pyFloat:
			if c == '-' {
				v.f = -v.f
			}
		case pyComplex:
			v.s = "signed"
		default:
			l.fail("a sign before something that is not a number")
		}
		return v
	}
	return l.atom()
}

func (l *pyLexer) atom() pyValue {
	c := l.peek()
	switch {
	case c == '(':
		l.pos++
		l.depth++
		if l.peek() == ')' {
			l.pos++
			l.depth--
			return pyValue{kind: pyTuple}
		}
		v := l.exprList(false)
		l.expect(')')
		l.depth--
		return v
	case c == '[':
		l.pos++
		l.depth++
		v := pyValue{kind: pyList}
		for l.peek() != ']' {
			v.items = append(v.items, l.expr())
			if l.peek() != ',' {
				break
			}
			l.pos++
		}
		l.expect(']')
		l.depth--
		return v
	case c == '{':
		return l.braces()
	case c == '.' && strings.HasPrefix(l.src[l.pos:], "..."):
		l.pos += 3
		return pyValue{kind: pyEllipsis}
	case c >= '0' && c <= '9' || c == '.':
		return l.number()
	case c == '\'' || c == '"':
		return l.strings()
	case isIdentStart(c):
		start := l.pos
		for l.pos < len(l.src) && isIdentPart(l.src[l.pos]) {
			l.pos++
		}
		word := l.src[start:l.pos]
		if l.pos < len(l.src) && (l.src[l.pos] == '\'' || l.src[l.pos] == '"') && isPrefix(word) {
			l.pos = start
			return l.strings()
		}
		switch word {
		case "True", "False":
			return pyValue{kind: pyBool, b: word == "True"}
		case "None":
			return pyValue{kind: pyNone}
		case "set":
			l.expect('(')
			l.expect(')')
			return pyValue{kind: pySet}
		}
		l.fail("name %q is not a literal", word)
	}
	l.fail("unexpected %q at %d", c, l.pos)
	return pyValue{}
}

// braces reads a dict or a set.
func (l *pyLexer) braces() pyValue {
	l.pos++
	l.depth++
	defer func() { l.depth-- }()
	if l.peek() == '}' {
		l.pos++
		return pyValue{kind: pyDict}
	}
	first := l.expr()
	if l.peek() == ':' {
		d := pyValue{kind: pyDict}
		l.pos++
		d.dictSet(first, l.expr())
		for l.peek() == ',' {
			l.pos++
			if l.peek() == '}' {
				break
			}
			k := l.expr()
			l.expect(':')
			d.dictSet(k, l.expr())
		}
		l.expect('}')
		return d
	}
	s := pyValue{kind: pySet}
	s.setAdd(first)
	for l.peek() == ',' {
		l.pos++
		if l.peek() == '}' {
			break
		}
		s.setAdd(l.expr())
	}
	l.expect('}')
	return s
}

func (v *pyValue) dictSet(k, val pyValue) {
	if !k.hashable() {
		panic(pyErr("unhashable dict key"))
	}
	for i := 0; i < len(v.items); i += 2 {
		if pyEqual(v.items[i], k) {
			v.items[i+1] = val // the first key stays, the last value wins
			return
		}
	}
	v.items = append(v.items, k, val)
}

func (v *pyValue) setAdd(x pyValue) {
	if !x.hashable() {
		panic(pyErr("unhashable set element"))
	}
	for _, y := range v.items {
		if pyEqual(x, y) {
			return
		}
	}
	v.items = append(v.items, x)
}

func (v pyValue) hashable() bool {
	switch v.kind {
	case pyList, pyDict, pySet:
		return false
	case pyTuple:
		for _, x := range v.items {
			if !x.hashable() {
				return false
			}
		}
	}
	return true
}

// number returns v's value as a number, when it is one (a bool is 0 or 1).
func (v pyValue) number() (*big.Float, bool) {
	switch v.kind {
	case pyBool:
		if v.b {
			return big.NewFloat(1), true
		}
		return big.NewFloat(0), true
	case pyInt:
		f, _, err := big.ParseFloat(v.s, 10, 200, big.ToNearestEven)
		return f, err == nil
	case pyFloat:
		if math.IsNaN(v.f) || math.IsInf(v.f, 0) {
			return nil, false
		}
		return big.NewFloat(v.f), true
	}
	return nil, false
}

// pyEqual is Python's ==, for the literals a header can hold.
func pyEqual(a, b pyValue) bool {
	if na, ok := a.number(); ok {
		if nb, ok := b.number(); ok {
			return na.Cmp(nb) == 0
		}
		return false
	}
	if a.kind != b.kind {
		return false
	}
	switch a.kind {
	case pyStr, pyBytes:
		return a.s == b.s
	case pyFloat:
		return a.f == b.f
	case pyNone, pyEllipsis:
		return true
	case pyComplex:
		return false // the scanner does not compare them; keep both
	case pyTuple:
		if len(a.items) != len(b.items) {
			return false
		}
		for i := range a.items {
			if !pyEqual(a.items[i], b.items[i]) {
				return false
			}
		}
		return true
	}
	return false
}

func isIdentStart(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= 0x80
}

func isIdentPart(c byte) bool { return isIdentStart(c) || c >= '0' && c <= '9' }

func isPrefix(w string) bool {
	switch strings.ToLower(w) {
	case "r", "u", "b", "br", "rb", "f", "fr", "rf":
		return true
	}
	return false
}

// number reads an int, float or imaginary literal.
func (l *pyLexer) number() pyValue {
	start := l.pos
	src := l.src
	digits := func(ok func(byte) bool) {
		first := true
		for l.pos < len(src) {
			c := src[l.pos]
			if c == '_' && !first && l.pos+1 < len(src) && ok(src[l.pos+1]) {
				l.pos++
				continue
			}
			if !ok(c) {
				break
			}
			l.pos++
			first = false
		}
	}
	dec := func(c byte) bool { return c >= '0' && c <= '9' }
	after := func() {
		if l.pos < len(src) && isIdentPart(src[l.pos]) {
			l.fail("invalid number literal at %d", start)
		}
	}
	if src[l.pos] == '0' && l.pos+1 < len(src) && strings.IndexByte("xXoObB", src[l.pos+1]) >= 0 {
		base := map[byte]int{'x': 16, 'X': 16, 'o': 8, 'O': 8, 'b': 2, 'B': 2}[src[l.pos+1]]
		l.pos += 2
		if l.pos < len(src) && src[l.pos] == '_' {
			l.pos++
		}
		ds := l.pos
		digits(func(c byte) bool { return pystr.Digit(c) < base })
		if l.pos == ds {
			l.fail("invalid %d-base literal", base)
		}
		after()
		n, ok := new(big.Int).SetString(strings.ReplaceAll(src[ds:l.pos], "_", ""), base)
		if !ok {
			l.fail("invalid number")
		}
		return pyValue{kind: pyInt, s: n.String()}
	}
	intStart := l.pos
	digits(dec)
	intPart := src[intStart:l.pos]
	isFloat := false
	if l.pos < len(src) && src[l.pos] == '.' {
		isFloat = true
		l.pos++
		digits(dec)
	}
	if l.pos < len(src) && (src[l.pos] == 'e' || src[l.pos] == 'E') {
		save := l.pos
		l.pos++
		if l.pos < len(src) && (src[l.pos] == '+' || src[l.pos] == '-') {
			l.pos++
		}
		es := l.pos
		digits(dec)
		if l.pos == es {
			l.pos = save
			l.fail("invalid exponent")
		}
		isFloat = true
	}
	text := strings.ReplaceAll(src[start:l.pos], "_", "")
	if text == "." {
		l.fail("invalid number")
	}
	if l.pos < len(src) && (src[l.pos] == 'j' || src[l.pos] == 'J') {
		l.pos++
		after()
		return pyValue{kind: pyComplex}
	}
	after()
	if !isFloat {
		if len(intPart) > 1 && intPart[0] == '0' && strings.Trim(intPart, "0_") != "" {
			l.fail("leading zeros in decimal integer literals are not permitted")
		}
		if len(text) > maxStrDigits {
			l.fail("exceeds the limit for integer string conversion")
		}
		n, ok := new(big.Int).SetString(text, 10)
		if !ok {
			l.fail("invalid number")
		}
		return pyValue{kind: pyInt, s: n.String()}
	}
	f, err := strconv.ParseFloat(text, 64)
	if err != nil && !strings.Contains(err.Error(), "range") {
		l.fail("invalid float")
	}
	return pyValue{kind: pyFloat, f: f}
}

// maxStrDigits is Python's limit on the digits of a decimal integer.
const maxStrDigits = 4300

// strings reads one or more adjacent string literals.
func (l *pyLexer) strings() pyValue {
	var out strings.Builder
	kind := pyKind(255)
	for {
		c := l.peek()
		start := l.pos
		prefix := ""
		if isIdentStart(c) {
			for l.pos < len(l.src) && isIdentPart(l.src[l.pos]) {
				l.pos++
			}
			prefix = strings.ToLower(l.src[start:l.pos])
			if l.pos >= len(l.src) || l.src[l.pos] != '\'' && l.src[l.pos] != '"' || !isPrefix(prefix) {
				l.pos = start
				break
			}
		} else if c != '\'' && c != '"' {
			break
		}
		if strings.Contains(prefix, "f") {
			l.fail("f-strings are not literals")
		}
		k := pyStr
		if strings.Contains(prefix, "b") {
			k = pyBytes
		}
		if kind != 255 && kind != k {
			l.fail("cannot mix bytes and nonbytes literals")
		}
		kind = k
		out.WriteString(l.quoted(strings.Contains(prefix, "r"), k == pyBytes))
	}
	return pyValue{kind: kind, s: out.String()}
}

// quoted reads one quoted literal and returns its value.
func (l *pyLexer) quoted(raw, bytesLit bool) string {
	q := l.src[l.pos]
	triple := strings.HasPrefix(l.src[l.pos:], strings.Repeat(string(q), 3))
	if triple {
		l.pos += 3
	} else {
		l.pos++
	}
	start := l.pos
	for {
		if l.pos >= len(l.src) {
			l.fail("unterminated string literal")
		}
		c := l.src[l.pos]
		switch {
		case c == '\\':
			l.pos += 2
			continue
		case c == q && (!triple || strings.HasPrefix(l.src[l.pos:], strings.Repeat(string(q), 3))):
			body := l.src[start:l.pos]
			if triple {
				l.pos += 3
			} else {
				l.pos++
			}
			return unescapePy(l, body, raw, bytesLit)
		case (c == '\n' || c == '\r') && !triple:
			l.fail("unterminated string literal")
		}
		l.pos++
	}
}

// unescapePy applies a string literal's escapes.
func unescapePy(l *pyLexer, body string, raw, bytesLit bool) string {
	if bytesLit {
		for i := 0; i < len(body); i++ {
			if body[i] >= 0x80 {
				l.fail("bytes can only contain ASCII literal characters")
			}
		}
	}
	if !utf8.ValidString(body) {
		l.fail("invalid UTF-8 in a string literal")
	}
	body = strings.ReplaceAll(strings.ReplaceAll(body, "\r\n", "\n"), "\r", "\n")
	if raw {
		return body
	}
	out, err := pystr.Unescape(body, bytesLit)
	if err != nil {
		l.fail("%v", err)
	}
	return out
}
