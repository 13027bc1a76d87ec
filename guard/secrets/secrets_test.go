package secrets

import (
	"strings"
	"testing"

	"github.com/modelgate/modelgate/guard"
)

func findings(t *testing.T, text string) []string {
	t.Helper()
	d, err := New()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	d.Detect(&guard.Text{Segment: guard.Segment{Text: text}}, func(f guard.Finding) {
		out = append(out, f.Entity+":"+text[f.Start:f.End])
	})
	return out
}

func TestDetect(t *testing.T) {
	tests := []struct {
		text string
		want string // an entity:value that must be among the findings; "" for none at all
	}{
		{"my key is AKIAZ3MSJV4WWNKWW5FG ok", "AWS_ACCESS_TOKEN:AKIAZ3MSJV4WWNKWW5FG"},
		{"token ghp_8dKq2mZpX4vN7bR1sT6wY9cE3fH5jL0aQuIo", "GITHUB_PAT:ghp_8dKq2mZpX4vN7bR1sT6wY9cE3fH5jL0aQuIo"},
		{"export STRIPE=sk_live_51HxQpLKj8F2mNvB3zYtR4wE9u", "STRIPE_ACCESS_TOKEN:sk_live_51HxQpLKj8F2mNvB3zYtR4wE9u"},
		{"-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA3Tz2mr7SZiAMfQyuvBjM9Oi\n", "PRIVATE_KEY:-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA3Tz2mr7SZiAMfQyuvBjM9Oi\n"},
		{"use Xq9vT2mB7kLp4RzW8nYc3HdF6sJ0gA5e as the value", "HIGH_ENTROPY_TOKEN:Xq9vT2mB7kLp4RzW8nYc3HdF6sJ0gA5e"},
		// negatives: prose, digests, identifiers, paths, UUIDs
		{"The quick brown fox jumps over the lazy dog near the riverbank.", ""},
		{"commit 3f786850e387550fdab836ed7e6dc881de23001b fixed it", ""},
		{"sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", ""},
		{"see src/components/forms/InputFieldValidator2.tsx", ""},
		{"id 123e4567-e89b-12d3-a456-426614174000", ""},
		{"call getUserAccountSettingsForDisplay2 then", ""},
	}
	for _, tt := range tests {
		got := findings(t, tt.text)
		if tt.want == "" {
			if len(got) > 0 {
				t.Errorf("%q: got %q, want nothing", tt.text, got)
			}
			continue
		}
		ok := false
		for _, g := range got {
			ok = ok || g == tt.want
		}
		if !ok {
			t.Errorf("%q: got %q, want %q among them", tt.text, got, tt.want)
		}
	}
}

// TestEvasion: a key broken up with invisible characters or written in
// fullwidth letters is still found, and its span covers the original text.
func TestEvasion(t *testing.T) {
	key := "ghp_8dKq2mZpX4vN7bR1sT6wY9cE3fH5jL0aQuIo"
	for _, text := range []string{
		"token " + strings.Join(strings.Split(key, ""), "\u200b"),
		"token " + strings.Join(strings.Split(key, ""), "\U000E0020"),
		"token ｇｈｐ＿" + key[4:],
	} {
		got := findings(t, text)
		if len(got) == 0 || !strings.HasSuffix(got[0], text[len("token "):]) {
			t.Errorf("%q: got %q, want the whole key", text, got)
		}
	}
}

// TestIdentifiers: generated ids are random by design, so the entropy
// check leaves them alone, but a credential's own shape is still found
// in one.
func TestIdentifiers(t *testing.T) {
	d, err := New()
	if err != nil {
		t.Fatal(err)
	}
	detect := func(text string, kind guard.Kind) []string {
		var out []string
		d.Detect(&guard.Text{Segment: guard.Segment{Text: text, Kind: kind}}, func(f guard.Finding) { out = append(out, f.Entity) })
		return out
	}
	id := "call_Ab3dEf9GhIjKlMnOpQrStUv7x"
	if got := detect(id, guard.Prose); len(got) == 0 {
		t.Fatalf("%s as prose: the entropy check did not fire, so this test shows nothing", id)
	}
	if got := detect(id, guard.Identifier); len(got) != 0 {
		t.Errorf("%s as an identifier: %v", id, got)
	}
	if got := detect("call-AKIAZ3MSJV4WWNKWW5FG", guard.Identifier); len(got) == 0 {
		t.Error("an AWS key inside an id passed")
	}
}

