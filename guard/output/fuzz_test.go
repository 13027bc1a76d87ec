package output

import (
	"testing"

	"github.com/modelgate/modelgate/guard"
)

// FuzzDetect: any text, spans inside it.
func FuzzDetect(f *testing.F) {
	for _, s := range []string{"rm -rf /", "![a](https://x.io/?q=1)", "<a href=\"&#106;avascript:x\">", "[r]: //x.io/a?b\n![a][r]", "' or 'a'='a",
		`'r'm -rf /`, `$'\x72\x6d' -rf /`, "DROP/**/TABLE x", "/*!50000DROP*/ TABLE x", "%253Cscript%253E", `\u003cscript\u003e`} {
		f.Add(s)
	}
	d := &Detector{AllowDomains: []string{"example.com"}}
	f.Fuzz(func(t *testing.T, s string) {
		d.Detect(&guard.Text{Segment: guard.Segment{Text: s}}, func(fd guard.Finding) {
			if fd.Start < 0 || fd.End > len(s) || fd.Start > fd.End {
				t.Fatalf("finding %+v out of range for %d bytes", fd, len(s))
			}
		})
	})
}

// FuzzViews: every view maps each of its bytes back inside the text, in
// order, whatever the text.
func FuzzViews(f *testing.F) {
	for _, s := range []string{`'r'm -rf /`, `$'\x72\x6d\0'`, `"a\"b"`, "DROP/**/TABLE --x\n", "/*!1 a", "%25%3C&lt;\\u003c\\x3c", "&#x", `\`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, make := range []func(string) (view, bool){shellView, sqlView, markupView} {
			v, ok := make(s)
			if !ok {
				continue
			}
			if len(v.off) != len(v.text) {
				t.Fatalf("%d offsets for %d bytes", len(v.off), len(v.text))
			}
			prev := 0
			for i, o := range v.off {
				if o < 0 || o >= len(s) || o < prev {
					t.Fatalf("byte %d maps to %d (text %d bytes, previous %d)", i, o, len(s), prev)
				}
				prev = o
			}
			if len(v.text) > 0 {
				a, b := v.span(0, len(v.text))
				if a < 0 || b > len(s) || a > b {
					t.Fatalf("span %d,%d", a, b)
				}
			}
		}
	})
}
