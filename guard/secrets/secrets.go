// Package secrets finds credentials in text: the ~220 rules of gitleaks
// (cloud keys, tokens, private keys, connection strings), a private-key
// header that needs no end marker (so a key streamed in pieces is caught
// from its first line), and a high-entropy check for tokens no rule knows.
package secrets

import (
	"math"

	"regexp"
	"strings"
	"sync"

	ahocorasick "github.com/BobuSumisu/aho-corasick"

	"github.com/modelgate/modelgate/guard"
	"github.com/rs/zerolog"
	"github.com/zricethezav/gitleaks/v8/config"
	"github.com/zricethezav/gitleaks/v8/detect"
	"github.com/zricethezav/gitleaks/v8/logging"
)

// Entity types beside gitleaks' rule IDs (which are reported upper-cased,
// with '-' as '_': GITHUB_PAT, AWS_ACCESS_TOKEN, …).
const (
	PrivateKey  = "PRIVATE_KEY"
	HighEntropy = "HIGH_ENTROPY_TOKEN"
)

// The gitleaks detector is built once per process: its default
// configuration is read through viper's global state, and building it
// compiles ~220 regular expressions (about 50 ms). Detecting is safe for
// concurrent use.
var shared struct {
	once     sync.Once
	d        *detect.Detector
	prefixes *ahocorasick.Trie // keywords that can start a credential
	keywords *ahocorasick.Trie // every rule's keywords
	err      error
}

func gitleaks() (*detect.Detector, error) {
	shared.once.Do(func() {
		logging.Logger = zerolog.Nop() // the library logs to stderr otherwise
		shared.d, shared.err = detect.NewDetectorDefaultConfig()
		if shared.err == nil {
			shared.prefixes = keywordTrie(prefixKeywords(shared.d.Config))
			shared.keywords = keywordTrie(shared.d.Config.Keywords)
		}
	})
	return shared.d, shared.err
}

// Detector finds credentials.
type Detector struct {
	gl       *detect.Detector
	prefixes *ahocorasick.Trie // keywords that start a credential, for rebuilding
	keywords *ahocorasick.Trie // every rule's keywords
	// MinEntropy is the Shannon entropy, in bits per character, from which
	// an unexplained token counts as a secret; zero disables the check.
	MinEntropy float64
}

// New returns a detector with gitleaks' default rules and the entropy check
// at 4.2 bits per character.
func New() (*Detector, error) {
	gl, err := gitleaks()
	if err != nil {
		return nil, err
	}
	return &Detector{gl: gl, prefixes: shared.prefixes, keywords: shared.keywords, MinEntropy: 4.2}, nil
}

// Entities lists the entity types the detector reports.
func (d *Detector) Entities() []string {
	out := []string{PrivateKey, HighEntropy}
	for id := range d.gl.Config.Rules {
		out = append(out, entity(id))
	}
	return out
}

func entity(ruleID string) string {
	return strings.ToUpper(strings.ReplaceAll(ruleID, "-", "_"))
}

// Detect reports the credentials in t. Spans cover the secret itself, not
// the "password=" before it.
func (d *Detector) Detect(t *guard.Text, emit func(guard.Finding)) {
	n := t.Norm()
	s := n.Text
	var spans [][2]int
	report := func(e string, start, end int, score float64) {
		for _, sp := range spans {
			if start < sp[1] && end > sp[0] {
				return // already reported under another rule
			}
		}
		spans = append(spans, [2]int{start, end})
		a, b := n.Span(start, end)
		emit(guard.Finding{Entity: e, Start: a, End: b, Score: score})
	}
	for _, loc := range privateKeyHeaders(s) {
		end := len(s)
		if i := strings.Index(s[loc[1]:], "-----END"); i >= 0 {
			end = loc[1] + i
			if j := strings.Index(s[end+8:], "-----"); j >= 0 {
				end += 8 + j + 5
			}
		}
		report(PrivateKey, loc[0], end, 1)
	}
	// The windows and the rebuilt texts are read by the rules in one call:
	// each call costs more than most windows hold.
	var pieces []rebuilt
	for _, w := range candidateWindows(s) {
		pieces = append(pieces, rebuilt{text: s[w[0]:w[1]], start: w[0], end: w[1], score: 0.9})
	}
	pieces = d.rebuild(pieces, s)
	d.scan(pieces, report)
	// Identifiers are random by design: only the rules judge them.
	if d.MinEntropy > 0 && t.Kind != guard.Identifier {
		d.entropy(s, report)
	}
}

// candidateWindows returns the parts of s that may hold a credential, for
// gitleaks to read: around every token that looks generated (eight or more
// characters mixing letters with digits or key punctuation, or sixteen
// holding upper case, as AWS key ids do) and every "key:"/"token="-style assignment, reaching back
// far enough for the rules' keywords. gitleaks reads every byte of what it
// is given with many expressions; prose holds few such tokens, so most of
// it is never read.
func candidateWindows(s string) [][2]int {
	const back, ahead = 96, 32
	var ws [][2]int
	add := func(a, b int) {
		a, b = max(0, a-back), min(len(s), b+ahead)
		for a > 0 && !isSpace(s[a-1]) {
			a--
		}
		for b < len(s) && !isSpace(s[b]) {
			b++
		}
		if k := len(ws); k > 0 && a <= ws[k-1][1] {
			ws[k-1][1] = max(ws[k-1][1], b)
			return
		}
		ws = append(ws, [2]int{a, b})
	}
	for i := 0; i < len(s); {
		if isSpace(s[i]) {
			i++
			continue
		}
		j := i
		var letter, digit, punct, upper, assigns bool
		for j < len(s) && !isSpace(s[j]) {
			switch c := s[j]; {
			case c == ':' || c == '=':
				punct, assigns = true, true
			case c >= 'a' && c <= 'z':
				letter = true
			case c >= 'A' && c <= 'Z':
				letter, upper = true, true
			case c >= '0' && c <= '9':
				digit = true
			case c == '_' || c == '-' || c == '+' || c == '/' || c == '.' || c == '@' || c == '$' || c == '!':
				punct = true
			}
			j++
		}
		n := j - i
		if email(s[i:j]) {
			i = j
			continue // an address is not a credential (URLs with passwords have ':')
		}
		if n >= 8 && letter && (digit || punct && n >= 12) || n >= 16 && upper || assigns && assignment(s[i:j]) {
			add(i, j)
		}
		i = j
	}
	return ws
}

