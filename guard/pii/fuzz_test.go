package pii

import (
	"testing"

	"github.com/modelgate/modelgate/guard"
)

// FuzzDetect: any text, spans inside it and scores in range.
func FuzzDetect(f *testing.F) {
	for _, s := range []string{"card 4111 1111 1111 1111", "+44 20 7946 0958", "GB82 WEST 1234 5698 7654 32", "born 1/2/1985", "０x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed", "a@b.co\u200b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		Detector{}.Detect(&guard.Text{Segment: guard.Segment{Text: s}}, func(fd guard.Finding) {
			if fd.Start < 0 || fd.End > len(s) || fd.Start > fd.End || fd.Score <= 0 || fd.Score > 1 {
				t.Fatalf("finding %+v out of range for %d bytes", fd, len(s))
			}
		})
	})
}
