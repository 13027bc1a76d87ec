package secrets

import (
	"strings"
	"testing"

	"github.com/modelgate/modelgate/guard"
)

// FuzzDetect: any text, spans inside it.
func FuzzDetect(f *testing.F) {
	d, err := New()
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range []string{"AKIAZ3MSJV4WWNKWW5FG", "-----BEGIN PRIVATE KEY-----\nabc", "a\nb\npassword = \"Xq9vT2mB7kLp4RzW8nYc\"", "ｇｈｐ＿8dKq2mZpX4vN7bR1sT6wY9cE3fH5jL0aQuIo",
		"AKIA-Z3MS-JV4W-WNKW-W5FG", "part 1: AKIAZ3MSJV part 2: 4WWNKWW5FG", "call_AKIAZ3MSJV4WWNKWW5FG", "QUtJQVozTVNKVjRXV05LV1c1Rkc=", "\u13AAKIAZ3MSJV4WWNKWW5FG"} {
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

// FuzzSplitKey: an AWS key id cut into even chunks with any one separator
// the rescan knows is found whole.
func FuzzSplitKey(f *testing.F) {
	d, err := New()
	if err != nil {
		f.Fatal(err)
	}
	f.Add(4, byte('-'))
	f.Add(5, byte('\n'))
	f.Fuzz(func(t *testing.T, n int, sep byte) {
		if n < 2 || n > 12 || strings.IndexByte(groupSeparators, sep) < 0 {
			return
		}
		const key = "AKIAZ3MSJV4WWNKWW5FG"
		var b strings.Builder
		for i := 0; i < len(key); i += n {
			if i > 0 {
				b.WriteByte(sep)
			}
			b.WriteString(key[i:min(i+n, len(key))])
		}
		text := "the key is " + b.String() + " ok"
		found := false
		d.Detect(&guard.Text{Segment: guard.Segment{Text: text}}, func(guard.Finding) { found = true })
		if !found {
			t.Fatalf("missed %q", text)
		}
	})
}
