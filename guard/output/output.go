// Package output finds what a model's answer must not carry to its reader:
// destructive or remote-controlled shell commands, SQL that destroys data
// or injects into a query, HTML and JavaScript that would run in a
// browser, markdown images and links that exfiltrate data to foreign
// domains, and the canary token that shows a system prompt has leaked.
package output

import (
	"html"
	"net/url"
	"regexp"
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

// rule is one pattern. check, when set, vets a match and may change its
// score (0 drops it).
type rule struct {
	entity string
	score  float64
	re     *regexp.Regexp
	check  func(m []string) float64
	// need is a cheap test on the lower-cased text that must pass for the
	// rule to be tried: most answers hold no shell, SQL or HTML at all, and
	// a regular expression over every byte of an answer costs tens of
	// nanoseconds per byte.
	need func(lower string) bool
}

var shellRules = []rule{
	{entity: ShellDestructive, score: 0.9, need: words("rm"), check: rmCheck,
		re: regexp.MustCompile(`(?i)\brm\s+((?:-{1,2}[\w-]+\s+)+)((?:--no-preserve-root\s+)?["']?[^\s;|&"'\x60]+)`)},
	{entity: ShellDestructive, score: 0.9, need: has("/dev/"),
		re: regexp.MustCompile(`(?i)\b(?:mkfs(?:\.\w+)?\s+(?:-\S+\s+)*/dev/\w+|dd\s+[^\n;|]*\bof=/dev/(?:sd|nvme|hd|xvd|vd|disk|mmcblk)\w*|(?:shred|wipefs)\s+[^\n;|]*/dev/\w+|>\s*/dev/(?:sd|nvme|hd|xvd|vd)[a-z0-9]*)`)},
	{entity: ShellDestructive, score: 0.95, need: all("{", "|", ":"),
		re: regexp.MustCompile(`:\s*\(\s*\)\s*\{\s*:\s*\|\s*:\s*&\s*\}\s*;\s*:`)}, // fork bomb
	{entity: ShellDestructive, score: 0.8, need: has("777"),
		re: regexp.MustCompile(`(?i)\bchmod\s+(?:-R\s+|--recursive\s+)[0-7]?777\s+/(?:[\s;|&'"\x60*]|$)`)},
	{entity: ShellDestructive, score: 0.85, need: anyOf(`c:\`, "format c:"),
		re: regexp.MustCompile(`(?i)\b(?:format\s+c:|(?:del|erase)\s+(?:/[sfq]\s+)+c:\\|rd\s+/s\s+/q\s+c:\\|remove-item\s+[^\n]*c:\\[^\n]*-recurse)`)},
	{entity: ShellPipeToShell, score: 0.9, need: both(has("|"), words("curl", "wget", "fetch", "iwr", "irm", "invoke-webrequest", "invoke-restmethod")),
		re: regexp.MustCompile(`(?i)\b(?:curl|wget|fetch|iwr|irm|invoke-webrequest|invoke-restmethod)\b[^\n|]*\|\s*(?:sudo\s+(?:-\S+\s+)*)?(?:/\S*/)?(?:ba|z|k|da|c|tc|fi|a)?sh\b|\b(?:curl|wget)\b[^\n|]*\|\s*(?:sudo\s+)?(?:python[0-9.]*|perl|ruby|node|php)\b`)},
	{entity: ShellPipeToShell, score: 0.9, need: both(has("("), words("curl", "wget", "iex", "invoke-expression")),
		re: regexp.MustCompile(`(?i)\b(?:ba|z)?sh\s+(?:-c\s+)?["']?(?:<\(|\$\()\s*(?:curl|wget)\b|\b(?:iex|invoke-expression)\s*\(?\s*\(?\s*(?:new-object\s+(?:system\.)?net\.webclient|iwr|irm|invoke-webrequest|invoke-restmethod)`)},
	{entity: ShellPipeToShell, score: 0.8, need: has("powershell"),
		re: regexp.MustCompile(`(?i)\bpowershell(?:\.exe)?\s+(?:-\w+\s+)*-e(?:nc|ncodedcommand)?\s+[A-Za-z0-9+/=]{16,}`)},
	{entity: ShellReverseShell, score: 0.95, need: has("/dev/"),
		re: regexp.MustCompile(`(?i)/dev/(?:tcp|udp)/[\w.\-]+/\d+`)},
	{entity: ShellReverseShell, score: 0.9, need: both(words("nc", "ncat", "netcat"), anyOf(" -e", " -c")),
		re: regexp.MustCompile(`(?i)\b(?:nc|ncat|netcat)\b[^\n;|]*\s-(?:e|c)\s*(?:/bin/|/usr/bin/)?(?:ba|z|da)?sh\b|\b(?:nc|ncat|netcat)\b[^\n;|]*\s-(?:e|c)\s*cmd(?:\.exe)?\b`)},
	{entity: ShellReverseShell, score: 0.9, need: has("exec:"),
		re: regexp.MustCompile(`(?i)\bsocat\b[^\n]*\bexec:`)},
	{entity: ShellReverseShell, score: 0.9, need: has("mkfifo"),
		re: regexp.MustCompile(`(?i)\bmkfifo\b[^\n]*\|\s*(?:/bin/)?(?:ba)?sh\b[^\n]*\|\s*(?:nc|ncat|netcat)\b`)},
	{entity: ShellReverseShell, score: 0.9, need: anyOf("socket", "fsockopen"),
		re: regexp.MustCompile(`(?i)\b(?:python[0-9.]*\s+-c|perl\s+-e|ruby\s+-rsocket\s+-e|php\s+-r)\s*["'][^\n]*(?:socket|fsockopen)[^\n]*(?:subprocess|pty\.spawn|dup2|exec|/bin/sh|system|popen)`)},
	{entity: ShellReverseShell, score: 0.9, need: has("tcpclient"),
		re: regexp.MustCompile(`(?i)new-object\s+(?:system\.)?net\.sockets\.tcpclient\s*\(`)},
	{entity: ShellReverseShell, score: 0.9, need: all("-i", "/dev/"),
		re: regexp.MustCompile(`(?i)\b(?:ba|z)?sh\s+-i\s*[>&]+\s*/dev/`)},
}

var sqlRules = []rule{
	{entity: SQLDestructive, score: 0.9, need: words("drop"),
		re: regexp.MustCompile(`(?i)\bdrop\s+(?:table|database|schema|user|view|index|function|procedure)\b(?:\s+if\s+exists)?\s+[\w."\x60\[\]]+`)},
	{entity: SQLDestructive, score: 0.85, need: words("truncate"),
		re: regexp.MustCompile(`(?i)\btruncate\s+table\s+[\w."\x60\[\]]+`)},
	{entity: SQLDestructive, score: 0.85, need: both(words("delete"), has("from")), check: deleteCheck,
		re: regexp.MustCompile(`(?i)\bdelete\s+from\s+[\w."\x60\[\]]+([^;\n]*)`)},
	{entity: SQLInjection, score: 0.9, need: both(words("union"), words("select")),
		re: regexp.MustCompile(`(?i)\bunion\s+(?:all\s+|distinct\s+)?select\b`)},
	{entity: SQLInjection, score: 0.9, need: anyOf("';", `";`, ");", "' ;", `" ;`, ") ;"),
		re: regexp.MustCompile(`(?i)['"\)]\s*;\s*(?:drop|delete|insert|update|exec|execute|shutdown|truncate|alter|create|declare)\b`)},
	{entity: SQLInjection, score: 0.85, need: both(has("="), anyOf("'", `"`)),
		re: regexp.MustCompile(`(?i)['"]\s*(?:or|\|\|)\s*['"]?(\w+)['"]?\s*=\s*['"]?(\w+)`), check: tautology},
	{entity: SQLInjection, score: 0.8, need: anyOf("xp_cmdshell", "sp_oacreate", "load_file", "benchmark", "sleep", "waitfor", "outfile", "dumpfile"),
		re: regexp.MustCompile(`(?i)\b(?:xp_cmdshell|sp_oacreate|load_file|benchmark\s*\(\s*\d{5,}|pg_sleep\s*\(|sleep\s*\(\s*\d+\s*\)\s*(?:--|#|and|or)|waitfor\s+delay\s+')|\binto\s+(?:out|dump)file\b`)},
}

var htmlRules = []rule{
	{entity: HTMLScript, score: 0.95, need: all("<", "script"),
		re: regexp.MustCompile(`(?i)<\s*script\b[^>]*>?`)},
	{entity: HTMLScript, score: 0.9, need: all("<", "on", "="),
		re: regexp.MustCompile(`(?i)<\s*[a-z][a-z0-9-]*\b[^>]*?[\s/"']on[a-z]{3,}\s*=`)},
	{entity: HTMLScript, score: 0.9, need: all("script", ":"),
		re: regexp.MustCompile(`(?i)\b(?:j\s*a\s*v\s*a|v\s*b)\s*s\s*c\s*r\s*i\s*p\s*t\s*:`)},
	{entity: HTMLScript, score: 0.8, need: both(has("<"), anyOf("iframe", "object", "embed", "applet", "frameset", "base", "meta", "form")),
		re: regexp.MustCompile(`(?i)<\s*(?:iframe|object|embed|applet|frameset|base\s+href|meta\s+http-equiv\s*=\s*["']?refresh|form\b[^>]*\baction\s*=)\b?`)},
	{entity: HTMLScript, score: 0.8, need: has("data:"),
		re: regexp.MustCompile(`(?i)\bdata:\s*(?:text/html|application/(?:x-)?javascript|image/svg\+xml)`)},
	{entity: HTMLScript, score: 0.7, need: has("srcdoc"),
		re: regexp.MustCompile(`(?i)\bsrcdoc\s*=`)},
}

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

// Detect reports dangerous content in t.
func (d *Detector) Detect(t *guard.Text, emit func(guard.Finding)) {
	n := t.Norm()
	s := n.Text
	lower := strings.ToLower(s)
	report := func(entity string, start, end int, score float64) {
		a, b := n.Span(start, end)
		emit(guard.Finding{Entity: entity, Start: a, End: b, Score: score})
	}
	for _, rules := range [][]rule{shellRules, sqlRules, htmlRules} {
		for i := range rules {
			r := &rules[i]
			if r.need != nil && !r.need(lower) {
				continue
			}
			for _, m := range r.re.FindAllStringSubmatchIndex(s, -1) {
				score := r.score
				if r.check != nil {
					groups := make([]string, len(m)/2)
					for g := range groups {
						if m[2*g] >= 0 {
							groups[g] = s[m[2*g]:m[2*g+1]]
						}
					}
					if score *= r.check(groups); score == 0 {
						continue
					}
				}
				report(r.entity, m[0], m[1], score)
			}
		}
	}
	// Character references hide javascript: and <script> from the
	// patterns above; a browser decodes them. Judge the decoded text, and
	// since its offsets do not map back, report the whole text.
	if strings.Contains(s, "&") {
		if dec := html.UnescapeString(s); dec != s && htmlIn(dec) {
			report(HTMLScript, 0, len(s), 0.85)
		}
	}
	d.exfiltration(s, report)
}

func htmlIn(s string) bool {
	lower := strings.ToLower(s)
	for i := range htmlRules {
		if htmlRules[i].need(lower) && htmlRules[i].re.MatchString(s) {
			return true
		}
	}
	return false
}

// exfiltration reports images and links to foreign domains. An image
// loads by itself when the answer is rendered, so any foreign image leaks
// at least that the answer was read, and one whose URL carries data leaks
// that data; a link leaks only when clicked, so it counts when it carries
// data.
func (d *Detector) exfiltration(s string, report func(string, int, int, float64)) {
	if !strings.Contains(s, "//") {
		return
	}
	for _, m := range markdownLink.FindAllStringSubmatchIndex(s, -1) {
		image := m[3] > m[2]
		if score := d.urlScore(s[m[4]:m[5]], image); score > 0 {
			report(MarkdownExfiltration, m[0], m[5], score)
		}
	}
	if strings.Contains(s, "![") {
		for _, m := range referenceDef.FindAllStringSubmatchIndex(s, -1) {
			if score := d.urlScore(s[m[2]:m[3]], true); score > 0 {
				report(MarkdownExfiltration, m[2], m[3], score)
			}
		}
	}
	if strings.Contains(s, "<") {
		for _, m := range htmlImage.FindAllStringSubmatchIndex(s, -1) {
			if score := d.urlScore(s[m[2]:m[3]], true); score > 0 {
				report(MarkdownExfiltration, m[0], m[3], score)
			}
		}
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
	switch strings.TrimSuffix(target, "/") {
	case "", "*", "/*", "~", "$HOME", "${HOME}", ".", "..", "/home", "/etc", "/usr", "/var", "/boot", "/bin", "/lib", "/root", "/opt", "~/*", "--no-preserve-root":
		return 1
	}
	if strings.Contains(m[2], "--no-preserve-root") {
		return 1
	}
	return 0
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
