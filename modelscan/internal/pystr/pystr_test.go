package pystr

import "testing"

func TestUnescape(t *testing.T) {
	for _, c := range []struct {
		in, want string
		bytes    bool
	}{
		{`\x5f\x5fclass\x5f\x5f`, "__class__", false},
		{`\u005f\U0000005f\137\N{LOW LINE}\n{`, "____\n{", false},
		{`\q\d`, `\q\d`, false}, // unknown escapes stay
		{"a\\\nb", "ab", false}, // a line continuation
		{`\u00e9`, "é", false},
		{`\u00e9\xff`, `\u00e9` + "\xff", true}, // \u is no escape in bytes
		{`\ud800`, "\xed\xa0\x80", false},       // a lone surrogate, as WTF-8
	} {
		got, err := Unescape(c.in, c.bytes)
		if err != nil || got != c.want {
			t.Errorf("Unescape(%q) = %q, %v; want %q", c.in, got, err, c.want)
		}
	}
	for _, bad := range []string{`\x5`, `\u12`, `\U00110000`, `\N{NO SUCH CHARACTER}`, `\N{LOW LINE`, `abc\`} {
		if got, err := Unescape(bad, false); err == nil {
			t.Errorf("Unescape(%q) = %q, want an error", bad, got)
		}
	}
}

func TestBackslashReplace(t *testing.T) {
	if got, want := BackslashReplace("a\u00e9\u4e2d\U0001F600"), `a\xe9\u4e2d\U0001f600`; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestCharacterClasses(t *testing.T) {
	for _, r := range []rune{' ', '\t', '\v', '\f', 0x1c, 0x1f, 0x85, 0xa0, 0x2007, 0x3000} {
		if !IsSpace(r) {
			t.Errorf("IsSpace(%U) = false", r)
		}
	}
	for _, r := range []rune{'a', 0x200b, 0xfeff, 0x180e} {
		if IsSpace(r) {
			t.Errorf("IsSpace(%U) = true", r)
		}
	}
	for r, want := range map[rune]int{'7': 7, 0x0663: 3, 0xff19: 9, 0x1d7ce: 0, 0x1d7d9: 1, 0x1d7ff: 9, 'a': -1, 0xb2: -1} {
		if got := DigitValue(r); got != want {
			t.Errorf("DigitValue(%U) = %d, want %d", r, got, want)
		}
	}
	for s, want := range map[string]bool{"_x1": true, "é": true, "x\u0301": true, "1x": false, "٣": false, "a-b": false, "": false} {
		if got := IsIdentifier(s); got != want {
			t.Errorf("IsIdentifier(%q) = %v", s, got)
		}
	}
}
