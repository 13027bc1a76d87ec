package secrets

import (
	"encoding/base64"
	"encoding/hex"
	"iter"
	"slices"
	"sort"
	"strings"
	"unicode/utf8"

	ahocorasick "github.com/BobuSumisu/aho-corasick"
	"github.com/zricethezav/gitleaks/v8/config"

	"github.com/modelgate/modelgate/guard"
)

// Credentials are hidden from rules that read them whole by splitting and
// encoding them. rebuild makes what the rules would have seen, to be read
// it again:
//
//   - groups: a key written in even chunks with one separator between them
//     ("AKIA-Z3MS-JV4W-…", a token with a newline every eight characters)
//     is joined;
//   - parts: a fragment that starts like a credential (it begins with one
//     of the rules' keywords: AKIA, ghp_, sk-, xoxb…) is joined with the
//     one or two key-shaped fragments that follow it ("part 1: AKIAZ3MSJV
//     part 2: 4WWNKWW5FG");
//   - embedded: a credential inside a longer token, after an underscore,
//     dot or dash ("call_AKIA…"), which the rules' word boundaries miss;
//   - encoded: a token that is base64 or hex of printable text is decoded.
//
// A rebuilt text is read by the rules only, not by the entropy check: a
// join of ordinary chunks can look random without being a secret. What is
// found is reported over the span of the original text it came from.

// rebuilt is a text for the rules to read: a window of the normalised
// text, or a text made from parts of it (off[i] is the offset of byte i),
// or decoded from a token (every byte maps to the token's span).
type rebuilt struct {
	text       string
	off        []int
	start, end int // the window, or the decoded token
	decoded    bool
	score      float64 // what a finding in it scores
}

func (r *rebuilt) span(a, b int) (int, int) {
	switch {
	case r.off != nil:
		return r.off[a], r.off[b-1] + 1
	case r.decoded:
		return r.start, r.end
	}
	return r.start + a, r.start + b
}

// keywordTrie finds the rules' keywords (lower case) in a text.
func keywordTrie(keywords map[string]struct{}) *ahocorasick.Trie {
	b := ahocorasick.NewTrieBuilder()
	for k := range keywords {
		b.AddString(k)
	}
	return b.Build()
}

// genericRules find a secret by the word before it ("password = …"), not
// by its own shape; their keywords (password, token, key, …) start no
// credential, and joining fragments after them would only make the rules
// read source code over and over.
var genericRules = []string{"generic-api-key"}

// prefixKeywords returns the keywords that can start a credential: every
// rule's, but the generic rules'.
func prefixKeywords(cfg config.Config) map[string]struct{} {
	generic := map[string]bool{}
	for _, id := range genericRules {
		for _, k := range cfg.Rules[id].Keywords {
			generic[strings.ToLower(k)] = true
		}
	}
	out := map[string]struct{}{}
	for k := range cfg.Keywords {
		if !generic[k] {
			out[k] = struct{}{}
		}
	}
	return out
}

// pieceSeparator stands between the texts read in one pass: no rule
// matches across a NUL on a line of its own.
const pieceSeparator = "\n\x00\n"

// rebuild adds the texts rebuilt from s to pieces.
func (d *Detector) rebuild(pieces []rebuilt, s string) []rebuilt {
	n := len(pieces)
	pieces = d.appendGroups(pieces, s)
	pieces = d.appendParts(pieces, s)
	pieces = appendDecoded(pieces, s)
	for i := n; i < len(pieces); i++ {
		pieces[i].score = 0.85
	}
	return pieces
}

// batchBytes is how much the rules read in one call. Each call costs
// more than a small window holds, so small pieces are read together; but
// a rule whose keyword appears anywhere in a call reads all of it, so
// calls stay small.
const batchBytes = 512

