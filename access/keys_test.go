package access

import (
	"strings"
	"testing"
)

func TestNewKeyParses(t *testing.T) {
	seen := map[string]bool{}
	for range 100 {
		id, key, hash := NewKey()
		if seen[key] {
			t.Fatal("NewKey repeated a key")
		}
		seen[key] = true
		gotID, secret, err := ParseKey(key)
		if err != nil {
			t.Fatalf("ParseKey(%q): %v", key, err)
		}
		if gotID != id {
			t.Fatalf("id %q, want %q", gotID, id)
		}
		if !secretMatches(secret, hash) {
			t.Fatal("hash does not match the secret")
		}
		if secretMatches(secret[:len(secret)-1]+"a", hash) && !strings.HasSuffix(secret, "a") {
			t.Fatal("a different secret matched")
		}
	}
}

func TestSecretHasEnoughEntropy(t *testing.T) {
	_, key, _ := NewKey()
	_, secret, _ := ParseKey(key)
	// 52 base32 characters carry 260 bits, of which 256 are random.
	if bits := len(secret) * 5; bits < 256 {
		t.Fatalf("secret carries %d bits, want >= 256", bits)
	}
}

func TestParseKeyRejects(t *testing.T) {
	_, good, _ := NewKey()
	bad := []string{
		"",
		"mg_",
		strings.TrimPrefix(good, "mg_"), // no prefix
		"MG_" + good[3:],                // wrong-case prefix
		good + "a",                      // too long
		good[:len(good)-1],              // too short
		good[:3+12] + "-" + good[3+13:], // wrong separator
		good[:5] + "A" + good[6:],       // uppercase in id
		good[:len(good)-1] + "1",        // '1' is not base32
		good[:len(good)-1] + "=",        // padding
		good[:len(good)-2] + "\u00e9",   // non-ASCII, same byte length
		" " + good,                      // leading space
		good[:20] + "\x00" + good[21:],  // NUL
	}
	for _, k := range bad {
		if _, _, err := ParseKey(k); err == nil {
			t.Errorf("ParseKey(%q) accepted a malformed key", k)
		}
	}
}

func TestKeyIDFromString(t *testing.T) {
	id, key, _ := NewKey()
	for _, s := range []string{id, key} {
		got, err := KeyIDFromString(s)
		if err != nil || got != id {
			t.Errorf("KeyIDFromString(%q) = %q, %v", s, got, err)
		}
	}
	if _, err := KeyIDFromString("nope"); err == nil {
		t.Error("accepted a bad id")
	}
}

func FuzzParseKey(f *testing.F) {
	_, good, _ := NewKey()
	f.Add(good)
	f.Add("mg_aaaaaaaaaaaa_" + strings.Repeat("b", 52))
	f.Add("mg__")
	f.Fuzz(func(t *testing.T, s string) {
		id, secret, err := ParseKey(s)
		if err != nil {
			return
		}
		if s != KeyPrefix+id+"_"+secret || !ValidKeyID(id) || len(secret) != secretLen {
			t.Fatalf("ParseKey(%q) accepted and split it into %q, %q", s, id, secret)
		}
	})
}

func TestScopes(t *testing.T) {
	set, err := ParseScopes([]string{"inference:invoke", " models:read "})
	if err != nil {
		t.Fatal(err)
	}
	if !set.Has(ScopeInvoke) || !set.Has(ScopeModelsRead) || set.Has(ScopeAdmin) || set.Has(ScopeAuditRead) {
		t.Fatalf("set %v", set.Names())
	}
	admin, _ := ParseScopes([]string{"admin"})
	for _, s := range AllScopes {
		if !admin.Has(s) {
			t.Errorf("admin does not imply %s", s)
		}
	}
	if _, err := ParseScopes([]string{"inference:*"}); err == nil {
		t.Error("accepted an unknown scope")
	}
	var none ScopeSet
	if none.Has(ScopeInvoke) || none.Has("") {
		t.Error("the empty set granted something")
	}
}
