package access

import (
	"errors"
	"testing"
	"time"
)

func TestParseTTL(t *testing.T) {
	good := map[string]time.Duration{"30d": 30 * 24 * time.Hour, "2w": 14 * 24 * time.Hour, "12h": 12 * time.Hour, "90m": 90 * time.Minute, "1.5d": 36 * time.Hour}
	for s, want := range good {
		if got, err := ParseTTL(s); err != nil || got != want {
			t.Errorf("ParseTTL(%q) = %v, %v; want %v", s, got, err, want)
		}
	}
	for _, s := range []string{"", "soon", "-1d", "0h", "0d", "d", "1y", "99999999d"} {
		if _, err := ParseTTL(s); err == nil {
			t.Errorf("ParseTTL(%q) accepted", s)
		}
	}
}

func TestKeySpecValidate(t *testing.T) {
	ok := KeySpec{Name: "a", Scopes: []string{"admin"}, Models: []string{"*"}}
	if err := ok.Validate(); err != nil {
		t.Fatal(err)
	}
	bad := []KeySpec{
		{Scopes: []string{"admin"}, Models: []string{"*"}},
		{Name: "   ", Scopes: []string{"admin"}, Models: []string{"*"}},
		{Name: "a", Models: []string{"*"}},
		{Name: "a", Scopes: []string{"admin", "everything"}, Models: []string{"*"}},
		{Name: "a", Scopes: []string{"admin"}},
		{Name: "a", Scopes: []string{"admin"}, Models: []string{" "}},
		{Name: "a", Scopes: []string{"admin"}, Models: []string{"*"}, Limits: Limits{TPM: -5}},
		{Name: "a", Scopes: []string{"admin"}, Models: []string{"*"}, ExpiresIn: -time.Hour},
	}
	for _, s := range bad {
		if err := s.Validate(); !errors.Is(err, ErrInvalidSpec) {
			t.Errorf("%+v: want ErrInvalidSpec, got %v", s, err)
		}
	}
}
