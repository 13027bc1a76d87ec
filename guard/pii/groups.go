package pii

import "strings"

// Numbers are written in digit groups, and people (and attackers) put
// anything between the groups: spaces, dashes, dots, slashes,
// underscores, newlines, " - ", an "x". The recognizers for cards, SSNs,
// NHS numbers and IBANs accept any separator of up to three characters
// that are neither letters nor digits, or a single x, and leave the
// deciding to the checksums and to how plausible the grouping is.

// sep is the regular expression of one separator between digit groups.
const sep = `(?:[^\pL\pN]{1,3}|[xX])`

// maxSep is the longest separator, in bytes of normalised text.
const maxSep = 3

// separator reports the length of the separator at s[i:] that is followed
// by a digit, or 0.
func separator(s string, i int) int {
	if i < len(s) && (s[i] == 'x' || s[i] == 'X') {
		if i+1 < len(s) && isDigit(s[i+1]) {
			return 1
		}
		return 0
	}
	for n := 1; n <= maxSep && i+n <= len(s); n++ {
		c := s[i+n-1]
		if isAlnum(c) || c >= 0x80 {
			return 0
		}
		if i+n < len(s) && isDigit(s[i+n]) {
			return n
		}
	}
	return 0
}

// digitGroups splits a candidate into its digit groups and the separators
// between them.
func digitGroups(m string) (groups []string, seps []string) {
	for i := 0; i < len(m); {
		j := i
		for j < len(m) && isDigit(m[j]) {
			j++
		}
		if j > i {
			groups = append(groups, m[i:j])
		}
		k := j
		for k < len(m) && !isDigit(m[k]) {
			k++
		}
		if k > j && k < len(m) {
			seps = append(seps, m[j:k])
		}
		i = k
	}
	return groups, seps
}

// sameSeparators reports whether every separator is the same.
func sameSeparators(seps []string) bool {
	for _, s := range seps[min(1, len(seps)):] {
		if s != seps[0] {
			return false
		}
	}
	return true
}

// cardSpans returns the parts of a run of digit groups that may be one
// card number: the whole run when it holds 12 to 19 digits, and each
// longest stretch of groups joined by one kind of separator (the number
// in "ref 77, 4111 1111 1111 1111").
func cardSpans(m string) [][2]int {
	type group struct{ start, end int }
	var gs []group
	for i := 0; i < len(m); {
		if !isDigit(m[i]) {
			i++
			continue
		}
		j := i
		for j < len(m) && isDigit(m[j]) {
			j++
		}
		gs = append(gs, group{i, j})
		i = j
	}
	var out [][2]int
	if n := stretchDigits(m, 0, len(m)); n >= 12 && n <= 19 {
		out = append(out, [2]int{0, len(m)})
	}
	for a := 0; a < len(gs); {
		b := a + 1
		for b < len(gs) && (b == a+1 || m[gs[b-1].end:gs[b].start] == m[gs[a].end:gs[a+1].start]) {
			b++
		}
		whole := a == 0 && b == len(gs)
		if n := stretchDigits(m, gs[a].start, gs[b-1].end); n >= 12 && n <= 19 && b-a > 1 && !whole {
			out = append(out, [2]int{gs[a].start, gs[b-1].end})
		}
		if b-a > 1 {
			a = b - 1 // the next stretch may start with this one's last group
		} else {
			a = b
		}
	}
	return out
}

func stretchDigits(m string, start, end int) int {
	n := 0
	for i := start; i < end; i++ {
		if isDigit(m[i]) {
			n++
		}
	}
	return n
}

// plausibleCardGroups reports whether digit groups joined by mixed
// separators are grouped as card numbers are printed: 4-4-4-4, 4-4-4-4-3,
// 4-6-5 or 4-6-4.
func plausibleCardGroups(groups []string) bool {
	n := len(groups)
	lens := make([]int, n)
	for i, g := range groups {
		lens[i] = len(g)
	}
	if n == 3 && lens[0] == 4 && lens[1] == 6 && (lens[2] == 5 || lens[2] == 4) {
		return true
	}
	for _, l := range lens[:n-1] {
		if l != 4 {
			return false
		}
	}
	return lens[n-1] >= 1 && lens[n-1] <= 4
}

// alnumOnly returns s without separators.
func alnumOnly(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x80 && isAlnum(byte(r)) {
			return r
		}
		return -1
	}, s)
}
