// Package pep440 parses and orders Python package versions and version
// specifiers as PEP 440 defines them (the rules pip and packaging apply),
// and answers the questions a vulnerability check asks: is this version
// in that range, and which versions does this specifier set allow.
//
// Written here rather than imported: the Go ports found either stop at
// ordering (no specifier sets, no wildcards, no arbitrary equality) or
// treat pre-releases the way semver does, which PEP 440 does not.
package pep440

import (
	"fmt"
	"strconv"
	"strings"
)

// Version is a parsed version. The zero Version is 0.
type Version struct {
	Epoch   int
	Release []int
	// Pre is the pre-release: kind a, b or rc ("" for none) and number.
	PreKind string
	Pre     int
	// Post and Dev are -1 when absent.
	Post, Dev int
	Local     []string // lower case; numeric parts compare as numbers
	raw       string
}

// String returns the version as written.
func (v Version) String() string { return v.raw }

// Normal returns the version in PEP 440's normal form.
func (v Version) Normal() string {
	var b strings.Builder
	if v.Epoch != 0 {
		fmt.Fprintf(&b, "%d!", v.Epoch)
	}
	for i, r := range v.Release {
		if i > 0 {
			b.WriteByte('.')
		}
		b.WriteString(strconv.Itoa(r))
	}
	if v.PreKind != "" {
		fmt.Fprintf(&b, "%s%d", v.PreKind, v.Pre)
	}
	if v.Post >= 0 {
		fmt.Fprintf(&b, ".post%d", v.Post)
	}
	if v.Dev >= 0 {
		fmt.Fprintf(&b, ".dev%d", v.Dev)
	}
	if len(v.Local) > 0 {
		b.WriteString("+" + strings.Join(v.Local, "."))
	}
	return b.String()
}

// IsPrerelease reports whether v is a pre-release or development release.
func (v Version) IsPrerelease() bool { return v.PreKind != "" || v.Dev >= 0 }

// IsPostrelease reports whether v is a post-release.
func (v Version) IsPostrelease() bool { return v.Post >= 0 }

// maxComponent bounds a number in a version: PEP 440 sets none, but
// nothing real needs more than 18 digits, and an int must hold it.
const maxComponent = 1e18

// Parse parses a version, accepting what PEP 440's normalisation accepts:
// any case, a leading v, alpha/beta/c/pre/preview spellings, '.', '-' or
// '_' between parts, implicit numbers, "-N" as a post-release.
func Parse(s string) (Version, error) {
	in := s
	s = strings.ToLower(strings.TrimSpace(s))
	v := Version{Post: -1, Dev: -1, raw: strings.TrimSpace(in)}
	bad := func(why string) (Version, error) {
		return Version{}, fmt.Errorf("version %q: %s", in, why)
	}
	s = strings.TrimPrefix(s, "v")
	if s == "" {
		return bad("empty")
	}
	if local, ok := strings.CutPrefix(s[strings.IndexByte(s+"+", '+'):], "+"); ok {
		s = s[:len(s)-len(local)-1]
		if local == "" {
			return bad("empty local version")
		}
		for _, p := range strings.FieldsFunc(local, func(r rune) bool { return r == '.' || r == '-' || r == '_' }) {
			if !alnum(p) {
				return bad("local version has " + strconv.Quote(p))
			}
			v.Local = append(v.Local, p)
		}
		if len(v.Local) == 0 {
			return bad("empty local version")
		}
	}
	if i := strings.IndexByte(s, '!'); i >= 0 {
		e, ok := number(s[:i])
		if !ok {
			return bad("bad epoch")
		}
		v.Epoch, s = e, s[i+1:]
	}
	// Release: digits separated by dots.
	i := 0
	for {
		j := i
		for j < len(s) && s[j] >= '0' && s[j] <= '9' {
			j++
		}
		if j == i {
			return bad("release must be numbers")
		}
		n, ok := number(s[i:j])
		if !ok {
			return bad("number too large")
		}
		v.Release = append(v.Release, n)
		i = j
		if i+1 < len(s) && s[i] == '.' && s[i+1] >= '0' && s[i+1] <= '9' {
			i++
			continue
		}
		break
	}
	rest := s[i:]
	// Pre-release.
	if r, kind, ok := cutLabel(rest, []string{"alpha", "beta", "preview", "pre", "rc", "a", "b", "c"}); ok {
		switch kind {
		case "alpha":
			kind = "a"
		case "beta":
			kind = "b"
		case "c", "pre", "preview":
			kind = "rc"
		}
		v.PreKind = kind
		v.Pre, rest, ok = optNumber(r)
		if !ok {
			return bad("number too large")
		}
	}
	// Post-release: ".post1", "-1", "rev1", "r1".
	if r, _, ok := cutLabel(rest, []string{"post", "rev", "r"}); ok {
		v.Post, rest, ok = optNumber(r)
		if !ok {
			return bad("number too large")
		}
	} else if len(rest) > 1 && rest[0] == '-' && rest[1] >= '0' && rest[1] <= '9' {
		v.Post, rest, ok = optNumber(rest[1:])
		if !ok {
			return bad("number too large")
		}
	}
	if r, _, ok := cutLabel(rest, []string{"dev"}); ok {
		v.Dev, rest, ok = optNumber(r)
		if !ok {
			return bad("number too large")
		}
	}
	if rest != "" {
		return bad("unexpected " + strconv.Quote(rest))
	}
	return v, nil
}

// MustParse parses a version known to be valid.
func MustParse(s string) Version {
	v, err := Parse(s)
	if err != nil {
		panic(err)
	}
	return v
}

func alnum(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

func number(s string) (int, bool) {
	if s == "" {
		return 0, false
	}
	for len(s) > 1 && s[0] == '0' {
		s = s[1:]
	}
	if len(s) > 19 {
		return 0, false
	}
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil || n > maxComponent {
		return 0, false
	}
	return int(n), true
}

// cutLabel removes an optional separator and one of the labels.
func cutLabel(s string, labels []string) (rest, label string, ok bool) {
	t := s
	if t != "" && (t[0] == '.' || t[0] == '-' || t[0] == '_') {
		t = t[1:]
	}
	for _, l := range labels {
		if strings.HasPrefix(t, l) {
			return t[len(l):], l, true
		}
	}
	return s, "", false
}

// optNumber reads an optional separator and number after a label (0 when
// absent).
func optNumber(s string) (int, string, bool) {
	t := s
	if t != "" && (t[0] == '.' || t[0] == '-' || t[0] == '_') && len(t) > 1 && t[1] >= '0' && t[1] <= '9' {
		t = t[1:]
	}
	j := 0
	for j < len(t) && t[j] >= '0' && t[j] <= '9' {
		j++
	}
	if j == 0 {
		return 0, s, true
	}
	n, ok := number(t[:j])
	return n, t[j:], ok
}

// Compare orders versions: -1, 0 or +1.
func Compare(a, b Version) int {
	if c := cmpInt(a.Epoch, b.Epoch); c != 0 {
		return c
	}
	if c := cmpRelease(a.Release, b.Release); c != 0 {
		return c
	}
	if c := cmpInt(preKey(a), preKey(b)); c != 0 {
		return c
	}
	if a.PreKind != "" && a.PreKind == b.PreKind {
		if c := cmpInt(a.Pre, b.Pre); c != 0 {
			return c
		}
	}
	if c := cmpInt(a.Post, b.Post); c != 0 { // absent (-1) sorts first
		return c
	}
	if c := cmpInt(devKey(a), devKey(b)); c != 0 {
		return c
	}
	return cmpLocal(a.Local, b.Local)
}

func cmpInt(a, b int) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// cmpRelease compares releases as if padded with zeros.
func cmpRelease(a, b []int) int {
	for i := range max(len(a), len(b)) {
		var x, y int
		if i < len(a) {
			x = a[i]
		}
		if i < len(b) {
			y = b[i]
		}
		if c := cmpInt(x, y); c != 0 {
			return c
		}
	}
	return 0
}

// preKey ranks the pre-release segment: a development release of a final
// release sorts before every pre-release of it, and a final release after.
func preKey(v Version) int {
	switch {
	case v.PreKind == "" && v.Post < 0 && v.Dev >= 0:
		return -1
	case v.PreKind == "a":
		return 0
	case v.PreKind == "b":
		return 1
	case v.PreKind == "rc":
		return 2
	}
	return 3
}

func devKey(v Version) int {
	if v.Dev < 0 {
		return int(maxComponent) + 1
	}
	return v.Dev
}

// cmpLocal: no local sorts first; numeric parts above alphanumeric ones.
func cmpLocal(a, b []string) int {
	for i := range max(len(a), len(b)) {
		if i >= len(a) {
			return -1
		}
		if i >= len(b) {
			return 1
		}
		x, xn := number(a[i])
		y, yn := number(b[i])
		switch {
		case xn && yn:
			if c := cmpInt(x, y); c != 0 {
				return c
			}
		case xn:
			return 1
		case yn:
			return -1
		default:
			if c := strings.Compare(a[i], b[i]); c != 0 {
				return c
			}
		}
	}
	return 0
}

// Public returns v without its local part.
func (v Version) Public() Version {
	v.Local = nil
	if i := strings.IndexByte(v.raw, '+'); i >= 0 {
		v.raw = v.raw[:i]
	}
	return v
}
