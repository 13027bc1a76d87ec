package pii

import "strings"

// countryLengths gives, for the countries the issue names and a few more,
// the digits an international number has after its country code.
var countryLengths = map[string][2]int{
	"1": {10, 10}, "44": {9, 10}, "49": {6, 13}, "33": {9, 9}, "91": {10, 10},
	"34": {9, 9}, "39": {6, 11}, "31": {9, 9}, "32": {8, 9}, "41": {9, 9}, "43": {4, 13},
	"45": {8, 8}, "46": {7, 9}, "47": {8, 8}, "48": {9, 9}, "351": {9, 9}, "353": {7, 9},
	"61": {9, 9}, "64": {8, 10}, "81": {9, 10}, "82": {8, 10}, "86": {11, 11}, "55": {10, 11},
	"52": {10, 10}, "27": {9, 9}, "234": {8, 10}, "7": {10, 10}, "971": {8, 9}, "65": {8, 8},
}

// phoneScore recognises international (E.164, with + or 00) and national
// numbers of the US, UK, Germany, France and India by their digit counts
// and leading digits. A number that fits no plan is dropped; a bare digit
// run fits many things and scores low without a context word.
func phoneScore(m, text string, start int) (string, float64) {
	end := start + len(m)
	if !boundary(text, start, end) || strings.Count(m, "(") != strings.Count(m, ")") || looksLikeDate(m) || ssnShaped(m) {
		return "", 0
	}
	d := digitsOf(m)
	intl := m[0] == '+'
	if !intl && strings.HasPrefix(m, "00") {
		intl, d = true, d[2:]
	}
	if len(d) < 7 || len(d) > 15 || d[0] == '0' && intl || allSame(d) {
		return "", 0
	}
	if nearby(text, start, end, nhsWords) {
		return "", 0 // an NHS number's context: that recognizer decides
	}
	if afterAccountCode(text, start) {
		return "", 0 // the digits of an account number (an IBAN's tail)
	}
	formatted := strings.ContainsAny(m, " -.()/")
	s := 0.0
	if intl {
		s = 0.55
		if m[0] != '+' && !formatted {
			s = 0.4 // 00 and a digit run: as likely a zero-padded number
		}
		for cc, n := range countryLengths {
			if strings.HasPrefix(string(d), cc) {
				if rest := len(d) - len(cc); rest >= n[0] && rest <= n[1] {
					s = 0.8
				}
			}
		}
	} else {
		s = nationalScore(d)
		if s > 0 && !formatted {
			s -= 0.1
		}
	}
	if s == 0 {
		return "", 0
	}
	if nearby(text, start, end, phoneWords) {
		s += 0.3
	}
	return Phone, clamp(s)
}

// nationalScore scores a number written without its country code.
func nationalScore(d []byte) float64 {
	n := len(d)
	switch {
	case n == 11 && d[0] == '1' && d[1] >= '2' && d[4] >= '2': // US with trunk 1
		return 0.5
	case n == 10 && d[0] >= '2' && d[3] >= '2': // US (NANP)
		return 0.5
	case n == 10 && d[0] >= '6': // Indian mobile, written 5+5
		return 0.5
	case d[0] != '0' || d[1] == '0':
		return 0
	case n == 10 || n == 11: // UK 01/02/03/07/08…, FR 0X XX XX XX XX, IN 0 + mobile, DE
		return 0.5
	case n == 12: // DE area codes and subscriber numbers run long
		return 0.45
	}
	return 0
}

// looksLikeDate reports whether a candidate is a date written with
// separators (2024-01-15, 15.01.2024, 01/15/2024).
func looksLikeDate(m string) bool {
	return len(m) <= 10 && plausibleDate(m) && strings.ContainsAny(m, "-./") && !strings.Contains(m, " ")
}

// afterAccountCode reports whether the candidate follows, within a token
// or two, a code such as an IBAN's "NL58 RKAQ": letters and digits mixed.
func afterAccountCode(text string, start int) bool {
	before := strings.Fields(text[max(0, start-12):start])
	for _, f := range before {
		if len(f) >= 4 && isLetter(f[0]) && isLetter(f[1]) && isDigit(f[2]) && isDigit(f[3]) {
			return true
		}
	}
	return false
}

// ssnShaped reports whether m is written ddd-dd-dddd, the shape of a US
// social security number and of no phone number plan.
func ssnShaped(m string) bool {
	return len(m) == 11 && m[3] == '-' && m[6] == '-' && len(digitsOf(m)) == 9
}
