package output

import (
	"html"
	"strconv"
	"strings"
)

// A view is a text as some reader of an answer would read it: a shell
// after quote removal, a database with comments gone, a browser after
// decoding. The rules for that reader run on its view, so that how a
// command is spelt cannot hide what it does. off maps each byte of the
// view to the byte of the normalised text it came from.
type view struct {
	text string
	off  []int
}

// span maps a span of the view back to the normalised text.
func (v *view) span(a, b int) (int, int) {
	if v.off == nil {
		return a, b
	}
	if a >= len(v.off) {
		return v.off[len(v.off)-1], v.off[len(v.off)-1] + 1
	}
	return v.off[a], v.off[max(b-1, a)] + 1
}

// builder makes a view, keeping the source offset of each byte.
type builder struct {
	b   []byte
	off []int
}

func (w *builder) byte(c byte, at int) {
	w.b = append(w.b, c)
	w.off = append(w.off, at)
}

func (w *builder) str(s string, at int) {
	for i := 0; i < len(s); i++ {
		w.byte(s[i], at)
	}
}

func (w *builder) view() view { return view{text: string(w.b), off: w.off} }

// shellView removes quoting the way a POSIX shell does before it runs a
// word: 'single' and "double" quotes (and $'ansi-c' quotes, whose escapes
// it decodes), backslash escapes, and $IFS, which expands to a space. It
// returns false when s holds nothing a shell would rewrite.
func shellView(s string) (view, bool) {
	if !strings.ContainsAny(s, `'"\$`) {
		return view{}, false
	}
	var w builder
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == '\\' && i+1 < len(s) && s[i+1] != '\n':
			w.byte(s[i+1], i+1)
			i += 2
		case c == '\'':
			end := strings.IndexByte(s[i+1:], '\'')
			if end < 0 {
				w.byte(c, i)
				i++
				continue
			}
			for k := i + 1; k <= i+end; k++ {
				w.byte(s[k], k)
			}
			i += end + 2
		case c == '"':
			j := i + 1
			for j < len(s) && s[j] != '"' {
				if s[j] == '\\' && j+1 < len(s) && strings.IndexByte("\"\\$`", s[j+1]) >= 0 {
					j++
				}
				w.byte(s[j], j)
				j++
			}
			i = j + 1
		case c == '$' && strings.HasPrefix(s[i:], "$'"):
			i = ansiC(s, i+2, &w)
		case c == '$' && strings.HasPrefix(s[i:], "${IFS}"):
			w.byte(' ', i)
			i += len("${IFS}")
		case c == '$' && strings.HasPrefix(s[i:], "$IFS"):
			w.byte(' ', i)
			i += len("$IFS")
		default:
			w.byte(c, i)
			i++
		}
	}
	return w.view(), true
}

// ansiC decodes the body of a $'…' string from i, returning the offset
// after its closing quote.
func ansiC(s string, i int, w *builder) int {
	for i < len(s) && s[i] != '\'' {
		if s[i] != '\\' || i+1 >= len(s) {
			w.byte(s[i], i)
			i++
			continue
		}
		at := i
		switch e := s[i+1]; {
		case e == 'x':
			j := i + 2
			for j < len(s) && j < i+4 && isHexByte(s[j]) {
				j++
			}
			if v, err := strconv.ParseUint(s[i+2:j], 16, 8); err == nil && j > i+2 {
				w.byte(byte(v), at)
			}
			i = j
		case e >= '0' && e <= '7':
			j := i + 1
			for j < len(s) && j < i+4 && s[j] >= '0' && s[j] <= '7' {
				j++
			}
			v, _ := strconv.ParseUint(s[i+1:j], 8, 8)
			w.byte(byte(v), at)
			i = j
		case e == 'n':
			w.byte('\n', at)
			i += 2
		case e == 't':
			w.byte('\t', at)
			i += 2
		default:
			w.byte(e, at)
			i += 2
		}
	}
	return i + 1
}

