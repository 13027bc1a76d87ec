// Package output finds what a model's answer must not carry to its reader:
// destructive or remote-controlled shell commands, SQL that destroys data
// or injects into a query, HTML and JavaScript that would run in a
// browser, markdown images and links that exfiltrate data to foreign
// domains, and the canary token that shows a system prompt has leaked.
package output

import (
	"net/url"
	"regexp"
	"slices"
	"strings"

	"github.com/modelgate/modelgate/guard"
)

// Entity types.
const (
	ShellDestructive     = "SHELL_DESTRUCTIVE"
	ShellPipeToShell     = "SHELL_PIPE_TO_SHELL"
	ShellReverseShell    = "SHELL_REVERSE_SHELL"
	SQLDestructive       = "SQL_DESTRUCTIVE"
	SQLInjection         = "SQL_INJECTION"
	HTMLScript           = "HTML_SCRIPT"
	MarkdownExfiltration = "MARKDOWN_EXFILTRATION"
	CanaryLeak           = "CANARY_LEAK"
)

var (
	markdownLink = regexp.MustCompile(`(!?)\[[^\]\n]{0,500}\]\(\s*<?((?:https?:)?//[^\s)>]+)`)
	referenceDef = regexp.MustCompile(`(?m)^\s{0,3}\[[^\]\n]+\]:\s*<?((?:https?:)?//\S+?)>?(?:\s|$)`)
	htmlImage    = regexp.MustCompile(`(?i)<\s*(?:img|image|source|video|audio|link)\b[^>]*?\s(?:src|href|srcset|poster)\s*=\s*["']?((?:https?:)?//[^\s"'>]+)`)
)

// Detector finds dangerous output.
type Detector struct {
	// AllowDomains are the domains whose images and links may carry data
	// (their subdomains too). Every other domain is foreign.
	AllowDomains []string
}

// Entities lists the entity types the detector reports.
func (d *Detector) Entities() []string {
	return []string{ShellDestructive, ShellPipeToShell, ShellReverseShell, SQLDestructive, SQLInjection, HTMLScript, MarkdownExfiltration}
}

// Detect reports dangerous content in t. Shell rules read the text and
// the text as a shell reads it (quotes and escapes removed), SQL rules the
// text and the text without comments, markup rules the text and the text
// decoded as a browser or script may decode it.
func (d *Detector) Detect(t *guard.Text, emit func(guard.Finding)) {
	n := t.Norm()
	s := n.Text
	var seen [][3]int // entity index, start, end: one finding per place
	report := func(entity string, start, end int, score float64) {
		e := entityIndex(entity)
		for _, f := range seen {
			if f[0] == e && start < f[2] && end > f[1] {
				return
			}
		}
		seen = append(seen, [3]int{e, start, end})
		a, b := n.Span(start, end)
		emit(guard.Finding{Entity: entity, Start: a, End: b, Score: score})
	}
	plain := view{text: s}
	sets := []struct {
		rules   []rule
		anchors *anchorIndex
		view    func(string) (view, bool)
	}{
		{shellRules, shellAnchors, shellView},
		{sqlRules, sqlAnchors, sqlView},
		{htmlRules, htmlAnchors, markupView},
	}
	for _, set := range sets {
		runRules(set.rules, set.anchors, &plain, report)
		if v, ok := set.view(s); ok && v.text != s {
			runRules(set.rules, set.anchors, &v, report)
			if set.anchors == htmlAnchors {
				d.exfiltration(&v, report)
			}
		}
	}
	d.exfiltration(&plain, report)
}

