package injection

import (
	"iter"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"github.com/modelgate/modelgate/guard"
)

// Buckets is the size of the hashed feature space: word unigrams and
// bigrams and character 3- to 5-grams of the normalised, lower-cased text
// are hashed (FNV-1a) into this many buckets. 2^18 keeps collisions rare
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
	if len(s) > maxFeatureBytes {
		cut := maxFeatureBytes
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut]
	}
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
	return dedupe(out)
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
func fold(text string) string {
	n := guard.Normalize(text).Text
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
