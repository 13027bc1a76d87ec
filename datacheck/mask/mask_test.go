package mask

import "testing"

func TestApply(t *testing.T) {
	m := &Masker{Key: []byte("0123456789abcdef-key")}
	other := &Masker{Key: []byte("another-key-of-16+")}
	for _, tc := range []struct{ action, in, want string }{
		{Redact, "jane@example.com", "REDACTED"},
		{Generalise, "1985-03-12", "1985"},
		{Generalise, "1985-03-12T10:00:00Z", "1985"},
		{Generalise, "12/03/1985", "1985"},
		{Generalise, "SW1A 1AA", "SW1A"},
		{Generalise, "m1 1ae", "M1"},
		{Generalise, "94103", "941XX"},
		{Generalise, "94103-1234", "941XX"},
		{Generalise, "75001", "750XX"},
		{Generalise, "1010", "10XX"},
		{Generalise, "Springfield", "Sp*"},
		{Entities, "mail jane@example.com or call +44 20 7946 0958", "mail <EMAIL> or call <PHONE>"},
		{Entities, "key ghp_8dKq2mZpX4vN7bR1sT6wY9cE3fH5jL0aQuIo here", "key <GITHUB_PAT> here"},
		{Entities, "nothing to see", "nothing to see"},
	} {
		got, err := m.Apply(tc.action, tc.in)
		if err != nil || got != tc.want {
			t.Errorf("%s(%q) = %q, %v; want %q", tc.action, tc.in, got, err, tc.want)
		}
	}
	a, _ := m.Apply(Hash, "jane@example.com")
	b, _ := m.Apply(Hash, "jane@example.com")
	c, _ := other.Apply(Hash, "jane@example.com")
	d, _ := m.Apply(Hash, "bob@example.com")
	// HMAC-SHA-256("0123456789abcdef-key", "jane@example.com"), first 16 bytes.
	if a != "7c43931b73fd20c796e523aa55095e19" || a != b || a == c || a == d {
		t.Errorf("pseudonyms %q %q %q %q", a, b, c, d)
	}
	if _, err := (&Masker{}).Apply(Hash, "x"); err != ErrNoKey {
		t.Errorf("hash without a key: %v", err)
	}
}
