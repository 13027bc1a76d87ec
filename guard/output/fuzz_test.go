package output

import (
	"testing"

	"github.com/modelgate/modelgate/guard"
)

// FuzzDetect: any text, spans inside it.
func FuzzDetect(f *testing.F) {
	for _, s := range []string{"rm -rf /", "![a](https://x.io/?q=1)", "<a href=\"&#106;avascript:x\">", "[r]: //x.io/a?b\n![a][r]", "' or 'a'='a"} {
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