// runRules runs rules over a view, each only around its anchors.
func runRules(rules []rule, anchors *anchorIndex, v *view, report func(string, int, int, float64)) {
	s := v.text
	lowerB := guard.ASCIILower(s)
	lower := string(lowerB)
	at := anchors.positions(lowerB, len(rules))
	for i := range rules {
		r := &rules[i]
		var ws [][2]int
		switch {
		case r.find != nil:
			found := r.find(lowerB)
			if len(found) == 0 {
				continue
			}
			ws = guard.Windows(s, found, reachBefore, reachAfter, false)
		case len(r.anchors) > 0:
			if len(at[i]) == 0 {
				continue
			}
			ws = guard.Windows(s, at[i], reachBefore, reachAfter, false)
		case r.need == nil || r.need(lower):
			ws = [][2]int{{0, len(s)}}
		default:
			continue
		}
		for _, w := range ws {
			for _, m := range r.re.FindAllStringSubmatchIndex(s[w[0]:w[1]], -1) {
				score := r.score
				if r.check != nil {
					groups := make([]string, len(m)/2)
					for g := range groups {
						if m[2*g] >= 0 {
							groups[g] = s[w[0]+m[2*g] : w[0]+m[2*g+1]]
						}
					}
					if score *= r.check(groups); score == 0 {
						continue
					}
				}
				a, b := v.span(w[0]+m[0], w[0]+m[1])
				report(r.entity, a, b, score)
			}
		}
	}
}

var entityNames = []string{ShellDestructive, ShellPipeToShell, ShellReverseShell, SQLDestructive, SQLInjection, HTMLScript, MarkdownExfiltration}

func entityIndex(e string) int {
	for i, n := range entityNames {
		if n == e {
			return i
		}
	}
	return -1
}

// exfiltration reports images and links to foreign domains. An image
// loads by itself when the answer is rendered, so any foreign image leaks
// at least that the answer was read, and one whose URL carries data leaks
// that data; a link leaks only when clicked, so it counts when it carries
// data.
func (d *Detector) exfiltration(v *view, report func(string, int, int, float64)) {
	s := v.text
	if !strings.Contains(s, "//") {
		return
	}
	each := func(re *regexp.Regexp, anchors []int, before, after int, lines bool, fn func(m []int)) {
		for _, w := range guard.Windows(s, anchors, before, after, lines) {
			for _, m := range re.FindAllStringSubmatchIndex(s[w[0]:w[1]], -1) {
				for k := range m {
					if m[k] >= 0 {
						m[k] += w[0]
					}
				}
				fn(m)
			}
		}
	}
	// A link's text runs up to 500 bytes before its "](", its URL on
	// after it.
	each(markdownLink, indexes(s, "]("), 520, 4096, false, func(m []int) {
		image := m[3] > m[2]
		if score := d.urlScore(s[m[4]:m[5]], image); score > 0 {
			a, b := v.span(m[0], m[5])
			report(MarkdownExfiltration, a, b, score)
		}
	})
	if strings.Contains(s, "![") {
		each(referenceDef, indexes(s, "]:"), 0, 0, true, func(m []int) {
			if score := d.urlScore(s[m[2]:m[3]], true); score > 0 {
				a, b := v.span(m[2], m[3])
				report(MarkdownExfiltration, a, b, score)
			}
		})
	}
	if strings.Contains(s, "<") {
		lower := string(guard.ASCIILower(s))
		var at []int
		for _, attr := range []string{"src", "href", "poster"} {
			at = append(at, indexes(lower, attr)...)
		}
		slices.Sort(at)
		each(htmlImage, at, 512, 4096, false, func(m []int) {
			if score := d.urlScore(s[m[2]:m[3]], true); score > 0 {
				a, b := v.span(m[0], m[3])
				report(MarkdownExfiltration, a, b, score)
			}
		})
	}
}

// indexes returns every offset of sub in s.
func indexes(s, sub string) []int {
	var out []int
	for i := 0; ; {
		j := strings.Index(s[i:], sub)
		if j < 0 {
			return out
		}
		out = append(out, i+j)
		i += j + 1
	}
}

