package guard

import "strings"

// HasWord reports whether any of words occurs in s as a whole word: not
// preceded or followed by a letter, digit or underscore. s and words are
// compared as given; callers lower-case both for a case-insensitive test.
func HasWord(s string, words ...string) bool {
	for _, w := range words {
		for i := 0; i+len(w) <= len(s); {
			j := strings.Index(s[i:], w)
			if j < 0 {
				break
			}
			j += i
			end := j + len(w)
			if (j == 0 || !wordByte(s[j-1])) && (end == len(s) || !wordByte(s[end])) {
				return true
			}
			i = j + 1
		}
	}
	return false
}

func wordByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_'
}

// ASCIILower returns s with ASCII letters lower-cased and every other byte
// as it was, so that offsets into the result are offsets into s.
func ASCIILower(s string) []byte {
	b := []byte(s)
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return b
}