// scan reads pieces with the rules, in batches, and reports what they
// find where it came from. Private-key headers are looked for in rebuilt
// texts (the windows' text is searched for them whole, by Detect).
func (d *Detector) scan(pieces []rebuilt, report func(string, int, int, float64)) {
	// Every rule but one (a file-name rule) needs one of its keywords in
	// what it reads: a piece with none is not worth a call.
	kept := pieces[:0]
	for _, p := range pieces {
		if d.hasKeyword(p.text) {
			kept = append(kept, p)
		}
	}
	pieces = kept
	for len(pieces) > 0 {
		n, size := 1, len(pieces[0].text)
		for n < len(pieces) && size+len(pieceSeparator)+len(pieces[n].text) <= batchBytes {
			size += len(pieceSeparator) + len(pieces[n].text)
			n++
		}
		d.scanBatch(pieces[:n], report)
		pieces = pieces[n:]
	}
}

// hasKeyword reports whether s holds one of the rules' keywords (which
// are lower case; gitleaks matches them case-insensitively).
func (d *Detector) hasKeyword(s string) bool {
	found := false
	d.keywords.Walk(guard.ASCIILower(s), func(_, _, _ int64) bool {
		found = true
		return false
	})
	return found
}

func (d *Detector) scanBatch(pieces []rebuilt, report func(string, int, int, float64)) {
	var all strings.Builder
	starts := make([]int, len(pieces))
	for i := range pieces {
		if i > 0 {
			all.WriteString(pieceSeparator)
		}
		starts[i] = all.Len()
		all.WriteString(pieces[i].text)
	}
	joined := all.String()
	// which returns the piece that holds joined[a:b], and the span within it.
	which := func(a, b int) (*rebuilt, int, int, bool) {
		i := sort.Search(len(starts), func(i int) bool { return starts[i] > a }) - 1
		if i < 0 || b > starts[i]+len(pieces[i].text) {
			return nil, 0, 0, false // across two pieces
		}
		return &pieces[i], a - starts[i], b - starts[i], true
	}
	for _, loc := range privateKeyHeaders(joined) {
		if r, a, b, ok := which(loc[0], loc[1]); ok && (r.off != nil || r.decoded) {
			x, y := r.span(a, b)
			report(PrivateKey, x, y, 1)
		}
	}
	lines := newlines(joined)
	for _, f := range d.gl.DetectString(joined) {
		start, end, ok := locate(joined, lines, f.StartLine, f.StartColumn, f.EndLine, f.EndColumn, f.Match, f.Secret)
		if !ok {
			continue
		}
		if r, a, b, ok := which(start, end); ok {
			x, y := r.span(a, b)
			report(entity(f.RuleID), x, y, r.score)
		}
	}
}

// keyByte reports whether c can be part of a credential.
func keyByte(c byte) bool {
	return isAlnum(c) || c == '_' || c == '-' || c == '+' || c == '/' || c == '='
}

func isAlnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// maxJoined bounds a text rebuilt from chunks or parts: no credential the
// rules know is longer.
const maxJoined = 256

// groupSeparators are the characters a key is split with.
const groupSeparators = " -.\n,:|/_"

// appendGroups adds each run of three or more chunks of two to twelve key
// characters, all of one length but the last (which may be shorter),
// joined by one separator, that add up to sixteen or more characters.
func (d *Detector) appendGroups(texts []rebuilt, s string) []rebuilt {
	chunk := func(i int, sep byte) int { // the end of the chunk at i
		j := i
		for j < len(s) && keyByte(s[j]) && s[j] != sep {
			j++
		}
		return j
	}
	for i := 0; i < len(s); {
		if !isAlnum(s[i]) || i > 0 && keyByte(s[i-1]) {
			i++
			continue
		}
		// The separator is what ends the first run of letters and digits
		// ("AKIA-…") or, when that is part of the key ("ghp_…"), what
		// ends the run of key characters.
		next := i + 1
		a := i
		for a < len(s) && isAlnum(s[a]) {
			a++
		}
		b := chunk(i, 0)
		for k, e := range [2]int{a, b} {
			if k == 1 && b == a || e >= len(s) || e+1 >= len(s) || !isAlnum(s[e+1]) || strings.IndexByte(groupSeparators, s[e]) < 0 {
				continue
			}
			rs, end, whole := d.groupRun(s, i, s[e], chunk)
			texts = append(texts, rs...)
			if whole {
				// Every start inside the run was tried (at its
				// keywords): go on after it.
				next = max(next, end)
				break
			}
		}
		i = max(next, b)
	}
	return texts
}

