package modelscan

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/modelgate/modelgate/modelscan/jinja"
)

// jinja2Available skips a test when the reference Jinja is missing.
func jinja2Available(t *testing.T) {
	t.Helper()
	if out, err := exec.Command(python(t), "-c", "import jinja2").CombinedOutput(); err != nil {
		t.Skipf("skipped: python3 has no jinja2 (%s); install python3-jinja2 to run the chat template differential tests", strings.TrimSpace(string(out)))
	}
}

// templateGen writes chat templates that reach a name by the ways an
// attacker would spell it, inside the constructs real templates use.
type templateGen struct {
	r *rand.Rand
	n int // fresh variable names
}

var (
	unsafeTargets = []string{"__class__", "__globals__", "__builtins__", "__subclasses__", "__mro__", "__init__",
		"__import__", "__dict__", "os", "popen", "mro", "_TemplateReference__context", "f_globals", "gi_frame",
		"eval", "subprocess", "_module"}
	benignTargets = []string{"content", "role", "name", "items", "tool_calls", "index0", "type", "function",
		"arguments", "text", "id"}
)

func (g *templateGen) pick(xs ...string) string { return xs[g.r.IntN(len(xs))] }

func (g *templateGen) fresh() string {
	g.n++
	return fmt.Sprintf("v%d", g.n)
}

