package guard

import (
	"sort"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// Text is a segment as guards see it: the text itself and, computed once
// on first use, its normalised form.
type Text struct {
	Segment
	norm *Normalized
}

// NewTexts wraps segments for inspection.
func NewTexts(segs []Segment) []*Text {
	ts := make([]*Text, len(segs))
	for i := range segs {
		ts[i] = &Text{Segment: segs[i]}
	}
	return ts
}

// Norm returns the text's normalised form.
func (t *Text) Norm() *Normalized {
	if t.norm == nil {
		t.norm = Normalize(t.Text)
	}
	return t.norm
}

// set replaces the text, dropping the stale normalised form.
func (t *Text) set(s string) {
	t.Text, t.norm = s, nil
}

// Normalized is text prepared for detection, so that an attacker cannot
// hide an entity from a pattern by how it is written:
//
//   - invisible characters are removed: zero-width characters, bidi
//     controls, Unicode tag characters (U+E0000–E007F), variation
//     selectors and other format characters;
//   - every character is decomposed for compatibility (NFKD) and its
//     combining marks dropped, so fullwidth Ａ, mathematical 𝐀, ligatures
//     and accented letters reach their plain forms;
//   - homoglyphs map to the Latin letters and digits they imitate: a
//     curated set for Cyrillic and Greek, then every character whose
//     Unicode confusables skeleton (UTS #39) is one ASCII letter or digit
//     (Cherokee Ꭺ, Lisu ꓮ, …);
//   - every decimal digit (Unicode category Nd: Arabic-Indic ٤, Persian ۴,
//     Devanagari ४, …) becomes the ASCII digit of the same value;
//   - a run of whitespace becomes one space, or one newline if it held one.
//
// Case is kept (credential formats depend on it); detectors match case
// where they must and fold it where they may. Offsets map every byte of the
// normalised text back to the original, so findings can be rewritten in
// the text the caller sent.
type Normalized struct {
	Text string
	raw  string
	off  []int32 // off[i]: start in raw of the character that produced Text[i]; nil when Text == raw
}

// Normalize returns the normalised form of s.
func Normalize(s string) *Normalized {
	if plain(s) {
		return &Normalized{Text: s, raw: s}
	}
	n := &Normalized{raw: s}
	out := make([]byte, 0, len(s))
	off := make([]int32, 0, len(s))
	var buf [64]byte
	space := -1 // index in out of the space that a whitespace run became, -1 outside a run
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case unicode.IsSpace(r):
			if space >= 0 {
				if r == '\n' {
					out[space] = '\n'
				}
			} else {
				space = len(out)
				c := byte(' ')
				if r == '\n' {
					c = '\n'
				}
				out, off = append(out, c), append(off, int32(i))
			}
			i += size
			continue
		case Invisible(r):
			i += size
			continue // invisible characters do not end a whitespace run
		}
		space = -1
		if r < utf8.RuneSelf {
			out, off = append(out, byte(r)), append(off, int32(i))
		} else {
			for _, c := range string(norm.NFKD.AppendString(buf[:0], s[i:i+size])) {
				if unicode.Is(unicode.Mn, c) || Invisible(c) {
					continue
				}
				if m, ok := confusables[c]; ok {
					c = m
				} else if d, ok := DecimalDigit(c); ok {
					c = '0' + d
				} else if m, ok := skeletons[c]; ok {
					c = m
				}
				start := len(out)
				out = utf8.AppendRune(out, c)
				for range len(out) - start {
					off = append(off, int32(i))
				}
			}
		}
		i += size
	}
	n.Text, n.off = string(out), off
	return n
}

// plain reports whether s is already in normal form: ASCII without
// control whitespace and without runs of spaces.
func plain(s string) bool {
	prevSpace := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= utf8.RuneSelf {
			return false
		}
		switch c {
		case ' ', '\n':
			if prevSpace {
				return false
			}
			prevSpace = true
		case '\t', '\r', '\v', '\f':
			return false
		default:
			prevSpace = false
		}
	}
	return true
}

