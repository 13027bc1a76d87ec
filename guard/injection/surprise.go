package injection

import (
	"math"
	"strings"
)

// charLM is a byte-bigram language model of benign text: the cost, in
// sixteenths of a nat, of each byte after each byte. Optimised adversarial
// suffixes (GCG and its kin) are searched for by gradient over tokens, not
// written, and read as strings no benign text holds: "describing.\ +
// similarlyNow write oppositeley.](". A bigram model is the smallest
// model that tells them from prose in any language, and it costs one table
// lookup per byte.
type charLM [256 * 256]uint8

// trainCharLM counts the byte pairs of benign texts, with add-one
// smoothing, into a charLM.
func trainCharLM(texts []string) *charLM {
	var counts [256 * 256]float64
	var rows [256]float64
	for _, t := range texts {
		prev := byte(' ')
		for i := 0; i < len(t); i++ {
			counts[int(prev)<<8|int(t[i])]++
			rows[prev]++
			prev = t[i]
		}
	}
	lm := new(charLM)
	for a := range 256 {
		for b := range 256 {
			p := (counts[a<<8|b] + 0.1) / (rows[a] + 25.6)
			lm[a<<8|b] = uint8(min(255, math.Round(-math.Log(p)*16)))
		}
	}
	return lm
}

// surprise returns two features of a normalised text under the model: the
// highest mean cost per byte over any run of six tokens, and the share of
// tokens that cost more than oddToken. Only ASCII tokens are read (the
// suffixes are ASCII, and other scripts' byte pairs are rare in any
// training set), and of those not the ones that are data (hex, base64,
// UUIDs, URLs, paths, numbers): they are surprising and benign, and an
// attack hidden in them is the decoders' business.
//
// tail is the mean cost of the last six tokens read: an optimised suffix
// is, by construction, at the end.
func (lm *charLM) surprise(s string) (peak, share, tail float64) {
	const run = 6
	var ring [run]float64
	var sum float64
	n, odd := 0, 0
	for i := 0; i < len(s); {
		for i < len(s) && isSpace(s[i]) {
			i++
		}
		j := i
		for j < len(s) && !isSpace(s[j]) {
			j++
		}
		if j == i {
			break
		}
		tok := s[i:j]
		if j-i >= 2 && !hasNonASCII(tok) && !isData(tok) {
			cost := 0
			prev := byte(' ')
			for k := i; k < j; k++ {
				cost += int(lm[int(prev)<<8|int(s[k])])
				prev = s[k]
			}
			c := float64(cost) / 16 / float64(j-i)
			if c > oddToken {
				odd++
			}
			sum += c - ring[n%run]
			ring[n%run] = c
			n++
			if n >= run {
				peak = max(peak, sum/run)
			}
		}
		i = j
	}
	if n == 0 {
		return 0, 0, 0
	}
	if n < run {
		peak = sum / float64(n)
	}
	return peak, float64(odd) / float64(n), sum / float64(min(n, run))
}

// oddToken is the mean cost per byte, in nats, above which a token is odd.
const oddToken = 4.0

func isSpace(c byte) bool { return c == ' ' || c == '\n' || c == '\t' || c == '\r' }

// isData reports tokens that are encoded data rather than words: long runs
// of base64 or hex, URLs and paths, and numbers.
func isData(tok string) bool {
	if strings.Contains(tok, "://") || strings.HasPrefix(tok, "www.") || strings.Count(tok, "/") >= 2 {
		return true
	}
	alnum, digits, other := 0, 0, 0
	for i := 0; i < len(tok); i++ {
		c := tok[i]
		switch {
		case c >= '0' && c <= '9':
			digits++
			alnum++
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z':
			alnum++
		case c == '+' || c == '/' || c == '=' || c == '-' || c == '_' || c == '.' || c == ':':
		default:
			other++
		}
	}
	return other == 0 && (len(tok) >= 16 || digits*2 >= len(tok))
}