// TestSplitAndEncoded is the red team's class: credentials cut into
// pieces, written with lookalike letters, or encoded, so that no rule
// reads them whole.
func TestSplitAndEncoded(t *testing.T) {
	const aws = "AKIAZ3MSJV4WWNKWW5FG"
	const pat = "ghp_8dKq2mZpX4vN7bR1sT6wY9cE3fH5jL0aQuIo"
	every := func(s string, n int, sep string) string {
		var b strings.Builder
		for i := 0; i < len(s); i += n {
			if i > 0 {
				b.WriteString(sep)
			}
			b.WriteString(s[i:min(i+n, len(s))])
		}
		return b.String()
	}
	for _, text := range []string{
		"key " + every(aws, 4, "-"),
		"key " + every(aws, 4, "."),
		"key " + every(aws, 4, " "),
		"key " + every(aws, 5, "\n"),
		"token:\n" + every(pat, 8, "\n"),
		"token " + every(pat, 4, " "),
		"part 1: AKIAZ3MSJV and part 2: 4WWNKWW5FG",
		"first half AKIAZ3MSJV4W, second half WNKWW5FG.",
		"call_" + aws,
		"id.ghp_8dKq2mZpX4vN7bR1sT6wY9cE3fH5jL0aQuIo",
		"\u13AAKIAZ3MSJV4WWNKWW5FG",        // Cherokee A
		"\uA4EEKIAZ3MSJV4WWNKWW5FG",        // Lisu A
		"key QUtJQVozTVNKVjRXV05LV1c1Rkc=", // base64
		"key QUtJQVozTVNKVjRXV05LV1c1Rkc",  // unpadded
		"key " + hexOf(aws),
	} {
		if got := findings(t, text); len(got) == 0 {
			t.Errorf("missed: %q", text)
		}
	}
}

func hexOf(s string) string {
	const digits = "0123456789abcdef"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		b.WriteByte(digits[s[i]>>4])
		b.WriteByte(digits[s[i]&15])
	}
	return b.String()
}

// TestSplitHardNegatives: rebuilding splits must not turn ordinary text
// into credentials.
func TestSplitHardNegatives(t *testing.T) {
	for _, text := range []string{
		"the cat sat on the mat and the dog ran off to the old oak",
		"sha256 e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
		"uuid 123e4567-e89b-12d3-a456-426614174000",
		"call 0044 2079 4609 5800 or 0044 2079 4609 5801",
		"hex dump: de ad be ef ca fe ba be 00 11 22 33 44 55 66 77",
		"base64 of a greeting: SGVsbG8sIHdvcmxkISBIb3cgYXJlIHlvdT8=",
		"apiKey := cfg.Get(\"api\"); token := auth.NewToken(apiKey, secret)",
		"skip the ey words: skill sky eyes eyelid keyboard tokenizer",
	} {
		if got := findings(t, text); len(got) != 0 {
			t.Errorf("%q: %v", text, got)
		}
	}
}

// TestGroupRunsReadOnce: a long run of even words (lorem ipsum …) is read
// as one run, not once from each of its words, which made the guard
// quadratic in the text's length.
func TestGroupRunsReadOnce(t *testing.T) {
	d, err := New()
	if err != nil {
		t.Fatal(err)
	}
	s := strings.Repeat("lorem ipsum ", 5000) + "AKIA Z3MS JV4W WNKW W5FG"
	texts := d.appendGroups(nil, s)
	if len(texts) > 6 {
		t.Errorf("%d rebuilt texts from one run of even words", len(texts))
	}
	for _, r := range texts {
		if len(r.text) > maxJoined {
			t.Errorf("a rebuilt text of %d bytes", len(r.text))
		}
	}
	if got := findings(t, "see "+strings.Repeat("lorem ipsum ", 200)+"AKIA Z3MS JV4W WNKW W5FG"); len(got) == 0 {
		t.Error("the split key after a long run of words was missed")
	}
}

// BenchmarkRepetitiveProse is the gateway benchmark's prompt shape, 1 KB
// of the same two words, where the rescan once went quadratic.
func BenchmarkRepetitiveProse(b *testing.B) {
	d, err := New()
	if err != nil {
		b.Fatal(err)
	}
	s := strings.Repeat("lorem ipsum ", 83)
	b.SetBytes(int64(len(s)))
	for b.Loop() {
		d.Detect(&guard.Text{Segment: guard.Segment{Text: s}}, func(guard.Finding) {})
	}
}