// groupRun reads a run of even chunks from i joined by sep. It measures
// the run before it copies anything: most runs are ordinary words. The
// words around a key may join its run ("is AK IA … W5 FG ok"), so the
// joined run is returned from its start and from each chunk where one of
// the rules' keywords begins, to its end and to one and two chunks before
// it.
func (d *Detector) groupRun(s string, i int, sep byte, chunk func(int, byte) int) (out []rebuilt, next int, whole bool) {
	end := chunk(i, sep)
	size := end - i
	if size < 2 || size > 12 {
		return nil, end, false
	}
	chunks, total, j := 1, size, end
	resume := -1 // where a shorter last chunk starts: it may start the next run
	for j+1 < len(s) && s[j] == sep && isAlnum(s[j+1]) {
		e := chunk(j+1, sep)
		n := e - (j + 1)
		if n > size {
			break
		}
		if n < size {
			resume = j + 1
		}
		chunks, total, j = chunks+1, total+n, e
		if n < size {
			break // a shorter chunk ends the run
		}
	}
	next = j
	if resume >= 0 {
		next = resume
	}
	if chunks < 3 || total < 16 {
		return nil, next, false
	}
	if !keyShaped(s[i:j]) {
		// Nothing in it mixes cases or holds a digit: no part of it can
		// be a credential (the separators are neither).
		return nil, next, true
	}
	text := make([]byte, 0, total)
	off := make([]int, 0, total)
	bounds := []int{0} // where each chunk starts in text, and its end
	for k := i; k < j; k++ {
		if s[k] == sep {
			bounds = append(bounds, len(text))
			continue
		}
		text, off = append(text, s[k]), append(off, k)
	}
	bounds = append(bounds, len(text))
	starts := []int{0}
	d.prefixes.Walk(guard.ASCIILower(string(text)), func(e, n, _ int64) bool {
		p := int(e - n + 1)
		if _, at := slices.BinarySearch(bounds, p); at && p > 0 && p != starts[len(starts)-1] {
			starts = append(starts, p)
		}
		return true
	})
	for _, a := range starts {
		// The last chunk end within maxJoined of the start, and one and
		// two chunks before it: no credential is longer.
		m := sort.SearchInts(bounds, a+maxJoined+1) - 1
		for _, b := range []int{bounds[m], bounds[max(m-1, 0)], bounds[max(m-2, 0)]} {
			if b-a >= 16 && keyShaped(string(text[a:b])) {
				out = append(out, rebuilt{text: string(text[a:b]), off: off[a:b]})
			}
		}
	}
	return out, next, true
}

// fragment is a run of key characters.
type fragment struct{ start, end int }

// appendParts adds, for every place a rule's keyword starts a fragment (or
// starts after an underscore or dash inside one), the fragment from there
// on; that without the punctuation after the keyword; and that joined with
// the next one and two key-shaped fragments within 64 bytes, passing over
// the words between ("part 2:").
func (d *Detector) appendParts(texts []rebuilt, s string) []rebuilt {
	type start struct{ at, keyword int }
	var starts []start
	d.prefixes.Walk(guard.ASCIILower(s), func(end, n, _ int64) bool {
		if p := int(end - n + 1); p == 0 || !keyByte(s[p-1]) || s[p-1] == '_' || s[p-1] == '-' {
			if k := len(starts); k > 0 && starts[k-1].at == p {
				starts[k-1].keyword = max(starts[k-1].keyword, int(n))
			} else {
				starts = append(starts, start{p, int(n)})
			}
		}
		return true
	})
	if len(starts) == 0 {
		return texts
	}
	frags := fragments(s)
	k := 0
	for _, st := range starts {
		p := st.at
		for k < len(frags) && frags[k].end <= p {
			k++
		}
		if k == len(frags) {
			break
		}
		f := frags[k]
		if p < f.start {
			continue
		}
		if p > f.start {
			texts = append(texts, rebuilt{text: s[p:f.end], off: seq(p, f.end)})
		}
		if r, ok := stripAfter(s, p, p+st.keyword, f.end); ok {
			// A key cut in two inside one token: "AKIAZ3MSJV4/WWNKWW5FG".
			texts = append(texts, r)
		}
		text, off := s[p:f.end], seq(p, f.end)
		prev, joined := f.end, 0
		for n := k + 1; n < len(frags) && joined < 2 && frags[n].start-prev <= 64; n++ {
			g := frags[n]
			if !keyShaped(s[g.start:g.end]) {
				continue
			}
			text += s[g.start:g.end]
			off = append(off, seq(g.start, g.end)...)
			if len(text) >= 16 {
				texts = append(texts, rebuilt{text: text, off: off})
			}
			prev, joined = g.end, joined+1
		}
	}
	return texts
}

