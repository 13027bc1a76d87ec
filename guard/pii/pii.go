// Package pii finds personal data in text: email addresses, phone numbers,
// payment cards, IBANs, national identifiers (US SSN and ITIN, UK NINO and
// NHS number), IP and MAC addresses, crypto wallets, URLs with embedded
// credentials and dates of birth.
//
// Each entity has a candidate pattern and a validator. Checksums (Luhn,
// mod-97, mod-11, base58check, bech32, EIP-55) and the issuing rules of
// each identifier decide whether a candidate counts, so a 16-digit number
// that fails Luhn is not a card; context words nearby ("born", "ssn",
// "phone") raise the score of the entities that are ambiguous without them.
package pii

import (
	"regexp"
	"strings"

	"github.com/modelgate/modelgate/guard"
)

// Entity types.
const (
	Email          = "EMAIL"
	Phone          = "PHONE"
	CreditCard     = "CREDIT_CARD"
	IBAN           = "IBAN"
	USSSN          = "US_SSN"
	USITIN         = "US_ITIN"
	UKNINO         = "UK_NINO"
	UKNHS          = "UK_NHS"
	IPAddress      = "IP_ADDRESS"
	MACAddress     = "MAC_ADDRESS"
	CryptoWallet   = "CRYPTO_WALLET"
	URLCredentials = "URL_CREDENTIALS"
	DateOfBirth    = "DATE_OF_BIRTH"
)

// recognizer finds one kind of candidate and scores it. score returns 0 to
// drop a candidate; text and start give it the context around the match.
type recognizer struct {
	entities []string
	re       *regexp.Regexp
	// need is a cheap test that the text may hold a candidate at all.
	need func(s string) bool
	// numeric recognizers match only digits and number punctuation, and
	// run on the runs of those alone rather than on wider windows.
	numeric bool
	// atTokens recognizers run on the tokens that hold an '@'.
	atTokens bool
	// spans, when set, returns the parts of a match to score (a match
	// runs on past an IBAN's end; a run of digit groups may hold a card
	// number in part of it). Without it the whole match is scored.
	spans func(m string) [][2]int
	score func(m, text string, start int) (entity string, score float64)
}

// Detector finds personal data. The zero value finds every entity type.
type Detector struct{}

var _ guard.Detector = Detector{}

// Entities lists the entity types the detector reports.
func (Detector) Entities() []string {
	return []string{Email, Phone, CreditCard, IBAN, USSSN, USITIN, UKNINO, UKNHS, IPAddress, MACAddress, CryptoWallet, URLCredentials, DateOfBirth}
}

// Detect reports the personal data in t. Where candidates of different
// types overlap (a number that is both a valid phone number and a valid
// NHS number), only the best scored is reported.
func (Detector) Detect(t *guard.Text, emit func(guard.Finding)) {
	n := t.Norm()
	s := n.Text
	digits := countDigits(s)
	windows, numbers := hotWindows(s), numberRuns(s)
	var found []guard.Finding
	for i := range recognizers {
		r := &recognizers[i]
		if r.needDigits() > digits || r.need != nil && !r.need(s) {
			continue
		}
		ws := windows
		switch {
		case r.numeric:
			ws = numbers
		case r.atTokens:
			ws = tokensWith(s, '@')
		}
		for _, w := range ws {
			for _, loc := range r.re.FindAllStringIndex(s[w[0]:w[1]], -1) {
				start, end := loc[0]+w[0], loc[1]+w[0]
				parts := [][2]int{{0, end - start}}
				if r.spans != nil {
					parts = r.spans(s[start:end])
				}
				for _, p := range parts {
					a, b := start+p[0], start+p[1]
					entity, score := r.score(s[a:b], s, a)
					if score > 0 {
						found = append(found, guard.Finding{Entity: entity, Start: a, End: b, Score: score})
					}
				}
			}
		}
	}
	for i, f := range found {
		if !outranked(f, i, found) {
			f.Start, f.End = n.Span(f.Start, f.End)
			emit(f)
		}
	}
}

// hotWindows returns the parts of s where personal data can be: every
// entity holds a digit, an '@' or a ':' (an all-letter MAC or IPv6
// address), so the patterns run only around those, from the whitespace
// before to the whitespace after, with room on the left for a month name
// or an IBAN's country code. Regular expressions cost tens of nanoseconds
// per byte; prose with a few numbers in it is mostly skipped.
func hotWindows(s string) [][2]int {
	const reach = 24
	var ws [][2]int
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c == '@' || c == ':') {
			continue
		}
		start := max(0, i-reach)
		for start > 0 && !isSpace(s[start-1]) {
			start--
		}
		end := i + 1
		for n := 0; end < len(s); end++ {
			if isSpace(s[end]) {
				if n++; end-i > reach {
					break
				}
			}
		}
		if k := len(ws); k > 0 && start <= ws[k-1][1] {
			ws[k-1][1] = max(ws[k-1][1], end)
		} else {
			ws = append(ws, [2]int{start, end})
		}
		i = end - 1
	}
	return ws
}

