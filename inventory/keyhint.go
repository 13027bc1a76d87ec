package inventory

import (
	"bytes"
	"strings"
)

// mayHoldAIKey reports whether a text can match any AI key rule, so that
// gitleaks runs only on texts that can. Every rule needs one of a few
// markers: a prefix ending in '_' or '-' (hf_, api_org_, gsk_, r8_,
// lsv2_, sk-, xai-, pplx-), AIza, or a word before the key (cohere,
// CO_API_KEY, private AI). Written here rather than left to gitleaks,
// whose own prefilter lowercases the whole text and walks a keyword
// automaton over it: on a tree of source files that was a third of the
// walk. Here the common case is a few vectorised byte searches.
func mayHoldAIKey(b []byte) bool {
	if bytes.Contains(b, []byte("AIza")) {
		return true
	}
	// Most separators follow none of the markers' last letters, so the
	// letter before is looked at first.
	underscore := markerBefore(b, '_', "fgk82oO", func(k int) bool {
		return endsWith(b[:k], "hf") || endsWith(b[:k], "api_org") || endsWith(b[:k], "gsk") || endsWith(b[:k], "r8") ||
			endsWith(b[:k], "lsv2") || endsWithFold(b[:k], "co") && hasPrefixFold(b[k+1:], "api_key")
	})
	if underscore || markerBefore(b, '-', "kix", func(k int) bool {
		return endsWith(b[:k], "sk") || endsWith(b[:k], "xai") || endsWith(b[:k], "pplx")
	}) {
		return true
	}
	return containsFold(b, "cohere", 'h') || containsFold(b, "private", 'v') && privateAI(b)
}

// markerBefore reports whether, at some sep in b preceded by one of the
// bytes in last, marker(position of sep) holds.
func markerBefore(b []byte, sep byte, last string, marker func(k int) bool) bool {
	for i := 0; ; {
		j := bytes.IndexByte(b[i:], sep)
		if j < 0 {
			return false
		}
		k := i + j
		i = k + 1
		if k > 0 && strings.IndexByte(last, b[k-1]) >= 0 && marker(k) {
			return true
		}
	}
}

func endsWith(b []byte, s string) bool { return bytes.HasSuffix(b, []byte(s)) }

func endsWithFold(b []byte, s string) bool {
	return len(b) >= len(s) && bytes.EqualFold(b[len(b)-len(s):], []byte(s))
}

func hasPrefixFold(b []byte, s string) bool {
	return len(b) >= len(s) && bytes.EqualFold(b[:len(s)], []byte(s))
}

// containsFold reports whether b holds word in any case, searching for
// its byte pivot (lower and upper case) and comparing around it.
func containsFold(b []byte, word string, pivot byte) bool {
	at := bytes.IndexByte([]byte(word), pivot)
	for _, p := range []byte{pivot, pivot - 'a' + 'A'} {
		for i := 0; ; {
			j := bytes.IndexByte(b[i:], p)
			if j < 0 {
				break
			}
			k := i + j
			i = k + 1
			if k >= at && k-at+len(word) <= len(b) && bytes.EqualFold(b[k-at:k-at+len(word)], []byte(word)) {
				return true
			}
		}
	}
	return false
}

// privateAI reports whether b holds private[_-]?ai in any case.
func privateAI(b []byte) bool {
	lower := bytes.ToLower(b)
	for i := 0; ; {
		j := bytes.Index(lower[i:], []byte("private"))
		if j < 0 {
			return false
		}
		k := i + j + len("private")
		i = k
		if k < len(lower) && (lower[k] == '_' || lower[k] == '-') {
			k++
		}
		if bytes.HasPrefix(lower[k:], []byte("ai")) {
			return true
		}
	}
}