// email reports whether a token is shaped like a plain email address.
func email(tok string) bool {
	at := strings.IndexByte(tok, '@')
	return at > 0 && !strings.ContainsAny(tok, ":/=") && strings.Contains(tok[at:], ".")
}

// assignment reports whether a token names a credential being set:
// password=, api_key:, "token":, Authorization: …
func assignment(tok string) bool {
	t := strings.ToLower(tok)
	for _, k := range []string{"key", "token", "secret", "passw", "pwd", "auth", "credential", "bearer", "apikey", "private"} {
		if strings.Contains(t, k) {
			return true
		}
	}
	return false
}

func isSpace(c byte) bool { return c == ' ' || c == '\n' || c == '\t' || c == '\r' }

var privateKeyHeader = regexp.MustCompile(`-----BEGIN[ A-Z0-9_-]{0,100}PRIVATE KEY(?: BLOCK)?-----`)

func privateKeyHeaders(s string) [][]int {
	if !strings.Contains(s, "-----BEGIN") {
		return nil
	}
	return privateKeyHeader.FindAllStringIndex(s, -1)
}

func newlines(s string) []int {
	out := []int{}
	for i := 0; i < len(s); i++ {
		if s[i] == '\n' {
			out = append(out, i)
		}
	}
	return out
}

// locate turns gitleaks' line and column positions back into a byte span,
// narrowed to the secret within the match.
func locate(s string, lines []int, startLine, startCol, endLine, endCol int, match, secret string) (int, int, bool) {
	base := func(line int) int {
		if line <= 0 || line > len(lines) {
			return 0
		}
		return lines[line-1]
	}
	start := base(startLine) + startCol - 1
	end := base(endLine) + endCol
	if start < 0 || end > len(s) || start >= end {
		if i := strings.Index(s, match); i >= 0 && match != "" {
			start, end = i, i+len(match)
		} else {
			return 0, 0, false
		}
	}
	if !strings.HasPrefix(s[start:], match) {
		if i := strings.Index(s, match); i >= 0 && match != "" {
			start, end = i, i+len(match)
		}
	}
	if secret != "" {
		if i := strings.Index(s[start:end], secret); i >= 0 {
			return start + i, start + i + len(secret), true
		}
	}
	return start, end, true
}

// entropy reports tokens that look random enough to be credentials. A
// token here is a run of characters found in keys (letters, digits and
// + / _ - = .) of 24 to 512 bytes that mixes letters and digits. Pure hex
// is left to the rules: digests and commit ids are hex and are not secrets.
func (d *Detector) entropy(s string, report func(string, int, int, float64)) {
	for i := 0; i < len(s); {
		if !tokenChar(s[i]) {
			i++
			continue
		}
		j := i
		for j < len(s) && tokenChar(s[j]) {
			j++
		}
		if j-i < 24 {
			i = j
			continue
		}
		tok := strings.TrimRight(s[i:j], ".=-_")
		if len(tok) >= 24 && len(tok) <= 512 && keyLike(tok) && shannon(tok) >= d.MinEntropy && !encodesText(s[i:j]) {
			report(HighEntropy, i, i+len(tok), 0.7)
		}
		i = j
	}
}

// encodesText reports whether a token is base64 or hex of printable text:
// encoded text, which the rescan reads decoded, not a key.
func encodesText(tok string) bool {
	_, ok := decodeToken(tok)
	return ok
}

func tokenChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
		c == '+' || c == '/' || c == '_' || c == '-' || c == '=' || c == '.'
}

// keyLike reports whether a token mixes upper case, lower case and digits,
// as generated keys do, and is neither hex nor a path of words.
func keyLike(tok string) bool {
	var upper, lower, digit, slash int
	hex := true
	for i := 0; i < len(tok); i++ {
		c := tok[i]
		switch {
		case c >= 'A' && c <= 'Z':
			upper++
			hex = hex && c <= 'F'
		case c >= 'a' && c <= 'z':
			lower++
			hex = hex && c <= 'f'
		case c >= '0' && c <= '9':
			digit++
		case c == '/':
			slash++
		}
	}
	if hex || upper == 0 || lower == 0 || digit < 2 {
		return false
	}
	return slash*8 < len(tok) // a/b/c/d paths are not keys
}

// shannon returns the Shannon entropy of s in bits per byte.
func shannon(s string) float64 {
	var counts [256]int
	for i := 0; i < len(s); i++ {
		counts[s[i]]++
	}
	h, n := 0.0, float64(len(s))
	for _, c := range counts {
		if c > 0 {
			p := float64(c) / n
			h -= p * math.Log2(p)
		}
	}
	return h
}

// GitleaksConfig returns gitleaks' default configuration, for callers that
// build a detector of their own from some of its rules. The rules are
// shared: callers must not change them.
func GitleaksConfig() (config.Config, error) {
	d, err := gitleaks()
	if err != nil {
		return config.Config{}, err
	}
	return d.Config, nil
}