// numberRuns returns the runs of digit groups, joined by the separators
// numbers are written with (see separator), widened to whole tokens.
func numberRuns(s string) [][2]int {
	var ws [][2]int
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			continue
		}
		end := i
		for end < len(s) {
			if isDigit(s[end]) {
				end++
			} else if n := separator(s, end); n > 0 {
				end += n
			} else {
				break
			}
		}
		start, end := toTokens(s, i, end)
		if k := len(ws); k > 0 && start <= ws[k-1][1] {
			ws[k-1][1] = max(ws[k-1][1], end)
		} else {
			ws = append(ws, [2]int{start, end})
		}
		i = end
	}
	return ws
}

// toTokens widens a span to the whitespace around it.
func toTokens(s string, start, end int) (int, int) {
	for start > 0 && !isSpace(s[start-1]) {
		start--
	}
	for end < len(s) && !isSpace(s[end]) {
		end++
	}
	return start, end
}

// tokensWith returns the whitespace-delimited tokens that hold c.
func tokensWith(s string, c byte) [][2]int {
	var ws [][2]int
	for i := 0; i < len(s); {
		j := strings.IndexByte(s[i:], c)
		if j < 0 {
			break
		}
		start, end := toTokens(s, i+j, i+j)
		ws = append(ws, [2]int{start, end})
		i = end
	}
	return ws
}

func isSpace(c byte) bool { return c == ' ' || c == '\n' || c == '\t' || c == '\r' }

// outranked reports whether another candidate overlapping f scores higher
// (or, at a tie, covers more, or comes first).
func outranked(f guard.Finding, i int, all []guard.Finding) bool {
	for j, o := range all {
		if j == i || o.End <= f.Start || o.Start >= f.End {
			continue
		}
		switch {
		case o.Score > f.Score,
			o.Score == f.Score && o.End-o.Start > f.End-f.Start,
			o.Score == f.Score && o.End-o.Start == f.End-f.Start && j < i:
			return true
		}
	}
	return false
}

// needDigits is the fewest digits a text needs for the recognizer to
// match, so prose without numbers skips the numeric patterns.
func (r *recognizer) needDigits() int {
	switch r.entities[0] {
	case CreditCard:
		return 12
	case Phone, USSSN, UKNHS, IBAN, UKNINO:
		return 6
	case IPAddress, DateOfBirth:
		return 2
	}
	return 0
}

func countDigits(s string) int {
	n := 0
	for i := 0; i < len(s); i++ {
		if s[i] >= '0' && s[i] <= '9' {
			n++
		}
	}
	return n
}

func has(sub string) func(string) bool {
	return func(s string) bool { return strings.Contains(s, sub) }
}

// contextBefore reports whether any of words appears, as a word, in the
// window of text before start (and a little after end, for "… is my SSN").
func nearby(text string, start, end int, words []string) bool {
	lo, hi := max(0, start-48), min(len(text), end+24)
	w := strings.ToLower(text[lo:start]) + " " + strings.ToLower(text[end:hi])
	for _, word := range words {
		if i := strings.Index(w, word); i >= 0 {
			before := i == 0 || !isAlnum(w[i-1])
			after := i+len(word) >= len(w) || !isAlnum(w[i+len(word)])
			if before && after {
				return true
			}
		}
	}
	return false
}

func isAlnum(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

// boundary reports whether the candidate stands alone: not glued to
// letters, digits or number punctuation on either side (a card number
// inside a longer digit run is not a card number).
func boundary(text string, start, end int) bool {
	if start > 0 {
		c := text[start-1]
		if isAlnum(c) || c == '_' || (c == '-' || c == '.' || c == '/') && start > 1 && isDigit(text[start-2]) {
			return false
		}
	}
	if end < len(text) {
		c := text[end]
		if isAlnum(c) || c == '_' || (c == '-' || c == '.' || c == '/') && end+1 < len(text) && isDigit(text[end+1]) {
			return false
		}
	}
	return true
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// digitsOf returns the digits of s, skipping separators.
func digitsOf(s string) []byte {
	d := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		if isDigit(s[i]) {
			d = append(d, s[i])
		}
	}
	return d
}

// consistentSeparators reports whether s separates its digit groups with
// one kind of separator, as written numbers do.
func consistentSeparators(s string) bool {
	_, seps := digitGroups(s)
	return sameSeparators(seps)
}

func clamp(x float64) float64 { return min(1, max(0, x)) }