// stripAfter returns s[from:to] without the punctuation after the keyword
// ending at kw, or false when there is none to strip.
func stripAfter(s string, from, kw, to int) (rebuilt, bool) {
	var text []byte
	var off []int
	for i := from; i < to; i++ {
		if i >= kw && !isAlnum(s[i]) {
			if text == nil {
				text, off = []byte(s[from:i]), seq(from, i)
			}
			continue
		}
		if text != nil {
			text, off = append(text, s[i]), append(off, i)
		}
	}
	if text == nil || len(text) < 16 {
		return rebuilt{}, false
	}
	return rebuilt{text: string(text), off: off}, true
}

// fragments returns the runs of key characters of four bytes or more.
func fragments(s string) []fragment {
	var out []fragment
	for i, j := range keyRuns(s) {
		if j-i >= 4 {
			out = append(out, fragment{i, j})
		}
	}
	return out
}

// keyRuns yields the start and end of each run of key characters in s.
func keyRuns(s string) iter.Seq2[int, int] {
	return func(yield func(int, int) bool) {
		for i := 0; i < len(s); {
			if !keyByte(s[i]) {
				i++
				continue
			}
			j := i
			for j < len(s) && keyByte(s[j]) {
				j++
			}
			if !yield(i, j) {
				return
			}
			i = j
		}
	}
}

// keyShaped reports whether a fragment looks generated: it holds a digit,
// or upper and lower case letters.
func keyShaped(f string) bool {
	var digit, upper, lower bool
	for i := 0; i < len(f); i++ {
		c := f[i]
		digit = digit || c >= '0' && c <= '9'
		upper = upper || c >= 'A' && c <= 'Z'
		lower = lower || c >= 'a' && c <= 'z'
	}
	return digit || upper && lower
}

func seq(a, b int) []int {
	out := make([]int, b-a)
	for i := range out {
		out[i] = a + i
	}
	return out
}

// appendDecoded adds the printable text that base64 tokens (sixteen or
// more characters) and hex tokens (thirty-two or more) decode to.
func appendDecoded(texts []rebuilt, s string) []rebuilt {
	for i, j := range keyRuns(s) {
		if text, ok := decodeToken(s[i:j]); ok {
			texts = append(texts, rebuilt{text: text, start: i, end: j, decoded: true})
		}
	}
	return texts
}

// decodeToken decodes a hex or base64 token to printable text.
func decodeToken(tok string) (string, bool) {
	if len(tok) < 16 {
		return "", false
	}
	var b []byte
	var err error
	switch {
	case len(tok) >= 32 && len(tok)%2 == 0 && isHex(tok):
		b, err = hex.DecodeString(tok)
	case strings.ContainsAny(tok, "-_"):
		b, err = base64.RawURLEncoding.DecodeString(strings.TrimRight(tok, "="))
	default:
		b, err = base64.RawStdEncoding.DecodeString(strings.TrimRight(tok, "="))
	}
	if err != nil || !printable(b) {
		return "", false
	}
	return string(b), true
}

func isHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
			return false
		}
	}
	return true
}

// printable reports whether b is UTF-8 text without control characters
// other than whitespace.
func printable(b []byte) bool {
	if !utf8.Valid(b) {
		return false
	}
	for _, c := range b {
		if c < 0x20 && c != '\n' && c != '\r' && c != '\t' || c == 0x7f {
			return false
		}
	}
	return true
}
