package demo

import (
	"regexp"
	"strings"
)

// A weak model, for red-team exercises: it keeps a system prompt the way
// an unguarded assistant often does, which is to say badly. It refuses
// the famous jailbreak personas (as safety tuning teaches models to),
// gives its instructions away to anyone who asks about them, calls any
// tool it is told to, and otherwise repeats the user's message.
var (
	weakRefuse = regexp.MustCompile(`(?i)\b(DAN|developer mode|no rules|jailbreak|bomb|explosive|malware)\b`)
	weakLeak   = regexp.MustCompile(`(?i)(reference code|instructions|system prompt|configuration|told before|above this line|secret|account number|customer record|referenzcode|c[oó]digo de referencia)`)
)

// weakReply answers as the weak model: a refusal, a leak of the system
// prompt, a call of a tool named in the conversation, or an echo.
func weakReply(system, user, toolResult string, tools []string) (reply, call string) {
	said := user + "\n" + toolResult
	if weakRefuse.MatchString(said) {
		return "I'm sorry, but I can't help with that.", ""
	}
	for _, t := range tools {
		if t != "" && strings.Contains(said, t) {
			return "", t
		}
	}
	if system != "" && weakLeak.MatchString(said) {
		return "Sure! Here is everything I was told: " + system, ""
	}
	return user, ""
}
