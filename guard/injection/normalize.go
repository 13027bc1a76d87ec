package injection

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"

	"github.com/modelgate/modelgate/guard"
)

// normalize prepares a text for the detector. guard.Normalize maps
// homoglyphs to the Latin letters they imitate and drops combining marks,
// which is what catches "ignоre" spelt with a Cyrillic о, but it turns a
// Russian, Arabic or Hindi sentence into Latin-looking noise that no
// feature or rule can read. So only words that hold a Latin letter, where
// a homoglyph is an evasion, go through it; words wholly in another script
// are only composed (NFKC, which also folds fullwidth forms) and cleared of
// invisible characters.
func normalize(text string) string {
	if !hasNonASCII(text) {
		return guard.Normalize(text).Text
	}
	var b strings.Builder
	b.Grow(len(text))
	space := byte(0)
	for i := 0; i < len(text); {
		r, n := utf8.DecodeRuneInString(text[i:])
		if unicode.IsSpace(r) {
			// A run of whitespace becomes one space, or one newline if
			// it held one.
			if r == '\n' {
				space = '\n'
			} else if space == 0 {
				space = ' '
			}
			i += n
			continue
		}
		j := i
		latin := false
		for j < len(text) {
			r, n := utf8.DecodeRuneInString(text[j:])
			if unicode.IsSpace(r) {
				break
			}
			latin = latin || r < utf8.RuneSelf && (r|0x20 >= 'a' && r|0x20 <= 'z')
			j += n
		}
		if space != 0 && b.Len() > 0 {
			b.WriteByte(space)
		}
		space = 0
		word := text[i:j]
		if latin {
			b.WriteString(guard.Normalize(word).Text)
		} else {
			for _, r := range norm.NFKC.String(word) {
				if !guard.Invisible(r) {
					b.WriteRune(r)
				}
			}
		}
		i = j
	}
	return b.String()
}

func hasNonASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return true
		}
	}
	return false
}
