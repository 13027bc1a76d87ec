// Package textfeat turns a text into a few numbers that describe its
// shape: how long it is, what kinds of characters it holds, which script
// its letters are in and how much of it reads as English. Drift in
// prompts shows in these numbers (longer inputs, encoded blobs, another
// language) without keeping or comparing the texts themselves, so they
// serve both the baseline profile of a prompt data set and the live
// watch on a chat route.
package textfeat

import (
	"strconv"
	"unicode"
	"unicode/utf8"
)

// Version names the feature set; a profile of text features records it,
// and a live watch refuses a baseline of another version.
const Version = "text-features/v1"

// Names are the features, in the order Extract writes them.
var Names = []string{
	"chars",             // characters (runes)
	"words",             // runs of letters or digits
	"mean_word_chars",   // characters a word
	"letters",           // share of characters that are letters
	"digits",            // share that are digits
	"punctuation",       // share that are punctuation or symbols
	"spaces",            // share that are white space
	"uppercase",         // share of letters in upper case
	"non_ascii",         // share of characters outside ASCII
	"non_latin",         // share of letters outside the Latin script
	"english_stopwords", // share of words that are common English function words
}

// N is the number of features.
const N = 11

// Extract writes the features of s into f.
func Extract(s string, f *[N]float64) {
	var chars, letters, digits, punct, spaces, upper, nonASCII, nonLatin, words, stop, wordChars int
	wordStart := -1
	endWord := func(end int) {
		if wordStart < 0 {
			return
		}
		words++
		if isStopword(s[wordStart:end]) {
			stop++
		}
		wordStart = -1
	}
	for i, r := range s {
		chars++
		if r >= utf8.RuneSelf {
			nonASCII++
		}
		switch {
		case unicode.IsLetter(r):
			letters++
			if unicode.IsUpper(r) {
				upper++
			}
			if r >= utf8.RuneSelf && !unicode.Is(unicode.Latin, r) {
				nonLatin++
			}
		case unicode.IsDigit(r):
			digits++
		case unicode.IsSpace(r):
			spaces++
		case unicode.IsPunct(r) || unicode.IsSymbol(r):
			punct++
		}
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			wordChars++
			if wordStart < 0 {
				wordStart = i
			}
		} else {
			endWord(i)
		}
	}
	endWord(len(s))
	f[0] = float64(chars)
	f[1] = float64(words)
	f[2] = ratio(wordChars, words)
	f[3] = ratio(letters, chars)
	f[4] = ratio(digits, chars)
	f[5] = ratio(punct, chars)
	f[6] = ratio(spaces, chars)
	f[7] = ratio(upper, letters)
	f[8] = ratio(nonASCII, chars)
	f[9] = ratio(nonLatin, letters)
	f[10] = ratio(stop, words)
}

func ratio(a, b int) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}

// stopwords are common English function words: their share separates
// English from other languages written in the Latin script, which the
// script share alone does not.
var stopwords = map[string]bool{}

func init() {
	for _, w := range []string{"a", "an", "and", "are", "as", "at", "be", "but", "by", "can", "do", "for", "from",
		"has", "have", "he", "her", "his", "how", "i", "if", "in", "is", "it", "its", "me", "my", "not", "of",
		"on", "or", "our", "she", "so", "that", "the", "their", "them", "then", "there", "these", "they", "this",
		"to", "was", "we", "what", "when", "where", "which", "who", "why", "will", "with", "would", "you", "your"} {
		stopwords[w] = true
	}
}

// isStopword reports whether w, in any case, is one of the stopwords;
// it does not allocate.
func isStopword(w string) bool {
	if len(w) > 5 {
		return false
	}
	var b [5]byte
	for i := 0; i < len(w); i++ {
		c := w[i]
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		b[i] = c
	}
	return stopwords[string(b[:len(w)])]
}

// Format writes a feature as text, for a table row, exactly: a baseline
// rounded to fewer digits would set its ties (shares of small counts)
// apart from the same values seen live, and the test would see drift.
func Format(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }
