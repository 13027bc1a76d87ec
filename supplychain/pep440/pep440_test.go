package pep440

import "testing"

func TestOrder(t *testing.T) {
	// Each version sorts strictly after the one before: PEP 440's own
	// examples and the edges around them.
	ordered := []string{
		"1.0.dev456", "1.0a1", "1.0a2.dev456", "1.0a12.dev456", "1.0a12", "1.0b1.dev456", "1.0b2",
		"1.0b2.post345.dev456", "1.0b2.post345", "1.0rc1.dev456", "1.0rc1", "1.0", "1.0+abc.5", "1.0+abc.7",
		"1.0+5", "1.0.post456.dev34", "1.0.post456", "1.0.15", "1.1.dev1", "2.10.0", "1!0.1",
	}
	for i := 1; i < len(ordered); i++ {
		a, b := MustParse(ordered[i-1]), MustParse(ordered[i])
		if Compare(a, b) >= 0 || Compare(b, a) <= 0 {
			t.Errorf("%s should sort before %s", ordered[i-1], ordered[i])
		}
	}
	for _, eq := range [][2]string{{"1.0", "1.0.0"}, {"1.0a1", "1.0.alpha.1"}, {"1.0c1", "1.0rc1"}, {"1.0-1", "1.0.post1"},
		{"v1.0", "1.0"}, {"1.0.PREVIEW2", "1.0rc2"}, {"1.0-r4", "1.0.post4"}, {"1.0.dev", "1.0.dev0"}, {"0!1.0", "1.0"}} {
		if Compare(MustParse(eq[0]), MustParse(eq[1])) != 0 {
			t.Errorf("%s and %s should be equal", eq[0], eq[1])
		}
	}
	for _, bad := range []string{"", "abc", "1.0+", "1..0", "1.0-foo", "1!", "1.0+a b", "99999999999999999999999"} {
		if _, err := Parse(bad); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
	if got := MustParse("1.0-ALPHA_2.Post3-dev4+Ubuntu-1").Normal(); got != "1.0a2.post3.dev4+ubuntu.1" {
		t.Errorf("normal form %q", got)
	}
}

func TestContains(t *testing.T) {
	cases := []struct {
		set string
		in  []string
		out []string
	}{
		{">=2.10.0", []string{"2.10.0", "2.10.1", "3.0", "2.10.0.post1"}, []string{"2.9.9", "2.10.0rc1"}},
		{">=4.40,<5", []string{"4.40", "4.57.1"}, []string{"4.39.9", "5.0", "5.0a1", "5.0.dev0"}},
		{"~=2.2", []string{"2.2", "2.9"}, []string{"3.0", "2.1"}},
		{"~=1.4.5", []string{"1.4.5", "1.4.9"}, []string{"1.5.0", "1.4.4"}},
		{"==1.2.*", []string{"1.2", "1.2.0", "1.2.9.post1", "1.2.0a1"}, []string{"1.3", "1.20"}},
		{"!=1.2.*,>=1", []string{"1.1", "1.3"}, []string{"1.2.4"}},
		{"==1.0", []string{"1.0", "1.0.0", "1.0+local.1"}, []string{"1.0.post1"}},
		{"==1.0+local.1", []string{"1.0+local.1"}, []string{"1.0", "1.0+local.2"}},
		{"!=1.0", []string{"1.0.1", "1.0.post1"}, []string{"1.0", "1.0+x"}},
		{"<2.0", []string{"1.9", "1.9.post1"}, []string{"2.0", "2.0rc1", "2.0a1"}},
		{"<2.0rc1", []string{"2.0a1", "2.0b3"}, []string{"2.0rc1"}},
		{">1.7", []string{"1.7.1", "1.8"}, []string{"1.7", "1.7.post2", "1.7+x"}},
		{">1.7.post2", []string{"1.7.post3", "1.8"}, []string{"1.7.post2", "1.7.post1"}},
		{"===1.0-foo", []string{"1.0-FOO"}, []string{"1.0"}},
		{"<=1.0", []string{"1.0", "1.0+x", "0.9"}, []string{"1.0.post1"}},
	}
	for _, c := range cases {
		s, err := ParseSet(c.set)
		if err != nil {
			t.Fatalf("%s: %v", c.set, err)
		}
		for _, v := range c.in {
			pv, err := Parse(v)
			if err != nil && c.set[:3] != "===" {
				t.Fatal(err)
			}
			if err != nil {
				pv = Version{raw: v}
			}
			if !s.Contains(pv) {
				t.Errorf("%s should allow %s", c.set, v)
			}
		}
		for _, v := range c.out {
			pv, _ := Parse(v)
			if s.Contains(pv) {
				t.Errorf("%s should not allow %s", c.set, v)
			}
		}
	}
	for _, bad := range []string{">=1.*", "~=1", "<1.0+local", "==1.0a1.*", "1.0", "=>1"} {
		if _, err := ParseSet(bad); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
	if v, ok := mustSet(">=1,==2.3.1").Pin(); !ok || v.Normal() != "2.3.1" {
		t.Errorf("pin %v %v", v, ok)
	}
	if _, ok := mustSet("==2.*").Pin(); ok {
		t.Error("a wildcard is a pin")
	}
	if !mustSet(">=2.0b1").AllowsPrereleases() || mustSet(">=2.0").AllowsPrereleases() {
		t.Error("AllowsPrereleases")
	}
}

func mustSet(s string) Set {
	set, err := ParseSet(s)
	if err != nil {
		panic(err)
	}
	return set
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"1.0", "1!2.3a4.post5.dev6+x.7", "v1.0-rc.1", "1.0-1", "==1.*", "~=2.2,!=2.5"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if v, err := Parse(s); err == nil {
			// The normal form parses back to an equal version.
			w, err := Parse(v.Normal())
			if err != nil || Compare(v, w) != 0 {
				t.Fatalf("%q: normal form %q does not round-trip: %v", s, v.Normal(), err)
			}
		}
		if set, err := ParseSet(s); err == nil {
			set.Contains(MustParse("1.0"))
			if _, err := ParseSet(set.String()); err != nil {
				t.Fatalf("%q: %q does not parse back: %v", s, set.String(), err)
			}
		}
	})
}