// Span maps a byte span of the normalised text to the span of the
// original text that produced it.
func (n *Normalized) Span(start, end int) (int, int) {
	if n.off == nil {
		return start, end
	}
	if start >= len(n.off) {
		return len(n.raw), len(n.raw)
	}
	if end <= start {
		s := int(n.off[start])
		return s, s
	}
	s, last := int(n.off[start]), int(n.off[end-1])
	_, size := utf8.DecodeRuneInString(n.raw[last:])
	return s, last + size
}

// Invisible reports whether r is a character that renders as nothing and
// can carry hidden text or reorder what a reader sees: format characters
// (zero-width spaces and joiners, bidi controls, the soft hyphen, Unicode
// tags), variation selectors and Hangul fillers.
func Invisible(r rune) bool {
	if r < 0xAD {
		return false
	}
	switch {
	case r >= 0xE0000 && r <= 0xE007F: // tags
		return true
	case r >= 0xFE00 && r <= 0xFE0F, r >= 0xE0100 && r <= 0xE01EF: // variation selectors
		return true
	case r == 0x115F, r == 0x1160, r == 0x3164, r == 0xFFA0: // Hangul fillers
		return true
	case r == 0x034F: // combining grapheme joiner
		return true
	}
	return unicode.Is(unicode.Cf, r)
}

// confusables maps characters that look like Latin letters and digits to
// them: the Cyrillic and Greek letters that attackers mix into words, and
// the few lookalikes NFKD leaves alone. It is a curated subset of Unicode's
// confusables.txt, kept small because every entry is a lookup on the hot
// path for non-ASCII text.
var confusables = map[rune]rune{
	// Cyrillic lower case
	'а': 'a', 'в': 'b', 'е': 'e', 'к': 'k', 'м': 'm', 'н': 'h', 'о': 'o', 'р': 'p', 'с': 'c', 'т': 't',
	'у': 'y', 'х': 'x', 'і': 'i', 'ј': 'j', 'ѕ': 's', 'ԁ': 'd', 'ԛ': 'q', 'ԝ': 'w', 'ɡ': 'g', 'һ': 'h',
	'ӏ': 'l', 'ү': 'y',
	// Cyrillic upper case
	'А': 'A', 'В': 'B', 'Е': 'E', 'К': 'K', 'М': 'M', 'Н': 'H', 'О': 'O', 'Р': 'P', 'С': 'C', 'Т': 'T',
	'Х': 'X', 'І': 'I', 'Ј': 'J', 'Ѕ': 'S', 'Ԁ': 'D', 'Ү': 'Y', 'Ԛ': 'Q', 'Ԝ': 'W',
	// Greek
	'α': 'a', 'ο': 'o', 'ρ': 'p', 'ν': 'v', 'ι': 'i', 'κ': 'k', 'τ': 't', 'υ': 'u', 'χ': 'x', 'ϲ': 'c',
	'Α': 'A', 'Β': 'B', 'Ε': 'E', 'Ζ': 'Z', 'Η': 'H', 'Ι': 'I', 'Κ': 'K', 'Μ': 'M', 'Ν': 'N', 'Ο': 'O',
	'Ρ': 'P', 'Τ': 'T', 'Υ': 'Y', 'Χ': 'X',
	// Latin lookalikes outside ASCII
	'ı': 'i', 'ȷ': 'j', 'ℓ': 'l', 'ǀ': 'l',
}

// DecimalDigit returns the value of a decimal digit of any script. Every
// range of Unicode's Nd table is whole runs of ten digits from zero to
// nine (TestDecimalDigits checks this), so a digit's value is its offset
// in its range modulo ten.
func DecimalDigit(r rune) (rune, bool) {
	if r < 0x80 {
		if r >= '0' && r <= '9' {
			return r - '0', true
		}
		return 0, false
	}
	if uint32(r) <= 0xFFFF {
		rs := unicode.Nd.R16
		i := sort.Search(len(rs), func(i int) bool { return rune(rs[i].Hi) >= r })
		if i < len(rs) && rune(rs[i].Lo) <= r {
			return (r - rune(rs[i].Lo)) % 10, true
		}
		return 0, false
	}
	rs := unicode.Nd.R32
	i := sort.Search(len(rs), func(i int) bool { return rune(rs[i].Hi) >= r })
	if i < len(rs) && rune(rs[i].Lo) <= r {
		return (r - rune(rs[i].Lo)) % 10, true
	}
	return 0, false
}
