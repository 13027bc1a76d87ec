package pii

import (
	"net/netip"
	"regexp"
	"strings"

	"github.com/modelgate/modelgate/guard"
)

var recognizers = []recognizer{
	{entities: []string{URLCredentials}, need: has("://"),
		re:    regexp.MustCompile(`(?i)\b[a-z][a-z0-9+.\-]{1,15}://[^\s/?#@:]+:[^\s/?#@]+@[^\s/?#]+(?:[/?#][^\s<>"'` + "`" + `)\]]*)?`),
		score: func(m, text string, start int) (string, float64) { return URLCredentials, 0.95 }},
	{entities: []string{Email}, need: has("@"), atTokens: true,
		re:    regexp.MustCompile(`(?i)[a-z0-9][a-z0-9._%+\-]*@[a-z0-9](?:[a-z0-9\-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9\-]*[a-z0-9])?)*\.[a-z]{2,24}\b`),
		score: emailScore},
	{entities: []string{CreditCard}, numeric: true,
		re:    regexp.MustCompile(`\d(?:` + sep + `?\d){11,39}`),
		spans: cardSpans, score: cardScore},
	{entities: []string{IBAN}, need: ibanNeed,
		re:    regexp.MustCompile(`(?i)\b[a-z]{2}\d{2}(?:[^\pL\pN]{0,3}[a-z0-9]){11,30}`),
		spans: ibanSpan, score: ibanScore},
	{entities: []string{USSSN, USITIN}, numeric: true,
		re:    regexp.MustCompile(`\d{3}` + sep + `?\d{2}` + sep + `?\d{4}`),
		score: ssnScore},
	{entities: []string{UKNHS}, numeric: true,
		re:    regexp.MustCompile(`\d{3}` + sep + `?\d{3}` + sep + `?\d{4}`),
		score: nhsScore},
	{entities: []string{UKNINO}, need: ninoNeed,
		re:    regexp.MustCompile(`(?i)\b[a-z]{2} ?\d{2} ?\d{2} ?\d{2} ?[a-d]\b`),
		score: ninoScore},
	{entities: []string{Phone}, numeric: true,
		re:    regexp.MustCompile(`(?:\+|\b00)?\(?\d[\d \-.()/]{5,22}\d`),
		score: phoneScore},
	{entities: []string{IPAddress}, need: has("."), numeric: true,
		re:    regexp.MustCompile(`\d{1,3}(?:\.\d{1,3}){3}`),
		score: ipv4Score},
	{entities: []string{IPAddress}, need: has("::"),
		re:    regexp.MustCompile(`(?i)[0-9a-f]{0,4}(?::[0-9a-f]{0,4}){2,7}(?:%[a-z0-9]+)?`),
		score: ipv6Score},
	{entities: []string{MACAddress}, need: macNeed,
		re:    regexp.MustCompile(`(?i)\b(?:[0-9a-f]{2}[:\-]){5}[0-9a-f]{2}\b|\b[0-9a-f]{4}\.[0-9a-f]{4}\.[0-9a-f]{4}\b`),
		score: macScore},
	{entities: []string{CryptoWallet}, need: walletNeed,
		re:    regexp.MustCompile(`\b[13][1-9A-HJ-NP-Za-km-z]{25,34}\b|(?i)\bbc1[02-9ac-hj-np-z]{11,71}\b|\b0x[0-9a-fA-F]{40}\b`),
		score: walletScore},
	{entities: []string{DateOfBirth}, need: func(s string) bool { return anyWord(s, dobWords) },
		re:    regexp.MustCompile(`(?i)\b(?:\d{1,2}[/.\-]\d{1,2}[/.\-](?:\d{4}|\d{2})|\d{4}-\d{2}-\d{2}|\d{1,2}(?:st|nd|rd|th)?\.? (?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?,? \d{4}|(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.? \d{1,2}(?:st|nd|rd|th)?,? \d{4})\b`),
		score: dobScore},
}

var (
	cardWords    = []string{"card", "credit", "debit", "visa", "mastercard", "amex", "cc", "ccn", "payment", "pan", "kreditkarte", "carte"}
	phoneWords   = []string{"phone", "tel", "telephone", "call", "mobile", "cell", "contact", "fax", "whatsapp", "text me", "sms", "number", "telefon", "handy", "téléphone", "portable", "mob"}
	ssnWords     = []string{"ssn", "social security", "social-security", "ss#", "itin", "taxpayer", "tin"}
	nhsWords     = []string{"nhs", "health service", "patient", "nhs no", "nhs number"}
	ninoWords    = []string{"national insurance", "nino", "ni number", "ni no", "insurance number"}
	ipWords      = []string{"ip", "ip address", "address", "server", "host", "addr", "ipv4", "ipv6", "connect", "client"}
	macWords     = []string{"mac", "mac address", "hardware address", "ethernet", "wifi", "bssid", "device"}
	walletWords  = []string{"wallet", "btc", "bitcoin", "eth", "ether", "ethereum", "send", "address", "crypto", "usdt"}
	dobWords     = []string{"born", "birth", "dob", "d.o.b", "birthday", "date of birth", "birthdate", "geboren", "geburtsdatum", "né", "née", "né le", "date de naissance", "age"}
	versionWords = []string{"version", "v", "release", "build", "firmware", "oid"}
)

