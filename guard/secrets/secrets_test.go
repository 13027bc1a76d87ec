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