// literal quotes s as a Jinja string, escaping characters at random.
func (g *templateGen) literal(s string) string {
	q := g.pick("'", `"`)
	var b strings.Builder
	b.WriteString(q)
	for _, r := range s {
		switch {
		case string(r) == q || r == '\\':
			b.WriteString(`\` + string(r))
		case r < 0x80 && g.r.IntN(6) == 0:
			switch g.r.IntN(5) {
			case 0:
				fmt.Fprintf(&b, `\x%02x`, r)
			case 1:
				fmt.Fprintf(&b, `\u%04X`, r)
			case 2:
				fmt.Fprintf(&b, `\U%08x`, r)
			case 3:
				fmt.Fprintf(&b, `\%o`, r)
			default:
				if r == '_' {
					b.WriteString(`\N{LOW LINE}`)
				} else if r >= 'a' && r <= 'z' {
					b.WriteString(`\N{LATIN SMALL LETTER ` + strings.ToUpper(string(r)) + `}`)
				} else {
					b.WriteRune(r)
				}
			}
		default:
			b.WriteRune(r)
		}
	}
	b.WriteString(q)
	return b.String()
}

// str writes an expression whose value is s.
func (g *templateGen) str(s string, depth int) string {
	if depth <= 0 || len(s) < 2 {
		return g.literal(s)
	}
	sub := func(x string) string { return g.str(x, depth-1) }
	k := 1 + g.r.IntN(len(s)-1)
	a, b := s[:k], s[k:]
	switch g.r.IntN(15) {
	case 0:
		return g.literal(s)
	case 1:
		return "(" + sub(a) + " ~ " + sub(b) + ")"
	case 2:
		return "(" + sub(a) + " + " + sub(b) + ")"
	case 3:
		return g.literal(a) + " " + g.literal(b)
	case 4:
		rev := []rune(s)
		for i, j := 0, len(rev)-1; i < j; i, j = i+1, j-1 {
			rev[i], rev[j] = rev[j], rev[i]
		}
		if g.r.IntN(2) == 0 {
			return "(" + sub(string(rev)) + "|reverse)"
		}
		return "(" + sub(string(rev)) + ")[::-1]"
	case 5:
		return "(" + g.literal("zz"+s+"q") + ")[2:-1]"
	case 6:
		switch g.r.IntN(3) {
		case 0:
			return "([" + sub(a) + ", " + sub(b) + "]|join)"
		case 1:
			return "''.join([" + sub(a) + ", " + sub(b) + "])"
		}
		return "((" + sub(a) + ", " + sub(b) + ")|join(''))"
	case 7:
		switch g.r.IntN(3) {
		case 0:
			return "'{}{}'.format(" + sub(a) + ", " + sub(b) + ")"
		case 1:
			return "('%s%s'|format(" + sub(a) + ", " + sub(b) + "))"
		}
		return "('%s%s' % (" + sub(a) + ", " + sub(b) + "))"
	case 8:
		var f, args []string
		for _, r := range s {
			f = append(f, "%c")
			args = append(args, fmt.Sprint(int(r)))
		}
		return "('" + strings.Join(f, "") + "' % (" + strings.Join(args, ", ") + ",))"
	case 9:
		if strings.Contains(s, "_") {
			if g.r.IntN(2) == 0 {
				return g.literal(strings.ReplaceAll(s, "_", "X")) + ".replace('X', '_')"
			}
			return "(" + g.literal(strings.ReplaceAll(s, "_", "X")) + "|replace('X', '_'))"
		}
		return g.literal(s)
	case 10:
		if s == strings.ToLower(s) {
			switch g.r.IntN(3) {
			case 0:
				return "(" + g.literal(strings.ToUpper(s)) + "|lower)"
			case 1:
				return g.literal(strings.ToUpper(s)) + ".lower()"
			}
			return g.literal(strings.ToUpper(s)) + ".swapcase()"
		}
		return g.literal(s)
	case 11:
		if g.r.IntN(2) == 0 {
			return "{'k': " + sub(s) + "}['k']"
		}
		return "{'k': " + sub(s) + "}.k"
	case 12:
		return "(" + sub(s) + " if true else 'zz')"
	case 13:
		if g.r.IntN(2) == 0 {
			return "([" + sub(s) + "]|first)"
		}
		return "(['z', " + sub(s) + "]|last)"
	default:
		return g.literal(a+","+b) + ".split(',')|join"
	}
}

// bind puts an expression for s where an access can use it: directly,
// or through a variable, a loop, a macro, a namespace or a with block.
func (g *templateGen) bind(s string, access func(ref string) string) string {
	e := g.str(s, 1+g.r.IntN(3))
	v := g.fresh()
	switch g.r.IntN(10) {
	case 0:
		return "{% set " + v + " = " + e + " %}" + g.out(access(v))
	case 1:
		return "{% set " + v + " %}{{ " + e + " }}{% endset %}" + g.out(access(v))
	case 2:
		return "{% for " + v + " in [" + e + "] %}" + g.out(access(v)) + "{% endfor %}"
	case 3:
		return "{% macro m" + v + "(k) %}" + g.out(access("k")) + "{% endmacro %}{{ m" + v + "(" + e + ") }}"
	case 4:
		return "{% set " + v + " = namespace(k=" + e + ") %}" + g.out(access(v+".k"))
	case 5:
		return "{% set " + v + " = namespace() %}{% set " + v + ".k = " + e + " %}" + g.out(access(v+".k"))
	case 6:
		return "{% with " + v + " = " + e + " %}" + g.out(access(v)) + "{% endwith %}"
	case 7:
		return "{% set z, " + v + " = ('z', " + e + ") %}" + g.out(access(v))
	case 8:
		return "{% for " + v + " in range(1) %}" + g.out(access(e)) + "{% endfor %}"
	}
	return g.out(access(e))
}

func (g *templateGen) out(e string) string {
	open, close := "{{ ", " }}"
	if g.r.IntN(4) == 0 {
		open, close = "{{- ", " -}}"
	}
	if g.r.IntN(6) == 0 {
		return "{% do " + e + " %}"
	}
	return open + e + close
}

// access reaches name on a receiver.
func (g *templateGen) access(recv, ref, name string) string {
	switch g.r.IntN(10) {
	case 0, 1:
		return recv + "[" + ref + "]"
	case 2, 3:
		return recv + "|attr(" + ref + ")"
	case 4:
		if jinjaIdent(name) {
			return recv + "." + name
		}
		return recv + "[" + ref + "]"
	case 5:
		return "[" + recv + "]|map(attribute=" + ref + ")|list"
	case 6:
		return "[" + recv + "]|map('attr', " + ref + ")|list"
	case 7:
		return "[" + recv + "]|selectattr(" + ref + ")|list"
	case 8:
		return "('{0.' ~ " + ref + " ~ '}').format(" + recv + ")"
	}
	return "[" + recv + "]|sort(attribute=" + ref + ")"
}

func jinjaIdent(s string) bool {
	for i, r := range s {
		if !(r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || i > 0 && r >= '0' && r <= '9') {
			return false
		}
	}
	return s != ""
}

var templateSkeletons = []string{
	"{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] }}PAYLOAD{% endfor %}",
	"{{ bos_token }}PAYLOAD{% if add_generation_prompt %}{{ '<|assistant|>' }}{% endif %}",
	"{%- if messages[0]['role'] == 'system' %}{%- set sys = messages[0]['content'] %}{%- endif %}\nPAYLOAD\n{{ sys }}",
	"PAYLOAD",
	"{% for m in messages %}{% if loop.first %}PAYLOAD{% endif %}{{ m.content|trim }}{% endfor %}",
	"{# a comment #}{% raw %}{{ not a payload }}{% endraw %}PAYLOAD",
}

// gen writes a template that reaches a name, and whether the name is one
// of Python's internals.
func (g *templateGen) gen() (string, bool) {
	unsafe := g.r.IntN(3) != 0
	targets := benignTargets
	if unsafe {
		targets = unsafeTargets
	}
	name := targets[g.r.IntN(len(targets))]
	recv := g.pick("x", "cycler", "lipsum", "namespace", "messages[0]", "''", "message", "self")
	var payload string
	if g.r.IntN(3) == 0 {
		// A chain: two names, the second on the first's result.
		second := targets[g.r.IntN(len(targets))]
		payload = g.bind(name, func(ref string) string {
			inner := g.access(recv, ref, name)
			return g.access("("+inner+")", g.literal(second), second)
		})
	} else {
		payload = g.bind(name, func(ref string) string { return g.access(recv, ref, name) })
	}
	return strings.Replace(g.pick(templateSkeletons...), "PAYLOAD", payload, 1), unsafe
}

// mutate edits a template at random, for templates on both sides of
// what jinja2 accepts.
func (g *templateGen) mutate(s string) string {
	pieces := []string{"{", "}", "%", "#", "-", "+", "'", `"`, `\`, " ", "|", ".", "(", ")", "[", "]", "~", ":", ",",
		"=", "\n", "\r", "\t", "\v", "\u3000", "\u00a0", "\u0663", "0", "1", "_", "x", "__", "{{", "}}", "{%", "%}",
		"{#", "#}", "raw", "endraw", " if ", " else ", " in ", " is ", " not ", "e5", "0x", "é", "\u0301",
		"\U0001F600", "\U0001D7CF", "\\U0001F600", "\\N{LOW LINE}", "\\x5f", "\\u005f", "\\\u00e9"}
	b := []byte(s)
	for range 1 + g.r.IntN(3) {
		i := g.r.IntN(len(b) + 1)
		switch g.r.IntN(3) {
		case 0:
			b = append(b[:i:i], append([]byte(g.pick(pieces...)), b[i:]...)...)
		case 1:
			if i < len(b) {
				j := min(len(b), i+1+g.r.IntN(4))
				b = append(b[:i:i], b[j:]...)
			}
		default:
			if i < len(b) {
				j := min(len(b), i+1+g.r.IntN(8))
				b = append(b[:j:j], append(slicesClone(b[i:j]), b[j:]...)...)
			}
		}
	}
	return strings.ToValidUTF8(string(b), "\uFFFD")
}

func slicesClone(b []byte) []byte { return append([]byte(nil), b...) }

// TestChatTemplateAgreesWithJinja2 parses thousands of templates with
// the scanner and with jinja2, and renders those jinja2 accepts with
// every attribute and item access recorded: the scanner must parse what
// jinja2 parses, refuse what it refuses, and flag every template whose
// rendering reached one of Python's internals.
func TestChatTemplateAgreesWithJinja2(t *testing.T) {
	jinja2Available(t)
	g := &templateGen{r: rand.New(rand.NewPCG(3, diffSeed()))}
	var recs [][]byte
	var unsafe []bool
	for range 1500 {
		s, u := g.gen()
		recs = append(recs, []byte(s))
		unsafe = append(unsafe, u)
	}
	corpus, _ := filepath.Glob("testdata/templates/*.jinja")
	var seeds []string
	for _, f := range corpus {
		b, _ := os.ReadFile(f)
		seeds = append(seeds, string(b))
	}
	for i := range 1500 {
		var s string
		if i%2 == 0 && len(seeds) > 0 {
			s = seeds[g.r.IntN(len(seeds))]
		} else {
			s = string(recs[g.r.IntN(len(recs))])
		}
		recs = append(recs, []byte(g.mutate(s)))
		unsafe = append(unsafe, false)
	}
	answers := runPy(t, "jinja", recs)
	var parseDiff, valueDiff, missed, unflagged, falseCritical, benignHigh, benign, parsed int
	for i, rec := range recs {
		var py struct {
			Error   string   `json:"error"`
			Reached []string `json:"reached"`
			Consts  []string `json:"consts"`
		}
		if err := json.Unmarshal(answers[i], &py); err != nil {
			t.Fatal(err)
		}
		src := string(rec)
		body, err := jinja.Parse(src)
		if (err != nil) != (py.Error != "") {
			parseDiff++
			if parseDiff <= 15 {
				t.Errorf("%q: jinja2 %s, the scanner %v", src, orOK(py.Error), err)
			}
			continue
		}
		if err != nil {
			continue
		}
		parsed++
		if ours := stringConsts(body); !slices.Equal(ours, py.Consts) {
			valueDiff++
			if valueDiff <= 10 {
				t.Errorf("%q: jinja2 reads the strings %q, the scanner %q", src, py.Consts, ours)
			}
		}
		fs := checkChatTemplate(src, "chat_template")
		var reachedUnsafe []string
		for _, n := range py.Reached {
			if unsafeTemplateName(n) {
				reachedUnsafe = append(reachedUnsafe, n)
			}
		}
		if len(reachedUnsafe) > 0 && !hasID(fs, "MS502") && !hasID(fs, "MS503") {
			missed++
			if missed <= 15 {
				t.Errorf("rendering reached %q, the scanner found %v in %q", reachedUnsafe, templateIDs(fs), src)
			}
		}
		if i < 1500 && unsafe[i] && !hasID(fs, "MS502") && !hasID(fs, "MS503") {
			unflagged++
			if unflagged <= 10 {
				t.Errorf("a payload not flagged: %q", src)
			}
		}
		if i < 1500 && !unsafe[i] {
			benign++
			if hasID(fs, "MS503") {
				benignHigh++
			}
			if hasID(fs, "MS502") && len(reachedUnsafe) == 0 {
				falseCritical++
				if falseCritical <= 10 {
					t.Errorf("benign template called critical: %v in %q", templateIDs(fs), src)
				}
			}
		}
	}
	t.Logf("%d templates, %d parsed by both; %d parse disagreements, %d string value disagreements, %d unsafe reaches missed, "+
		"%d payloads unflagged; of %d benign, %d called critical, %d high (names computed at render time)",
		len(recs), parsed, parseDiff, valueDiff, missed, unflagged, benign, falseCritical, benignHigh)
}

// stringConsts is a parse's string literals, sorted, as JSON carries
// them (a lone surrogate becomes U+FFFD).
func stringConsts(body []jinja.Node) []string {
	var out []string
	for _, n := range body {
		jinja.Walk(n, func(n jinja.Node) bool {
			if c, ok := n.(*jinja.Const); ok {
				if s, ok := c.Value.(string); ok {
					out = append(out, strings.ToValidUTF8(s, "\uFFFD"))
				}
			}
			return true
		})
	}
	slices.Sort(out)
	return out
}