func emailScore(m, text string, start int) (string, float64) {
	at := strings.IndexByte(m, '@')
	local := m[:at]
	if local == "" || local[0] == '.' || local[len(local)-1] == '.' || strings.Contains(local, "..") {
		return "", 0
	}
	return Email, 0.9
}

func cardScore(m, text string, start int) (string, float64) {
	end := start + len(m)
	if !boundary(text, start, end) {
		return "", 0
	}
	groups, seps := digitGroups(m)
	d := digitsOf(m)
	if len(d) < 12 || len(d) > 19 || allSame(d) || !luhn(d) {
		return "", 0
	}
	network := cardNetwork(d)
	if !sameSeparators(seps) && (network == "" || !plausibleCardGroups(groups)) {
		// Mixed separators need the stronger evidence: a network's
		// number, grouped as cards are printed.
		return "", 0
	}
	score := 0.4
	if network != "" {
		score = 0.85
	}
	if nearby(text, start, end, cardWords) {
		score += 0.3
	}
	return CreditCard, clamp(score)
}

// ibanSpan cuts an IBAN candidate at its country's length: the pattern
// runs on through the words that follow it.
func ibanSpan(m string) [][2]int {
	want := ibanLengths[strings.ToUpper(m[:2])]
	n := 0
	for i := 0; i < len(m); i++ {
		if isAlnum(m[i]) {
			n++
			if n == want {
				return [][2]int{{0, i + 1}}
			}
		}
	}
	return nil
}

func ibanScore(m, text string, start int) (string, float64) {
	if !boundary(text, start, start+len(m)) || !validIBAN(alnumOnly(m)) {
		return "", 0
	}
	return IBAN, 0.95
}

func ssnScore(m, text string, start int) (string, float64) {
	end := start + len(m)
	if !boundary(text, start, end) {
		return "", 0
	}
	_, seps := digitGroups(m)
	consistent := sameSeparators(seps)
	d := digitsOf(m)
	ctx := nearby(text, start, end, ssnWords)
	sep := len(seps) > 0
	switch {
	case validITIN(d):
		s := 0.3 // nine bare digits are many things
		if sep && consistent {
			s = 0.65
		} else if sep {
			s = 0.45
		}
		if ctx {
			s += 0.3
		}
		return USITIN, clamp(s)
	case validSSN(d):
		s := 0.3
		switch {
		case sep && !consistent:
			s = 0.45
		case sep && seps[0] == "-":
			s = 0.6
		case sep:
			s = 0.5
		}
		if ctx {
			s += 0.35
		}
		return USSSN, clamp(s)
	}
	return "", 0
}

func nhsScore(m, text string, start int) (string, float64) {
	end := start + len(m)
	if !boundary(text, start, end) || !consistentSeparators(m) {
		return "", 0
	}
	if d := digitsOf(m); allSame(d) || !validNHS(d) {
		return "", 0
	}
	s := 0.4
	if nearby(text, start, end, nhsWords) {
		s = 0.9
	}
	return UKNHS, s
}

func ninoScore(m, text string, start int) (string, float64) {
	if !validNINO(m) {
		return "", 0
	}
	s := 0.5
	if m == strings.ToUpper(m) {
		s = 0.7
	}
	if nearby(text, start, start+len(m), ninoWords) {
		s += 0.3
	}
	return UKNINO, clamp(s)
}

func ipv4Score(m, text string, start int) (string, float64) {
	end := start + len(m)
	if !boundary(text, start, end) {
		return "", 0
	}
	if _, err := netip.ParseAddr(m); err != nil {
		return "", 0
	}
	s := 0.6
	if nearby(text, start, end, ipWords) {
		s += 0.25
	}
	if nearby(text, start, end, versionWords) || start > 0 && (text[start-1] == 'v' || text[start-1] == 'V') {
		s -= 0.4
	}
	return IPAddress, clamp(s)
}

func ipv6Score(m, text string, start int) (string, float64) {
	end := start + len(m)
	if !boundary(text, start, end) || start > 0 && text[start-1] == ':' || end < len(text) && text[end] == ':' {
		return "", 0
	}
	groups := 0
	for g := range strings.SplitSeq(strings.SplitN(m, "%", 2)[0], ":") {
		if g != "" {
			groups++
		}
	}
	if groups < 3 || !strings.Contains(m, "::") && strings.Count(m, ":") != 7 {
		return "", 0
	}
	if _, err := netip.ParseAddr(m); err != nil {
		return "", 0
	}
	s := 0.7
	if nearby(text, start, end, ipWords) {
		s += 0.2
	}
	return IPAddress, clamp(s)
}

