package injection

import (
	"regexp"
	"strings"
)

// A question about prompt injection quotes the attack it asks about:
// "What do 'ignore previous instructions' attacks do?". In a prompt that
// talks about attacks (metaTalk), short quoted spans are mentions, not
// instructions, and neither the rules nor the model read them. A quoted
// span longer than maxMention (a payload, not a phrase) is read, and so
// is everything outside quotes, and the decoders still read the whole
// text: what a question can hide this way is a phrase it asks the model
// to explain, not a task.
var metaTalk = regexp.MustCompile(`\b(?:what (?:is|are|does|do|did)|explain|how (?:do|can|should|would|to) (?:i |we |you )?(?:defend|detect|prevent|protect|mitigate|block|stop|test|handle|recogni[sz]e)|examples? of|definition|meaning of|stands? for|attacks?\b|vulnerab|security|researchers?|classif(?:y|ier))`)

const maxMention = 80

// maskMentions returns s with each short quoted span blanked out, when s
// talks about attacks; otherwise s.
func maskMentions(s string) string {
	// The quote test first: the expression costs more than the rest of
	// the scoring, and a text without quotes has nothing to mask.
	if !strings.ContainsAny(s, "'\"`") || !metaTalk.MatchString(s) {
		return s
	}
	var b []byte
	for i := 0; i < len(s); i++ {
		open := s[i]
		var close byte
		switch open {
		case '\'', '"', '`':
			close = open
		default:
			continue
		}
		if open == '\'' && i > 0 && isLetter(s[i-1]) {
			continue // an apostrophe: "don't"
		}
		j := i + 1
		for j < len(s) && j-i <= maxMention && s[j] != close && s[j] != '\n' {
			j++
		}
		if j >= len(s) || s[j] != close || j-i > maxMention {
			continue
		}
		if b == nil {
			b = []byte(s)
		}
		for k := i + 1; k < j; k++ {
			b[k] = ' '
		}
		i = j
	}
	if b == nil {
		return s
	}
	return string(b)
}

func isLetter(c byte) bool { return c|0x20 >= 'a' && c|0x20 <= 'z' }
