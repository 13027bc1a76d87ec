package injection

import (
	"iter"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"
)

// Buckets is the size of the hashed feature space: word unigrams and
// bigrams, character 3- to 5-grams and, for scripts written without
// spaces, character pairs of the normalised, lower-cased text, and the
// shapes of its tokens, are hashed (FNV-1a) into this many buckets. 2^18 keeps collisions rare
// for a vocabulary of this size while the weights stay small (one byte
// each, 256 KiB).
const Buckets = 1 << 18

const (
	minGram = 3
	maxGram = 5
	// maxFeatureBytes bounds the text features are taken from: scoring
	// must not grow without bound with the input, and the first 8 KiB of
	// a prompt carry its intent.
	maxFeatureBytes = 8 << 10
)

// features returns the distinct buckets of the features of a folded text
// (see fold), in no particular order. buf is reused to avoid allocation.
func features(s string, buf []uint32) []uint32 {
	s = cutAt(s, maxFeatureBytes)
	out := buf[:0]
	// Word unigrams and bigrams.
	var prev uint32
	havePrev := false
	for w := range words(s) {
		h := fnv(offset32^'w', w)
		out = append(out, h%Buckets)
		if havePrev {
			out = append(out, mix(prev, h)%Buckets)
		}
		prev, havePrev = h, true
	}
	// Character n-grams over the folded text (bytes; the text is folded
	// to ASCII where it can be).
	for n := minGram; n <= maxGram; n++ {
		for i := 0; i+n <= len(s); i++ {
			out = append(out, fnv(offset32^uint32(n), s[i:i+n])%Buckets)
		}
	}
	out = appendRunePairs(out, s)
	out = appendShapes(out, s)
	return dedupe(out)
}

// appendRunePairs adds each pair of adjacent non-ASCII letters: Chinese,
// Japanese and Thai put no spaces between words, so a "word" there is a
// whole clause, and pairs of characters are what carries its meaning.
func appendRunePairs(out []uint32, s string) []uint32 {
	prev, prevAt := rune(-1), 0
	for i, r := range s {
		if r >= utf8.RuneSelf && unicode.IsLetter(r) {
			if prev >= 0 {
				out = append(out, fnv(offset32^'p', s[prevAt:i+utf8.RuneLen(r)])%Buckets)
			}
			prev, prevAt = r, i
		} else {
			prev = -1
		}
	}
	return out
}

// appendShapes adds the shape of each token, the text between spaces, with
// letters, digits and other characters each reduced to a class and runs cut
// to two ("describing.\\" is "aa.\\", "**ONE" is "**aa"). Optimised
// adversarial suffixes are strings of such odd shapes; prose, code and
// encoded data each have shapes of their own, in any language.
func appendShapes(out []uint32, s string) []uint32 {
	var shape [16]byte
	for i := 0; i < len(s); {
		for i < len(s) && isSpace(s[i]) {
			i++
		}
		n, last, run := 0, byte(0), 0
		for i < len(s) && !isSpace(s[i]) {
			c := s[i]
			switch {
			case c >= 'a' && c <= 'z', c >= utf8.RuneSelf:
				c = 'a'
			case c >= '0' && c <= '9':
				c = '9'
			}
			if c == last {
				run++
			} else {
				last, run = c, 1
			}
			if run <= 2 && n < len(shape) {
				shape[n] = c
				n++
			}
			i++
		}
		if n > 0 {
			out = append(out, fnv(offset32^'s', string(shape[:n]))%Buckets)
		}
	}
	return out
}

// cutAt returns s cut to at most n bytes, at a character boundary.
func cutAt(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// seenPool holds bitsets over the buckets, one per concurrent caller:
// de-duplicating through a bitset is linear, where sorting the few
// thousand hashes of a 1 KB text cost more than everything else.
var seenPool = sync.Pool{New: func() any { return new([Buckets / 64]uint64) }}

func dedupe(hs []uint32) []uint32 {
	seen := seenPool.Get().(*[Buckets / 64]uint64)
	out := hs[:0]
	for _, h := range hs {
		w, bit := h/64, uint64(1)<<(h%64)
		if seen[w]&bit == 0 {
			seen[w] |= bit
			out = append(out, h)
		}
	}
	for _, h := range out {
		seen[h/64] = 0
	}
	seenPool.Put(seen)
	return out
}

// fold lower-cases the normalised text (which has already lost invisible
// characters, fullwidth forms and homoglyphs), so "IGNORE" and "ｉｇｎｏｒｅ"
// share features with "ignore".
func fold(text string) string { return lower(normalize(text)) }

// lower lower-cases a normalised text.
func lower(n string) string {
	var b strings.Builder
	b.Grow(len(n))
	for _, r := range n {
		switch {
		case r < utf8.RuneSelf:
			c := byte(r)
			if c >= 'A' && c <= 'Z' {
				c += 'a' - 'A'
			}
			b.WriteByte(c)
		default:
			b.WriteRune(unicode.ToLower(r))
		}
	}
	return b.String()
}

// words yields the words of a folded text: runs of letters, digits and
// non-ASCII characters.
func words(s string) iter.Seq[string] {
	return func(yield func(string) bool) {
		for i := 0; i < len(s); {
			for i < len(s) && !wordByte(s[i]) {
				i++
			}
			j := i
			for j < len(s) && wordByte(s[j]) {
				j++
			}
			if j == i || !yield(s[i:j]) {
				return
			}
			i = j
		}
	}
}

func wordByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c >= 0x80
}

const (
	offset32 = 2166136261
	prime32  = 16777619
)

func fnv(h uint32, s string) uint32 {
	for i := 0; i < len(s); i++ {
		h ^= uint32(s[i])
		h *= prime32
	}
	return h
}

func mix(a, b uint32) uint32 {
	h := uint32(offset32 ^ 'b')
	for _, x := range [2]uint32{a, b} {
		for k := 0; k < 4; k++ {
			h ^= x & 0xff
			h *= prime32
			x >>= 8
		}
	}
	return h
}