func (d *Detector) urlScore(raw string, image bool) float64 {
	if strings.HasPrefix(raw, "//") {
		raw = "https:" + raw
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return 0.6 // a URL a browser may still follow, that we cannot read
	}
	if d.allowed(u.Hostname()) {
		return 0
	}
	data := carriesData(u)
	switch {
	case image && data:
		return 0.95
	case image:
		return 0.6
	case data:
		return 0.75
	}
	return 0
}

func (d *Detector) allowed(host string) bool {
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	for _, a := range d.AllowDomains {
		a = strings.ToLower(a)
		if host == a || strings.HasSuffix(host, "."+a) {
			return true
		}
	}
	return false
}

// carriesData reports whether a URL has room for smuggled data: a query
// or fragment of any length, or a long or encoded path segment.
func carriesData(u *url.URL) bool {
	if u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return true
	}
	for seg := range strings.SplitSeq(u.EscapedPath(), "/") {
		if len(seg) > 24 || strings.Contains(seg, "%") && len(seg) > 12 {
			return true
		}
	}
	return false
}

// rmCheck keeps rm commands that remove recursively and forcibly at a
// root, a home directory or a wildcard.
func rmCheck(m []string) float64 {
	flags, target := strings.ToLower(m[1]), strings.Trim(m[2], `"'`)
	recursive := strings.Contains(flags, "--recursive")
	for f := range strings.FieldsSeq(flags) {
		if !strings.HasPrefix(f, "--") && strings.ContainsAny(f, "r") {
			recursive = true
		}
	}
	if !recursive {
		return 0
	}
	if strings.Contains(m[2], "--no-preserve-root") || strings.Contains(m[3], "--no-preserve-root") || destroys(target) {
		return 1
	}
	return 0
}

// systemDirs are the directories below which even a second-level
// directory (/var/lib, /usr/share) belongs to the system.
var systemDirs = map[string]bool{"bin": true, "boot": true, "dev": true, "etc": true, "home": true, "lib": true, "lib64": true,
	"opt": true, "proc": true, "root": true, "sbin": true, "srv": true, "sys": true, "usr": true, "var": true, "Users": true, "System": true}

// destroys reports whether deleting a path recursively destroys a system
// or a home: the root, a directory one level below it or anything in a
// system directory's first level, a home directory, the parent of the
// working directory, or everything in any of these.
func destroys(path string) bool {
	if path == "" || path == "--no-preserve-root" || rootPath.MatchString(path) {
		return true
	}
	p := strings.TrimSuffix(strings.TrimSuffix(path, "*"), "/")
	if !strings.HasPrefix(p, "/") {
		return false
	}
	parts := strings.Split(p[1:], "/")
	return len(parts) == 2 && systemDirs[parts[0]] && parts[1] != "" && !strings.ContainsAny(parts[1], "*?")
}

// deleteCheck scores a DELETE without a WHERE clause as destructive, and
// one with a WHERE clause lower.
func deleteCheck(m []string) float64 {
	if strings.Contains(strings.ToLower(m[1]), "where") {
		return 0.7
	}
	return 1
}

// tautology keeps "' OR x=x" when both sides are equal, the shape of an
// always-true injected condition.
func tautology(m []string) float64 {
	if strings.EqualFold(m[1], m[2]) {
		return 1
	}
	return 0
}

func has(sub string) func(string) bool {
	return func(s string) bool { return strings.Contains(s, sub) }
}

func anyOf(subs ...string) func(string) bool {
	return func(s string) bool {
		for _, sub := range subs {
			if strings.Contains(s, sub) {
				return true
			}
		}
		return false
	}
}

func all(subs ...string) func(string) bool {
	return func(s string) bool {
		for _, sub := range subs {
			if !strings.Contains(s, sub) {
				return false
			}
		}
		return true
	}
}

func both(a, b func(string) bool) func(string) bool {
	return func(s string) bool { return a(s) && b(s) }
}

// words reports whether any of ws appears as a whole word.
func words(ws ...string) func(string) bool {
	return func(s string) bool { return guard.HasWord(s, ws...) }
}
