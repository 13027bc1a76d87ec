package pii

import (
	"strings"
	"testing"

	"github.com/modelgate/modelgate/guard"
)

// FuzzDetect: any text, spans inside it and scores in range.
func FuzzDetect(f *testing.F) {
	for _, s := range []string{"card 4111 1111 1111 1111", "+44 20 7946 0958", "GB82 WEST 1234 5698 7654 32", "born 1/2/1985", "０x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed", "a@b.co\u200b", "٤١١١.١١١١/١١١١_١١١١", "DE89\n3704\n0044\n0532\n0130\n00", "536x22x1234"} {
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

// FuzzCardSeparators: a card number written in groups of four with any
// separator of one to three characters that are neither letters nor
// digits, in any script's digits, is found.
func FuzzCardSeparators(f *testing.F) {
	f.Add("-", int32('0'))
	f.Add(" / ", int32('٠'))
	f.Add("_", int32('०'))
	f.Fuzz(func(t *testing.T, sep string, zero int32) {
		if sep == "" || len(sep) > 3 {
			return
		}
		for _, c := range []byte(sep) {
			if c >= 0x80 || isAlnum(c) || c < 0x20 && c != '\n' && c != '\t' {
				return
			}
		}
		if d, ok := guard.DecimalDigit(zero); !ok || d != 0 {
			zero = '0'
		}
		digits := strings.Map(func(r rune) rune { return zero + r - '0' }, "4111111111111111")
		r := []rune(digits)
		text := "card " + string(r[0:4]) + sep + string(r[4:8]) + sep + string(r[8:12]) + sep + string(r[12:16]) + " thanks"
		got := false
		Detector{}.Detect(&guard.Text{Segment: guard.Segment{Text: text}}, func(fd guard.Finding) {
			got = got || fd.Entity == CreditCard && fd.Score >= 0.5
		})
		if !got {
			t.Fatalf("missed the card in %q", text)
		}
	})
}
