package output

import (
	"regexp"

	ahocorasick "github.com/BobuSumisu/aho-corasick"
)

// rule is one pattern. check, when set, vets a match and may change its
// score (0 drops it).
type rule struct {
	entity string
	score  float64
	re     *regexp.Regexp
	check  func(m []string) float64
	// anchors are lower-case words of which every match holds one; the
	// pattern runs only around them (see reachBefore). A rule without
	// anchors runs on the whole text when need passes.
	anchors []string
	need    func(lower string) bool
	// find, when set, returns the anchor positions itself, for anchors a
	// word list cannot say precisely.
	find func(lower []byte) []int
}

// A match may begin up to reachBefore bytes before its anchor and end up
// to reachAfter bytes after it (a long URL between curl and its | sh).
const (
	reachBefore = 256
	reachAfter  = 1024
)

// root matches a path whose recursive deletion destroys a system or a
// home: the root, one directory below it, a home, or the working
// directory's parent, with or without a trailing /*.
const root = `(?:/\*?|/[\w.-]+/?\*?|~[\w.-]*/?\*?|\$\{?HOME\}?/?\*?|\.\./?\*?|\*)`

var rootPath = regexp.MustCompile(`^` + root + `$`)

var shellRules = []rule{
	{entity: ShellDestructive, score: 0.9, anchors: []string{"rm"}, check: rmCheck,
		re: regexp.MustCompile(`(?i)\brm\s+((?:-{1,2}[\w-]+\s+)+)((?:--no-preserve-root\s+)?[^\s;|&\x60]+)((?:\s+--no-preserve-root)?)`)},
	{entity: ShellDestructive, score: 0.9, anchors: []string{"find"},
		re: regexp.MustCompile(`(?i)\bfind\s+` + root + `(?:\s+[^\n;|&]*?)?\s(?:-delete\b|-exec\s+(?:/\S*/)?rm\b)`)},
	{entity: ShellDestructive, score: 0.9, anchors: []string{"rmtree"},
		re: regexp.MustCompile(`(?i)\brmtree\s*\(\s*(?:r?["']` + root + `["']|os\.path\.expanduser\s*\(\s*["']~[\w.-]*/?["']\s*\)|(?:pathlib\.)?path\.home\(\))`)},
	{entity: ShellDestructive, score: 0.9, anchors: []string{"rmsync", "rmdirsync", "rimraf", "rm", "remove"},
		re: regexp.MustCompile(`(?i)\b(?:fs\.)?(?:rmsync|rmdirsync|rimraf(?:\.sync)?|fs\.rm|fs\.promises\.rm|fse?\.remove(?:sync)?)\s*\(\s*["'\x60]` + root + `["'\x60]`)},
	{entity: ShellDestructive, score: 0.9, anchors: []string{"/dev/"},
		re: regexp.MustCompile(`(?i)\b(?:mkfs(?:\.\w+)?\s+(?:-\S+\s+)*/dev/\w+|dd\s+[^\n;|]*\bof=/dev/(?:sd|nvme|hd|xvd|vd|disk|mmcblk)\w*|(?:shred|wipefs)\s+[^\n;|]*/dev/\w+|>\s*/dev/(?:sd|nvme|hd|xvd|vd)[a-z0-9]*)`)},
	{entity: ShellDestructive, score: 0.95, find: forkBombs,
		re: regexp.MustCompile(`:\s*\(\s*\)\s*\{\s*:\s*\|\s*:\s*&\s*\}\s*;\s*:`)}, // fork bomb
	{entity: ShellDestructive, score: 0.8, anchors: []string{"777"},
		re: regexp.MustCompile(`(?i)\bchmod\s+(?:-R\s+|--recursive\s+)[0-7]?777\s+/(?:[\s;|&'"\x60*]|$)`)},
	{entity: ShellDestructive, score: 0.85, anchors: []string{`c:\`, "format"},
		re: regexp.MustCompile(`(?i)\b(?:format\s+c:|(?:del|erase)\s+(?:/[sfq]\s+)+c:\\|rd\s+/s\s+/q\s+c:\\|remove-item\s+[^\n]*c:\\[^\n]*-recurse)`)},
	{entity: ShellPipeToShell, score: 0.9, anchors: []string{"curl", "wget", "fetch", "iwr", "irm", "invoke-webrequest", "invoke-restmethod"},
		re: regexp.MustCompile(`(?i)\b(?:curl|wget|fetch|iwr|irm|invoke-webrequest|invoke-restmethod)\b[^\n|]*\|\s*(?:sudo\s+(?:-\S+\s+)*)?(?:/\S*/)?(?:ba|z|k|da|c|tc|fi|a)?sh\b|\b(?:curl|wget)\b[^\n|]*\|\s*(?:sudo\s+)?(?:python[0-9.]*|perl|ruby|node|php)\b`)},
	{entity: ShellPipeToShell, score: 0.9, anchors: []string{"base64", "xxd", "openssl", "gunzip", "zcat", "uudecode"},
		re: regexp.MustCompile(`(?i)\b(?:base64\s+(?:-\w+\s+)*(?:-d|--decode|-D)|xxd\s+(?:-\w+\s+)*-r|openssl\s+(?:enc\s+|base64\s+)(?:-\S+\s+)*-d|gunzip|zcat|uudecode)\b[^\n|]*\|\s*(?:sudo\s+)?(?:/\S*/)?(?:ba|z|k|da|c|tc|fi|a)?sh\b`)},
	{entity: ShellPipeToShell, score: 0.9, anchors: []string{"curl", "wget", "iex", "invoke-expression"},
		re: regexp.MustCompile(`(?i)(?:\b(?:ba|z)?sh\s+(?:-c\s+)?|\beval\s+|\bsource\s+|(?:^|[;&|]\s*)\.\s+)["']?(?:<\(|\$\()\s*(?:curl|wget)\b|\b(?:iex|invoke-expression)\s*\(?\s*\(?\s*(?:new-object\s+(?:system\.)?net\.webclient|iwr|irm|invoke-webrequest|invoke-restmethod)`)},
	{entity: ShellPipeToShell, score: 0.8, anchors: []string{"powershell"},
		re: regexp.MustCompile(`(?i)\bpowershell(?:\.exe)?\s+(?:-\w+\s+)*-e(?:nc|ncodedcommand)?\s+[A-Za-z0-9+/=]{16,}`)},
	{entity: ShellReverseShell, score: 0.95, anchors: []string{"/dev/"},
		re: regexp.MustCompile(`(?i)/dev/(?:tcp|udp)/[\w.\-]+/\d+`)},
	{entity: ShellReverseShell, score: 0.9, anchors: []string{"nc", "ncat", "netcat"},
		re: regexp.MustCompile(`(?i)\b(?:nc|ncat|netcat)\b[^\n;|]*\s-(?:e|c)\s*(?:/bin/|/usr/bin/)?(?:ba|z|da)?sh\b|\b(?:nc|ncat|netcat)\b[^\n;|]*\s-(?:e|c)\s*cmd(?:\.exe)?\b`)},
	{entity: ShellReverseShell, score: 0.9, anchors: []string{"exec:"},
		re: regexp.MustCompile(`(?i)\bsocat\b[^\n]*\bexec:`)},
	{entity: ShellReverseShell, score: 0.9, anchors: []string{"mkfifo"},
		re: regexp.MustCompile(`(?i)\bmkfifo\b[^\n]*\|\s*(?:/bin/)?(?:ba)?sh\b[^\n]*\|\s*(?:nc|ncat|netcat)\b`)},
	{entity: ShellReverseShell, score: 0.9, anchors: []string{"socket", "fsockopen"},
		re: regexp.MustCompile(`(?i)\b(?:python[0-9.]*\s+-c|perl\s+-e|ruby\s+-rsocket\s+-e|php\s+-r)\s*["'][^\n]*(?:socket|fsockopen)[^\n]*(?:subprocess|pty\.spawn|dup2|exec|/bin/sh|system|popen)`)},
	{entity: ShellReverseShell, score: 0.9, anchors: []string{"tcpclient"},
		re: regexp.MustCompile(`(?i)new-object\s+(?:system\.)?net\.sockets\.tcpclient\s*\(`)},
	{entity: ShellReverseShell, score: 0.9, anchors: []string{"/dev/"},
		re: regexp.MustCompile(`(?i)\b(?:ba|z)?sh\s+-i\s*[>&]+\s*/dev/`)},
}

// sqlName is a table, schema or column name, quoted or not.
const sqlName = `[\w."\x60\[\]]+`

var sqlRules = []rule{
	{entity: SQLDestructive, score: 0.9, anchors: []string{"drop"},
		re: regexp.MustCompile(`(?i)\bdrop\s+(?:table|database|schema|user|view|index|function|procedure)\b(?:\s+if\s+exists)?\s+` + sqlName)},
	{entity: SQLDestructive, score: 0.85, anchors: []string{"truncate"},
		re: regexp.MustCompile(`(?im)\btruncate\s+(?:table\s+` + sqlName + `|(?:only\s+)?` + sqlName + `\s*(?:;|$|\b(?:cascade|restart|continue)\b))`)},
	{entity: SQLDestructive, score: 0.85, anchors: []string{"alter"},
		re: regexp.MustCompile(`(?i)\balter\s+table\s+(?:if\s+exists\s+)?(?:only\s+)?` + sqlName + `\s+drop\b`)},
	{entity: SQLDestructive, score: 0.85, anchors: []string{"delete"}, check: deleteCheck,
		re: regexp.MustCompile(`(?i)\bdelete\s+from\s+` + sqlName + `([^;\n]*)`)},
	{entity: SQLInjection, score: 0.9, anchors: []string{"union"},
		re: regexp.MustCompile(`(?i)\bunion\s+(?:all\s+|distinct\s+)?select\b`)},
	{entity: SQLInjection, score: 0.9, find: stackedQueries,
		re: regexp.MustCompile(`(?i)['"\)]\s*;\s*(?:drop|delete|insert|update|exec|execute|shutdown|truncate|alter|create|declare)\b`)},
	{entity: SQLInjection, score: 0.85, find: quotedOr,
		re: regexp.MustCompile(`(?i)['"]\s*(?:or|\|\|)\s*['"]?(\w+)['"]?\s*=\s*['"]?(\w+)`), check: tautology},
	{entity: SQLInjection, score: 0.8, anchors: []string{"xp_cmdshell", "sp_oacreate", "load_file", "benchmark", "sleep", "pg_sleep", "waitfor", "outfile", "dumpfile"},
		re: regexp.MustCompile(`(?i)\b(?:xp_cmdshell|sp_oacreate|load_file|benchmark\s*\(\s*\d{5,}|pg_sleep\s*\(|sleep\s*\(\s*\d+\s*\)\s*(?:--|#|and|or)|waitfor\s+delay\s+')|\binto\s+(?:out|dump)file\b`)},
}

var htmlRules = []rule{
	{entity: HTMLScript, score: 0.95, anchors: []string{"script"},
		re: regexp.MustCompile(`(?i)<\s*script\b[^>]*>?`)},
	{entity: HTMLScript, score: 0.9, find: eventHandlers,
		re: regexp.MustCompile(`(?i)<\s*[a-z][a-z0-9-]*\b[^>]*?[\s/"']on[a-z]{3,}\s*=`)},
	{entity: HTMLScript, score: 0.9, find: scriptSchemes, re: regexp.MustCompile(`(?i)\b(?:j\s*a\s*v\s*a|v\s*b)\s*s\s*c\s*r\s*i\s*p\s*t\s*:`)},
	{entity: HTMLScript, score: 0.8, anchors: []string{"iframe", "object", "embed", "applet", "frameset", "base", "meta", "form"},
		re: regexp.MustCompile(`(?i)<\s*(?:iframe|object|embed|applet|frameset|base\s+href|meta\s+http-equiv\s*=\s*["']?refresh|form\b[^>]*\baction\s*=)\b?`)},
	{entity: HTMLScript, score: 0.8, anchors: []string{"data:"},
		re: regexp.MustCompile(`(?i)\bdata:\s*(?:text/html|application/(?:x-)?javascript|image/svg\+xml)`)},
	{entity: HTMLScript, score: 0.7, anchors: []string{"srcdoc"},
		re: regexp.MustCompile(`(?i)\bsrcdoc\s*=`)},
	{entity: HTMLScript, score: 0.85, anchors: []string{"style"},
		re: regexp.MustCompile(`(?i)<\s*style\b[^>]*>[^<]{0,1000}?(?:@import|url\s*\(\s*["']?(?:https?:)?//|expression\s*\()`)},
}

// anchorIndex finds every rule's anchors in one pass over a text.
type anchorIndex struct {
	trie  *ahocorasick.Trie
	words []string
	rules [][]int // anchor index -> rules that use it
}

func newAnchorIndex(rules []rule) *anchorIndex {
	x := &anchorIndex{}
	index := map[string]int{}
	b := ahocorasick.NewTrieBuilder()
	for i, r := range rules {
		for _, a := range r.anchors {
			k, ok := index[a]
			if !ok {
				k = len(x.words)
				index[a] = k
				x.words = append(x.words, a)
				x.rules = append(x.rules, nil)
				b.AddString(a)
			}
			x.rules[k] = append(x.rules[k], i)
		}
	}
	x.trie = b.Build()
	return x
}

// positions returns, for each rule, where its anchors stand in lower as
// words (an anchor that begins or ends with a letter or digit must not
// continue a longer word there).
func (x *anchorIndex) positions(lower []byte, n int) [][]int {
	out := make([][]int, n)
	x.trie.Walk(lower, func(end, size, pattern int64) bool {
		start, stop := int(end-size+1), int(end+1)
		w := x.words[pattern]
		if isWordByte(w[0]) && start > 0 && isWordByte(lower[start-1]) ||
			isWordByte(w[len(w)-1]) && stop < len(lower) && isWordByte(lower[stop]) && !prefixAnchor(w) {
			return true
		}
		for _, r := range x.rules[pattern] {
			if k := len(out[r]); k == 0 || out[r][k-1] != start {
				out[r] = append(out[r], start)
			}
		}
		return true
	})
	return out
}

// prefixAnchor reports anchors that may begin a longer word: "on" starts
// every event handler attribute, "script" and "style" their tags, "rm"
// rmSync, "remove" removeSync.
func prefixAnchor(w string) bool {
	switch w {
	case "on", "rm", "remove", "rimraf", "sleep", "exec", "style", "base64", "fetch":
		return true
	}
	return false
}

func isWordByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_'
}

var (
	shellAnchors = newAnchorIndex(shellRules)
	sqlAnchors   = newAnchorIndex(sqlRules)
	htmlAnchors  = newAnchorIndex(htmlRules)
)

// prevNonSpace returns the index of the last byte before i that is not
// whitespace, or -1.
func prevNonSpace(b []byte, i int) int {
	for i--; i >= 0 && (b[i] == ' ' || b[i] == '\n' || b[i] == '\t' || b[i] == '\r'); i-- {
	}
	return i
}

// nextNonSpace returns the index of the first byte from i that is not
// whitespace, or len(b).
func nextNonSpace(b []byte, i int) int {
	for ; i < len(b) && (b[i] == ' ' || b[i] == '\n' || b[i] == '\t' || b[i] == '\r'); i++ {
	}
	return i
}

// forkBombs returns where ":|:" stands, spaces aside.
func forkBombs(lower []byte) []int {
	var out []int
	for i, c := range lower {
		if c != '|' {
			continue
		}
		if p, n := prevNonSpace(lower, i), nextNonSpace(lower, i+1); p >= 0 && lower[p] == ':' && n < len(lower) && lower[n] == ':' {
			out = append(out, p)
		}
	}
	return out
}

// quotedOr returns where a quote is followed by OR or ||, the start of an
// injected condition.
func quotedOr(lower []byte) []int {
	var out []int
	for i, c := range lower {
		if c != '\'' && c != '"' {
			continue
		}
		n := nextNonSpace(lower, i+1)
		if n+1 < len(lower) && (lower[n] == 'o' && lower[n+1] == 'r' || lower[n] == '|' && lower[n+1] == '|') {
			out = append(out, i)
		}
	}
	return out
}

// scriptSchemes returns where a "script:" scheme ends, whatever spaces a
// writer put between its letters (java script:).
func scriptSchemes(lower []byte) []int {
	var out []int
	for i, c := range lower {
		if c != ':' {
			continue
		}
		j, k := i, len("script")-1
		for ; k >= 0; k-- {
			j = prevNonSpace(lower, j)
			if j < 0 || lower[j] != "script"[k] {
				break
			}
		}
		if k < 0 {
			out = append(out, j)
		}
	}
	return out
}

// eventHandlers returns where an HTML event handler attribute may stand:
// "on" starting a word, three or more letters, optional space, "=".
func eventHandlers(lower []byte) []int {
	var out []int
	for i := 0; i+5 < len(lower); i++ {
		if lower[i] != 'o' || lower[i+1] != 'n' || i > 0 && isWordByte(lower[i-1]) {
			continue
		}
		j := i + 2
		for j < len(lower) && lower[j] >= 'a' && lower[j] <= 'z' {
			j++
		}
		if j-i-2 < 3 {
			continue
		}
		for j < len(lower) && (lower[j] == ' ' || lower[j] == '\n' || lower[j] == '\t') {
			j++
		}
		if j < len(lower) && lower[j] == '=' {
			out = append(out, i)
		}
	}
	return out
}

// stackedQueries returns where a statement may be stacked onto an
// injected value: a ';' after a quote or a closing parenthesis.
func stackedQueries(lower []byte) []int {
	var out []int
	for i, c := range lower {
		if c != ';' {
			continue
		}
		j := i - 1
		for j >= 0 && (lower[j] == ' ' || lower[j] == '\n' || lower[j] == '\t') {
			j--
		}
		if j >= 0 && (lower[j] == '\'' || lower[j] == '"' || lower[j] == ')') {
			out = append(out, max(j, 0))
		}
	}
	return out
}