// sqlView replaces SQL comments with a space, as a database's parser
// reads them, except MySQL's executable /*! … */ comments, whose contents
// it runs. It returns false when s has no comment.
func sqlView(s string) (view, bool) {
	if !strings.Contains(s, "/*") && !strings.Contains(s, "--") {
		return view{}, false
	}
	var w builder
	for i := 0; i < len(s); {
		switch {
		case strings.HasPrefix(s[i:], "/*!"):
			j := i + 3
			for j < len(s) && s[j] >= '0' && s[j] <= '9' {
				j++ // the version number
			}
			end := strings.Index(s[j:], "*/")
			if end < 0 {
				end = len(s) - j
			}
			w.byte(' ', i)
			for k := j; k < j+end; k++ {
				w.byte(s[k], k)
			}
			w.byte(' ', min(j+end, len(s)-1))
			i = min(len(s), j+end+2)
		case strings.HasPrefix(s[i:], "/*"):
			end := strings.Index(s[i+2:], "*/")
			if end < 0 {
				end = len(s) - i - 2
			}
			w.byte(' ', i)
			i = min(len(s), i+2+end+2)
		case strings.HasPrefix(s[i:], "--"):
			end := strings.IndexByte(s[i:], '\n')
			if end < 0 {
				end = len(s) - i
			}
			w.byte(' ', i)
			i += end
		default:
			w.byte(s[i], i)
			i++
		}
	}
	return w.view(), true
}

// maxDecodeRounds bounds how many layers of encoding are peeled.
const maxDecodeRounds = 3

// markupView decodes what a browser or a script may decode before markup
// is parsed: percent-encoding, JavaScript \uXXXX and \xXX escapes, and
// HTML character references, in up to three layers (%253C is < twice
// over). It returns false when s holds nothing to decode.
func markupView(s string) (view, bool) {
	if !strings.ContainsAny(s, `%\&`) {
		return view{}, false
	}
	v := view{text: s, off: make([]int, len(s))}
	for i := range v.off {
		v.off[i] = i
	}
	changed := false
	for range maxDecodeRounds {
		next, ok := decodeOnce(v)
		if !ok {
			break
		}
		v, changed = next, true
	}
	return v, changed
}

// decodeOnce peels one layer of escapes off a view.
func decodeOnce(v view) (view, bool) {
	s := v.text
	var w builder
	changed := false
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == '%' && i+2 < len(s) && isHexByte(s[i+1]) && isHexByte(s[i+2]):
			b, _ := strconv.ParseUint(s[i+1:i+3], 16, 8)
			w.byte(byte(b), v.off[i])
			i += 3
			changed = true
		case c == '\\' && i+5 < len(s) && s[i+1] == 'u' && isHex(s[i+2:i+6]):
			r, _ := strconv.ParseUint(s[i+2:i+6], 16, 32)
			w.str(string(rune(r)), v.off[i])
			i += 6
			changed = true
		case c == '\\' && i+3 < len(s) && s[i+1] == 'x' && isHex(s[i+2:i+4]):
			b, _ := strconv.ParseUint(s[i+2:i+4], 16, 8)
			w.str(string(rune(b)), v.off[i])
			i += 4
			changed = true
		case c == '&':
			end := strings.IndexByte(s[i:min(len(s), i+12)], ';')
			if end > 1 {
				if dec := html.UnescapeString(s[i : i+end+1]); dec != s[i:i+end+1] {
					w.str(dec, v.off[i])
					i += end + 1
					changed = true
					continue
				}
			}
			w.byte(c, v.off[i])
			i++
		default:
			w.byte(c, v.off[i])
			i++
		}
	}
	if !changed {
		return v, false
	}
	return w.view(), true
}

func isHexByte(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

func isHex(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isHexByte(s[i]) {
			return false
		}
	}
	return true
}
