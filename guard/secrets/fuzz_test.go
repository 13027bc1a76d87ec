package secrets

import (
	"testing"

	"github.com/modelgate/modelgate/guard"
)

// FuzzDetect: any text, spans inside it.
func FuzzDetect(f *testing.F) {
	d, err := New()
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range []string{"AKIAZ3MSJV4WWNKWW5FG", "-----BEGIN PRIVATE KEY-----\nabc", "a\nb\npassword = \"Xq9vT2mB7kLp4RzW8nYc\"", "ｇｈｐ＿8dKq2mZpX4vN7bR1sT6wY9cE3fH5jL0aQuIo"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d.Detect(&guard.Text{Segment: guard.Segment{Text: s}}, func(fd guard.Finding) {
			if fd.Start < 0 || fd.End > len(s) || fd.Start > fd.End {
				t.Fatalf("finding %+v out of range for %d bytes", fd, len(s))
			}
		})
	})
}