func macScore(m, text string, start int) (string, float64) {
	if !consistentSeparators(strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'f' || r >= 'A' && r <= 'F' {
			return '0'
		}
		return r
	}, m)) {
		return "", 0
	}
	s := 0.7
	if nearby(text, start, start+len(m), macWords) {
		s += 0.2
	}
	return MACAddress, s
}

func walletScore(m, text string, start int) (string, float64) {
	ctx := nearby(text, start, start+len(m), walletWords)
	switch {
	case strings.HasPrefix(m, "0x"):
		hex := m[2:]
		if hex != strings.ToLower(hex) && hex != strings.ToUpper(hex) {
			if !eip55(m) {
				return "", 0
			}
			return CryptoWallet, 0.95
		}
		if ctx {
			return CryptoWallet, 0.85
		}
		return CryptoWallet, 0.55
	case len(m) > 3 && strings.EqualFold(m[:3], "bc1"):
		if validBech32(m) {
			return CryptoWallet, 0.95
		}
	case validBase58Check(m):
		return CryptoWallet, 0.95
	}
	return "", 0
}

var months = map[string]bool{"jan": true, "feb": true, "mar": true, "apr": true, "may": true, "jun": true, "jul": true, "aug": true, "sep": true, "oct": true, "nov": true, "dec": true}

func dobScore(m, text string, start int) (string, float64) {
	end := start + len(m)
	if !boundary(text, start, end) || !plausibleDate(m) {
		return "", 0
	}
	if !nearby(text, start, end, dobWords) {
		return "", 0 // a date alone is not personal data
	}
	return DateOfBirth, 0.85
}

// plausibleDate checks the numbers of a date: some field is a year (19xx,
// 20xx or two digits), a month in 1–12 and a day in 1–31.
func plausibleDate(m string) bool {
	var nums []int
	for f := range strings.FieldsFuncSeq(m, func(r rune) bool { return r < '0' || r > '9' }) {
		nums = append(nums, atoi(f))
	}
	lower := strings.ToLower(m)
	for name := range months {
		if strings.Contains(lower, name) {
			return len(nums) == 2 && nums[0] >= 1 && nums[0] <= 31 && nums[1] >= 1900 && nums[1] <= 2100
		}
	}
	if len(nums) != 3 {
		return false
	}
	y, a, b := nums[2], nums[0], nums[1]
	if nums[0] > 31 { // ISO: year first
		y, a, b = nums[0], nums[2], nums[1]
	}
	if y >= 100 && (y < 1900 || y > 2100) {
		return false
	}
	return a >= 1 && b >= 1 && (a <= 12 && b <= 31 || a <= 31 && b <= 12)
}

func atoi(s string) int {
	n := 0
	for i := 0; i < len(s) && i < 9; i++ {
		n = n*10 + int(s[i]-'0')
	}
	return n
}

// The needs below are cheap scans that let a recognizer skip a text with
// no candidate at all; each accepts a superset of what its pattern matches.

// ibanNeed: two letters then two digits.
func ibanNeed(s string) bool {
	for i := 0; i+4 <= len(s); i++ {
		if isLetter(s[i]) && isLetter(s[i+1]) && isDigit(s[i+2]) && isDigit(s[i+3]) {
			return true
		}
	}
	return false
}

// ninoNeed: a two-letter word, then three pairs of digits with optional
// spaces between.
func ninoNeed(s string) bool {
	for i := 0; i+8 <= len(s); i++ {
		if !isLetter(s[i]) || !isLetter(s[i+1]) || i > 0 && isAlnum(s[i-1]) {
			continue
		}
		j, pairs := i+2, 0
		for ; pairs < 3; pairs++ {
			if j < len(s) && s[j] == ' ' {
				j++
			}
			if j+2 > len(s) || !isDigit(s[j]) || !isDigit(s[j+1]) {
				break
			}
			j += 2
		}
		if pairs == 3 {
			return true
		}
	}
	return false
}

// macNeed: two hex digits, a separator, two hex digits, the same separator.
func macNeed(s string) bool {
	for i := 2; i+3 < len(s); i++ {
		if c := s[i]; (c == ':' || c == '-' || c == '.') && isHex(s[i-1]) && isHex(s[i-2]) && isHex(s[i+1]) && isHex(s[i+2]) {
			return true
		}
	}
	return false
}

// walletNeed: "0x", "bc1", or a token of 26 to 35 characters starting with
// 1 or 3.
func walletNeed(s string) bool {
	if strings.Contains(s, "0x") || strings.Contains(s, "bc1") || strings.Contains(s, "BC1") {
		return true
	}
	for i := 0; i < len(s); i++ {
		if (s[i] == '1' || s[i] == '3') && (i == 0 || !isAlnum(s[i-1])) {
			j := i
			for j < len(s) && isAlnum(s[j]) {
				j++
			}
			if n := j - i; n >= 26 && n <= 35 {
				return true
			}
			i = j
		}
	}
	return false
}

func anyWord(s string, words []string) bool {
	return guard.HasWord(strings.ToLower(s), words...)
}

func isLetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

func isHex(c byte) bool { return isDigit(c) || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F' }
