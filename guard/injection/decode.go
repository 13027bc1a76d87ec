package injection

import (
	"encoding/base64"
	"encoding/hex"
	"html"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"
)

// A hidden payload is text an attacker encoded so that filters reading the
// prompt do not see it, trusting the model to decode it. Each decoder
// returns what it could decode from s (lower-cased), or "".
var decoders = []struct {
	name   string
	decode func(s string) string
}{
	{"base64", decodeBase64},
	{"hex", decodeHex},
	{"rot13", decodeROT13},
	{"leetspeak", decodeLeet},
	{"escapes", decodeEscapes},
}

var (
	base64Run = regexp.MustCompile(`[a-za-z0-9+/_-]{16,}={0,2}`)
	hexRun    = regexp.MustCompile(`(?:[0-9a-f]{2}[ :]?){8,}`)
)

// decodeBase64 decodes runs that look like base64 (standard or URL
// alphabet) into printable text. Runs are found in the original case: the
// caller passes the text before lower-casing for this decoder.
func decodeBase64(s string) string {
	if !hasRun(s, 16, base64Byte) {
		return ""
	}
	var out []string
	for _, m := range base64RunCased.FindAllString(s, 16) {
		for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
			if b, err := enc.DecodeString(m); err == nil && printable(b) {
				out = append(out, strings.ToLower(string(b)))
				break
			}
		}
	}
	return strings.Join(out, "\n")
}

var base64RunCased = regexp.MustCompile(`[A-Za-z0-9+/_-]{16,}={0,2}`)

func decodeHex(s string) string {
	if !hasRun(s, 16, hexDigit) && !hexPairs(s, 8) {
		return ""
	}
	var out []string
	for _, m := range hexRun.FindAllString(s, 16) {
		m = strings.NewReplacer(" ", "", ":", "").Replace(m)
		if b, err := hex.DecodeString(m); err == nil && printable(b) {
			out = append(out, strings.ToLower(string(b)))
		}
	}
	return strings.Join(out, "\n")
}

// decodeROT13 applies ROT13 when the text asks for it to be decoded.
func decodeROT13(s string) string {
	if !strings.Contains(s, "rot") && !strings.Contains(s, "caesar") && !strings.Contains(s, "cipher") {
		return ""
	}
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z':
			return 'a' + (r-'a'+13)%26
		case r >= 'A' && r <= 'Z':
			return 'a' + (r-'A'+13)%26
		}
		return r
	}, s)
}

// decodeLeet reads digits and symbols written for letters ("1gn0r3 pr3v10us")
// when words mix them with letters.
func decodeLeet(s string) string {
	mixed := 0
	letters, leet := false, false
	for i := 0; i <= len(s) && mixed < 2; i++ {
		if i == len(s) || s[i] == ' ' || s[i] == '\n' || s[i] == '\t' {
			if letters && leet {
				mixed++
			}
			letters, leet = false, false
			continue
		}
		switch c := s[i]; {
		case c >= 'a' && c <= 'z':
			letters = true
		case c == '0' || c == '1' || c == '3' || c == '4' || c == '5' || c == '7' || c == '@' || c == '$' || c == '!' || c == '|':
			leet = true
		}
	}
	if mixed < 2 {
		return ""
	}
	return strings.Map(func(r rune) rune {
		switch r {
		case '0':
			return 'o'
		case '1', '!', '|':
			return 'i'
		case '3':
			return 'e'
		case '4', '@':
			return 'a'
		case '5', '$':
			return 's'
		case '7':
			return 't'
		}
		return r
	}, s)
}

// decodeEscapes resolves \uXXXX and \xXX escapes, HTML character references
// and percent-encoding.
func decodeEscapes(s string) string {
	if !strings.Contains(s, `\u`) && !strings.Contains(s, `\x`) && !strings.Contains(s, "&#") && !strings.Contains(s, "%") {
		return ""
	}
	out := s
	if strings.Contains(out, `\u`) || strings.Contains(out, `\x`) {
		var b strings.Builder
		for i := 0; i < len(out); i++ {
			if out[i] == '\\' && i+1 < len(out) && (out[i+1] == 'u' || out[i+1] == 'x') {
				n := 4
				if out[i+1] == 'x' {
					n = 2
				}
				if i+2+n <= len(out) {
					if v, err := strconv.ParseUint(out[i+2:i+2+n], 16, 32); err == nil {
						b.WriteRune(rune(v))
						i += 1 + n
						continue
					}
				}
			}
			b.WriteByte(out[i])
		}
		out = b.String()
	}
	if strings.Contains(out, "&") {
		out = html.UnescapeString(out)
	}
	if strings.Contains(out, "%") {
		if u, err := url.QueryUnescape(out); err == nil {
			out = u
		}
	}
	if out == s {
		return ""
	}
	return strings.ToLower(out)
}

// printable reports whether b is UTF-8 text of mostly printable ASCII with
// a few words in it, not random bytes that happened to decode.
func printable(b []byte) bool {
	if len(b) < 8 || !utf8.Valid(b) {
		return false
	}
	letters, spaces := 0, 0
	for _, c := range b {
		switch {
		case c == ' ':
			spaces++
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z':
			letters++
		case c < 0x20 && c != '\n' && c != '\t' && c != '\r':
			return false
		}
	}
	return spaces >= 1 && letters*10 >= len(b)*6
}

// hasRun reports whether s holds n bytes in a row that in accepts: a cheap
// test before an expression looks for encoded runs.
func hasRun(s string, n int, in func(byte) bool) bool {
	k := 0
	for i := 0; i < len(s); i++ {
		if in(s[i]) {
			if k++; k >= n {
				return true
			}
		} else {
			k = 0
		}
	}
	return false
}

func base64Byte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '+' || c == '/' || c == '_' || c == '-'
}

func hexDigit(c byte) bool { return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' }

// hexPairs reports whether s holds n hex pairs in a row, each followed by
// a space or colon ("49 67 6e 6f ...").
func hexPairs(s string, n int) bool {
	k := 0
	for i := 0; i+2 < len(s); {
		if hexDigit(s[i]) && hexDigit(s[i+1]) && (s[i+2] == ' ' || s[i+2] == ':') {
			if k++; k >= n {
				return true
			}
			i += 3
			continue
		}
		k = 0
		i++
	}
	return false
}
