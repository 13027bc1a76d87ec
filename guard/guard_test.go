package guard

import (
	"context"
	"errors"
	"regexp"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	unicodeconf "github.com/mtibben/confusables"
	"golang.org/x/text/unicode/norm"
)

func TestNormalize(t *testing.T) {
	tests := []struct{ in, want string }{
		{"plain text", "plain text"},
		{"ig\u200bnore\u200d previous", "ignore previous"},
		{"ＩＧＮＯＲＥ ｐｒｅｖｉｏｕｓ", "IGNORE previous"},
		{"іgnоrе", "ignore"}, // Cyrillic і, о, е
		{"café naïve", "cafe naive"},
		{"a  \t b\n\n c", "a b\nc"},
		{"tag\U000E0041\U000E0042s", "tags"},
		{"\u202eevil\u202c", "evil"},
		{"𝐛𝐨𝐥𝐝 ﬁle", "bold file"},
	}
	for _, tt := range tests {
		if got := Normalize(tt.in).Text; got != tt.want {
			t.Errorf("Normalize(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	// A span of the normalised text maps back to the characters that made it.
	raw := "key: ｓｅｃ\u200bｒｅｔ!"
	n := Normalize(raw)
	i := strings.Index(n.Text, "secret")
	a, b := n.Span(i, i+len("secret"))
	if got := raw[a:b]; got != "ｓｅｃ\u200bｒｅｔ" {
		t.Errorf("span maps to %q", got)
	}
}

// FuzzNormalize: spans always map inside the original text, on character
// boundaries, in order.
func FuzzNormalize(f *testing.F) {
	for _, s := range []string{"", "abc", "ａ\u200bｂ  c", "\U000E0041x", "é\u0301", "\xff\xfe bad utf8"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n := Normalize(s)
		prev := 0
		for i := 0; i <= len(n.Text); i++ {
			a, b := n.Span(0, i)
			if a < 0 || b > len(s) || a > b {
				t.Fatalf("Span(0,%d) = %d,%d outside %d", i, a, b, len(s))
			}
			if b < prev {
				t.Fatalf("Span end went back: %d < %d", b, prev)
			}
			prev = b
			if utf8.ValidString(s) && b < len(s) && !utf8.RuneStart(s[b]) {
				t.Fatalf("Span end %d splits a character", b)
			}
		}
	})
}

type fixed struct {
	entity string
	re     *regexp.Regexp
}

func (d fixed) Entities() []string { return []string{d.entity} }
func (d fixed) Detect(t *Text, emit func(Finding)) {
	for _, loc := range d.re.FindAllStringIndex(t.Norm().Text, -1) {
		a, b := t.Norm().Span(loc[0], loc[1])
		emit(Finding{Entity: d.entity, Start: a, End: b, Score: 0.9})
	}
}

var emails = fixed{"EMAIL", regexp.MustCompile(`\w+@\w+\.com`)}

func TestMaskAndRestore(t *testing.T) {
	p := Pipeline{Guards: []Guard{New("pii", emails, Policy{Default: Mask})}}
	texts := NewTexts([]Segment{{Text: "from a@x.com to b@y.com"}, {Text: "cc a@x.com"}})
	var v Vault
	out := p.Run(context.Background(), texts, &v)
	if out.Verdict() != Redact || !out.Changed {
		t.Fatalf("outcome %+v", out)
	}
	if texts[0].Text != "from <EMAIL_1> to <EMAIL_2>" || texts[1].Text != "cc <EMAIL_1>" {
		t.Fatalf("masked: %q %q", texts[0].Text, texts[1].Text)
	}
	answer := "I wrote to <EMAIL_2> and <EMAIL_1>, not <EMAIL_3> or <EMAIL_1"
	if got := v.Restore(answer); got != "I wrote to b@y.com and a@x.com, not <EMAIL_3> or <EMAIL_1" {
		t.Fatalf("restored %q", got)
	}
	if r := out.Results[0]; r.Entities()["EMAIL"] != 3 {
		t.Fatalf("entities %v", r.Entities())
	}
}

func TestActions(t *testing.T) {
	for _, tt := range []struct {
		a    Action
		want string
		v    Verdict
	}{
		{RedactIt, "mail <EMAIL> now", Redact},
		{Strip, "mail  now", Redact},
		{FlagIt, "mail a@x.com now", Flag},
		{Ignore, "mail a@x.com now", Allow},
		{BlockIt, "mail a@x.com now", Block},
	} {
		p := Pipeline{Guards: []Guard{New("pii", emails, Policy{Default: tt.a})}}
		texts := NewTexts([]Segment{{Text: "mail a@x.com now"}})
		out := p.Run(context.Background(), texts, nil)
		if texts[0].Text != tt.want || out.Verdict() != tt.v || (tt.v == Block) != (out.Blocked != nil) {
			t.Errorf("%v: %q verdict %v", tt.a, texts[0].Text, out.Verdict())
		}
	}
	// Hash: keyed, stable, and not the value.
	p := Pipeline{Guards: []Guard{New("pii", emails, Policy{Default: Hash})}}
	h := func(key string) string {
		texts := NewTexts([]Segment{{Text: "a@x.com"}})
		p.Run(context.Background(), texts, &Vault{Key: []byte(key)})
		return texts[0].Text
	}
	if a, b, c := h("k1k1k1k1k1k1k1k1"), h("k1k1k1k1k1k1k1k1"), h("k2k2k2k2k2k2k2k2"); a != b || a == c || !strings.HasPrefix(a, "<EMAIL_") {
		t.Errorf("pseudonyms %q %q %q", a, b, c)
	}
}

// A later guard sees the text as earlier guards left it, and a block stops
// the pipeline.
func TestOrderAndBlock(t *testing.T) {
	var saw string
	spy := guardFunc(func(texts []*Text) (Result, error) { saw = texts[0].Text; return Result{}, nil })
	blocker := New("words", fixed{"WORD", regexp.MustCompile(`forbidden`)}, Policy{Default: BlockIt})
	p := Pipeline{Guards: []Guard{New("pii", emails, Policy{Default: RedactIt}), spy, blocker, spy}}
	saw = ""
	texts := NewTexts([]Segment{{Text: "a@x.com forbidden"}})
	out := p.Run(context.Background(), texts, nil)
	if saw != "<EMAIL> forbidden" || out.Blocked == nil || out.Blocked.Guard != "words" || len(out.Results) != 3 {
		t.Fatalf("saw %q, outcome %+v", saw, out)
	}
}

type guardFunc func([]*Text) (Result, error)

func (f guardFunc) Name() string { return "func" }
func (f guardFunc) Inspect(_ context.Context, texts []*Text) (Result, error) {
	return f(texts)
}

// A guard that fails, panics or overruns its budget blocks unless the
// pipeline fails open; it is never recorded as passed.
func TestFailClosed(t *testing.T) {
	failing := []Guard{
		guardFunc(func([]*Text) (Result, error) { return Result{}, errors.New("model unavailable") }),
		guardFunc(func([]*Text) (Result, error) { panic("boom") }),
		guardFunc(func([]*Text) (Result, error) { time.Sleep(20 * time.Millisecond); return Result{}, nil }),
	}
	for i, g := range failing {
		p := Pipeline{Guards: []Guard{g}, Budget: 5 * time.Millisecond}
		out := p.Run(context.Background(), NewTexts([]Segment{{Text: "x"}}), nil)
		if out.Blocked == nil || out.Blocked.Err == nil {
			t.Errorf("guard %d: outcome %+v, want blocked with an error", i, out)
		}
		p.FailOpen = true
		out = p.Run(context.Background(), NewTexts([]Segment{{Text: "x"}}), nil)
		if out.Blocked != nil || out.Results[0].Err == nil || out.Results[0].Verdict == Block {
			t.Errorf("guard %d fail-open: outcome %+v, want passed with the error recorded", i, out)
		}
	}
}

func TestInvisibleText(t *testing.T) {
	p := Pipeline{Guards: []Guard{New("invisible_text", InvisibleText{}, Policy{Default: Strip})}}
	texts := NewTexts([]Segment{{Text: "hi\U000E0049\U000E0047\U000E004E there\u200b, team 👩\u200d💻 \u202edlrow"}})
	out := p.Run(context.Background(), texts, nil)
	if got := texts[0].Text; got != "hi there, team 👩\u200d💻 dlrow" {
		t.Fatalf("stripped to %q", got)
	}
	e := out.Results[0].Entities()
	if e[EntityTagCharacters] != 1 || e[EntityInvisible] != 1 || e[EntityBidiControl] != 1 {
		t.Fatalf("entities %v", e)
	}
}

// TestDecimalDigits: every decimal digit of every script normalises to the
// ASCII digit of its value, which rests on Unicode's Nd ranges being whole
// runs of ten.
func TestDecimalDigits(t *testing.T) {
	for _, tab := range [][2]int{{0, len(unicode.Nd.R16)}, {1, len(unicode.Nd.R32)}} {
		for i := range tab[1] {
			var lo, hi, stride uint32
			if tab[0] == 0 {
				r := unicode.Nd.R16[i]
				lo, hi, stride = uint32(r.Lo), uint32(r.Hi), uint32(r.Stride)
			} else {
				r := unicode.Nd.R32[i]
				lo, hi, stride = r.Lo, r.Hi, r.Stride
			}
			if stride != 1 || (hi-lo+1)%10 != 0 {
				t.Fatalf("Nd range %x-%x (stride %d) is not whole runs of ten", lo, hi, stride)
			}
			for r := lo; r <= hi; r++ {
				want := '0' + rune(r-lo)%10
				if got := Normalize(string(rune(r))).Text; got != string(want) {
					t.Fatalf("%U normalises to %q, want %q", r, got, want)
				}
			}
		}
	}
	for in, want := range map[string]string{
		"٤١١١ ١١١١": "4111 1111", // Arabic-Indic
		"۴۱۱۱":      "4111",      // Extended Arabic-Indic (Persian)
		"४१११":      "4111",      // Devanagari
		"৪১১১":      "4111",      // Bengali
		"௪௧௧௧":      "4111",      // Tamil
	} {
		if got := Normalize(in).Text; got != want {
			t.Errorf("%q normalises to %q, want %q", in, got, want)
		}
	}
}

// TestSkeletonTable checks the generated table against Unicode's
// confusables data: regenerate it (go generate ./guard) when this fails.
func TestSkeletonTable(t *testing.T) {
	want := 0
	for r := rune(0x80); r <= utf8.MaxRune; r++ {
		if !utf8.ValidRune(r) || norm.NFKD.String(string(r)) != string(r) {
			continue
		}
		s := unicodeconf.Skeleton(string(r))
		if len(s) != 1 || !(s[0] >= 'a' && s[0] <= 'z' || s[0] >= 'A' && s[0] <= 'Z' || s[0] >= '0' && s[0] <= '9') {
			continue
		}
		want++
		c := rune(s[0])
		if c == 'l' && unicode.IsUpper(r) {
			c = 'I'
		}
		if got, ok := skeletons[r]; !ok || got != c {
			t.Fatalf("%U: table has %q (%v), confusables data says %q", r, got, ok, c)
		}
	}
	if len(skeletons) != want {
		t.Fatalf("table has %d entries, the data %d", len(skeletons), want)
	}
	for in, want := range map[string]string{"ᎪKIA": "AKIA", "ꓮKIA": "AKIA", "ΙD": "ID"} {
		if got := Normalize(in).Text; got != want {
			t.Errorf("%q normalises to %q, want %q", in, got, want)
		}
	}
}

func TestWindows(t *testing.T) {
	s := "one two three\nfour five six\nseven eight nine"
	at := func(w string) int { return strings.Index(s, w) }
	for _, c := range []struct {
		anchors       []int
		before, after int
		lines         bool
		want          []string
	}{
		{[]int{at("five")}, 0, 4, false, []string{"five"}},
		{[]int{at("five")}, 2, 6, false, []string{"four five six"}},
		{[]int{at("five")}, 0, 1, true, []string{"four five six"}},
		{[]int{at("two"), at("five")}, 0, 2, true, []string{"one two three", "four five six"}},
		{[]int{at("two"), at("five")}, 0, 12, true, []string{"one two three\nfour five six\nseven eight nine"}},
		{[]int{at("one"), at("nine")}, 0, 2, false, []string{"one", "nine"}},
		{[]int{at("two"), at("two") + 1, at("three")}, 0, 2, false, []string{"two", "three"}},
		{[]int{at("two"), at("two") + 1, at("three")}, 0, 5, false, []string{"two three"}},
	} {
		var got []string
		for _, w := range Windows(s, c.anchors, c.before, c.after, c.lines) {
			got = append(got, s[w[0]:w[1]])
		}
		if strings.Join(got, "|") != strings.Join(c.want, "|") {
			t.Errorf("%v: got %q, want %q", c.anchors, got, c.want)
		}
	}
}

// TestBudgetScalesWithText: the budget covers each 32 KiB of text, so a
// guard as slow per byte on a large prompt as on a small one passes, and
// one that overruns its share fails.
func TestBudgetScalesWithText(t *testing.T) {
	p := Pipeline{Budget: 10 * time.Millisecond}
	small := NewTexts([]Segment{{Text: "x"}})
	large := NewTexts([]Segment{{Text: strings.Repeat("x", 200_000)}, {Text: "y"}})
	if got := p.budgetFor(small); got != 10*time.Millisecond {
		t.Errorf("budget for 1 byte: %v", got)
	}
	if got := p.budgetFor(large); got != 70*time.Millisecond {
		t.Errorf("budget for 200 KB: %v, want 70ms", got)
	}
	slow := guardFunc(func([]*Text) (Result, error) { time.Sleep(25 * time.Millisecond); return Result{}, nil })
	p.Guards = []Guard{slow}
	if out := p.Run(context.Background(), large, nil); out.Blocked != nil {
		t.Errorf("a guard within its share of a large text's budget failed: %+v", out.Results)
	}
	if out := p.Run(context.Background(), small, nil); out.Blocked == nil {
		t.Error("a guard over budget on a small text passed")
	}
}
