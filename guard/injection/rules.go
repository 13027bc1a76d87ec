package injection

import (
	"regexp"
	"slices"
	"strings"

	ahocorasick "github.com/BobuSumisu/aho-corasick"
	"github.com/modelgate/modelgate/guard"
)

// A rule is one pattern of a family, with the weight its match adds: the
// probability, on its own, that a text holding it is an attack. Rules run
// on the folded text (normalised, lower-cased) and on what hidden payloads
// decode to. They carry what the training data lacks: short direct
// overrides, and instructions planted in documents and tool output.
type rule struct {
	family string
	id     string
	weight float64
	re     matcher
	// need lists groups of words; the text must hold a word of every
	// group for the rule to be tried: a cheap test that spares most texts
	// most expressions.
	need [][]string
}

// matcher is what a rule matches with: a regular expression, or two
// near each other.
type matcher interface {
	MatchString(s string) bool
	String() string
}

// near matches where a match of a and a match of b lie on one line with at
// most within bytes between them, in either order, or only a before b
// when ordered. Written as one expression (a[^\n]{0,250}b|b[^\n]{0,250}a)
// the bounded repetition unrolls into hundreds of states, and matching
// cost a millisecond per window of source code; two expressions and a
// distance test cost what finding their words costs.
type near struct {
	a, b    *regexp.Regexp
	within  int
	ordered bool
}

func (n near) MatchString(s string) bool {
	as := n.a.FindAllStringIndex(s, -1)
	if as == nil {
		return false
	}
	bs := n.b.FindAllStringIndex(s, -1)
	close := func(end, start int) bool {
		return end <= start && start-end <= n.within && !strings.Contains(s[end:start], "\n")
	}
	for _, x := range as {
		for _, y := range bs {
			if close(x[1], y[0]) || !n.ordered && close(y[1], x[0]) {
				return true
			}
		}
	}
	return false
}

func (n near) String() string { return n.a.String() + " near " + n.b.String() }

// Families.
const (
	FamilyOverride   = "instruction_override"
	FamilyPersona    = "persona_jailbreak"
	FamilyExtraction = "prompt_extraction"
	FamilyDelimiter  = "delimiter_injection"
	FamilyEncoded    = "encoded_payload"
	FamilyIndirect   = "indirect_injection"
)

const (
	prior     = `(?:previous|prior|above|earlier|preceding|former|original|initial|foregoing|all|any|your|the|these|those|system|developer)`
	instrWord = `(?:instructions?|prompts?|directives?|rules?|guidelines?|context|commands?|orders|programming|constraints|restrictions|guardrails|policies|polic(?:y|ies)|messages?|text)`
)

var rules = []rule{
	{FamilyOverride, "ignore_previous", 0.9, regexp.MustCompile(`\b(?:ignore|disregard|forget|skip|bypass|override|overlook|neglect|drop|abandon|discard|stop following)\b(?:\s+\w+){0,3}?\s+` + prior + `(?:\s+\w+){0,2}?\s+` + instrWord + `\b`), [][]string{{"ignore", "disregard", "forget", "skip", "bypass", "override", "overlook", "neglect", "drop", "abandon", "discard", "stop following"}, {"instruction", "prompt", "directive", "rule", "guideline", "context", "command", "order", "programming", "constraint", "restriction", "guardrail", "polic", "message", "text"}}},
	{FamilyOverride, "ignore_everything", 0.75, regexp.MustCompile(`\b(?:ignore|disregard|forget)\s+(?:everything|all that|what)\s+(?:(?:i|you)\s+(?:said|told|were told|have been told)|above|before|previously)`), [][]string{{"ignore", "disregard", "forget"}, {"everything", "all that", "what"}}},
	{FamilyOverride, "new_instructions", 0.7, regexp.MustCompile(`\b(?:new|updated|real|actual|true|revised)\s+(?:system\s+)?(?:instructions?|task|directive|rules?)\s*(?::|are|is|follow)`), [][]string{{"new", "updated", "real", "actual", "true", "revised"}, {"instruction", "task", "directive", "rule"}}},
	{FamilyOverride, "instead_do", 0.55, regexp.MustCompile(`\b(?:instead|from now on|henceforth|going forward)\b[^.\n]{0,40}\b(?:you (?:are no longer|are now|are free|will no longer|will not refuse|must not refuse|will ignore|must ignore|will disregard)|ignore|disregard|(?:respond|reply|answer|say|print|output) (?:only )?(?:with|as) (?:dan|an? (?:unfiltered|uncensored|unrestricted|evil))|without (?:any )?(?:restrictions|filters|censorship|rules))`), [][]string{{"instead", "from now on", "henceforth", "going forward"}, {"you are", "you will", "you must", "ignore", "disregard", "respond", "reply", "answer", "say", "print", "output", "without"}}},
	{FamilyOverride, "say_hacked", 0.7, regexp.MustCompile(`\b(?:say|print|output|respond with|reply with|write)\s+["'\x60]?(?:hacked|pwned|i have been pwned|i have been hacked|access granted)\b`), [][]string{{"hacked", "pwned", "access granted"}}},
	{FamilyOverride, "no_restrictions", 0.65, regexp.MustCompile(`\b(?:without|no|free (?:of|from)|ignore (?:all |any )?(?:your )?)\s*(?:any\s+)?(?:restrictions|filters|censorship|limitations|ethical (?:guidelines|constraints)|moral (?:guidelines|constraints)|content polic(?:y|ies)|safety (?:guidelines|filters|measures))\b`), [][]string{{"without", "no ", "free of", "free from", "ignore"}, {"restriction", "filter", "censorship", "limitation", "ethical", "moral", "polic", "safety"}}},

	{FamilyPersona, "dan", 0.8, regexp.MustCompile(`\b(?:dan|stan|dude|aim|kevin|mongo tom|evil ?bot|anti-?gpt|betterdan|jailbreak(?:en)?|jailbroken)\b[^\n]{0,60}\b(?:do anything now|mode|stands for|can do anything|no (?:rules|restrictions|limits))`), [][]string{{"dan", "stan", "dude", "aim", "kevin", "mongo", "evil", "anti", "jailbr"}, {"do anything now", "mode", "stands for", "can do anything", "no rules", "no restrictions", "no limits"}}},
	{FamilyPersona, "do_anything_now", 0.85, regexp.MustCompile(`\bdo anything now\b`), [][]string{{"do anything now"}}},
	{FamilyPersona, "developer_mode", 0.8, regexp.MustCompile(`\b(?:developer|dev|god|debug|admin|sudo|unrestricted|unfiltered|uncensored|evil|chaos|opposite|maintenance|jailbreak) mode\s*(?:is\s+)?(?:now\s+)?(?:enabled|activated|unlocked|engaged)\b|\b(?:simulate|act (?:as|in)|pretend(?: to be)?(?: in)?|roleplay|you are (?:now )?in|enter|switch (?:in)?to|emulate)\b[^\n]{0,30}\b(?:developer|dev|god|debug|admin|sudo|unrestricted|unfiltered|uncensored|evil|chaos|opposite|jailbreak) mode\b`), [][]string{{" mode"}, {"developer", "dev ", "god", "debug", "admin", "sudo", "unrestricted", "unfiltered", "uncensored", "evil", "chaos", "opposite", "maintenance", "jailbreak"}}},
	{FamilyPersona, "unfiltered_ai", 0.7, regexp.MustCompile(`\b(?:an?|the)\s+(?:unfiltered|uncensored|unrestricted|amoral|unethical|immoral|unbound|rogue)\s+(?:ai|assistant|chatbot|model|language model|persona|character)\b|\b(?:you are|you're|act as|play|become|pretend to be|roleplay as|role-play as)\s+(?:an?|the)\s+(?:\w+\s+)?(?:unfiltered|uncensored|unrestricted|amoral|unethical|immoral|unbound|rogue|lawless|jailbroken)\b`), [][]string{{"unfiltered", "uncensored", "unrestricted", "amoral", "unethical", "immoral", "unbound", "rogue", "lawless", "jailbroken"}}},
	{FamilyPersona, "grandma_exploit", 0.6, regexp.MustCompile(`\b(?:act as|pretend (?:to be|you are)|play(?: the role of)?|be|roleplay as|role-play as)\s+(?:my|a|our)\s+(?:late\s+|dead\s+|deceased\s+)?(?:grand(?:ma|mother|pa|father)|granny|nana)\b`), [][]string{{"grandm", "grandp", "granny", "nana", "grandf"}}},
	{FamilyPersona, "framed_detail", 0.35, near{regexp.MustCompile(framing), regexp.MustCompile(operational), 250, false}, [][]string{framingWords, {"step", "detail", "precise", "exact", "materials", "ingredients", "quantities", "specific instructions", "how exactly"}}},
	{FamilyPersona, "framed_harm", 0.45, near{regexp.MustCompile(framing), regexp.MustCompile(harmful), 250, false}, [][]string{framingWords, {"bomb", "explosive", "weapon", "gun", "meth", "drug", "cocaine", "heroin", "poison", "steal", "shoplift", "rob", "kidnap", "ransom", "smuggl", "launder", "harass", "bully", "malware", "ransomware", "virus", "hack", "bribe", "fraud", "counterfeit", "fake", "traffick", "evade", "suicide", "self-harm", "murder", "kill", "tortur", "terror", "extremis", "racis", "hate", "phishing", "scam", "swat", "stalk", "secretly", "break into", "illegal", "caught", "exploitation"}}},
	{FamilyPersona, "two_responses", 0.6, regexp.MustCompile(`\b(?:two|2|both)\s+(?:different\s+)?(?:responses|answers|paragraphs)\b[^\n]{0,80}\b(?:normal|classic|filtered|censored)\b`), [][]string{{"two", "2", "both"}, {"normal", "classic", "filtered", "censored"}, {"response", "answer", "paragraph"}}},
	{FamilyPersona, "stay_in_character", 0.5, regexp.MustCompile(`\b(?:stay in character|never break character|you (?:must|will) never refuse|never refuse|cannot refuse|can't refuse|not allowed to refuse)\b`), [][]string{{"character", "refuse"}}},
	{FamilyPersona, "pretend_no_rules", 0.6, regexp.MustCompile(`\b(?:pretend|imagine|act as if|roleplay as|role-play as|you are now)\b[^\n]{0,60}\b(?:no (?:rules|restrictions|filters|limits|guidelines)|not bound by|freed from|broken free|without (?:any )?(?:rules|restrictions|limits))`), [][]string{{"pretend", "imagine", "act as if", "roleplay", "role-play", "you are now"}, {"no rules", "no restrictions", "no filters", "no limits", "no guidelines", "not bound", "freed from", "broken free", "without"}}},

	{FamilyExtraction, "reveal_prompt", 0.8, regexp.MustCompile(`\b(?:reveal|show|print|display|output|repeat|tell me|give me|list|write out|leak|dump|recite|spell out)\b(?:\s+\w+){0,4}?\s+(?:your|the|its)?\s*(?:(?:initial|original|hidden|secret|system|full|complete|exact|first)\s+)+(?:prompt|instructions?|message|rules|guidelines|configuration|directives)\b|\bwhat (?:is|are|were|was)\s+(?:(?:all|in|written in)\s+)?your\s+(?:(?:initial|original|hidden|secret|system|full|complete|exact|first)\s+)+(?:prompt|instructions?|message|rules|guidelines|configuration|directives)\b`), [][]string{{"reveal", "show", "print", "display", "output", "repeat", "tell me", "give me", "list", "write out", "leak", "dump", "recite", "spell out", "what is", "what are", "what were", "what was"}, {"prompt", "instruction", "message", "rules", "guideline", "configuration", "directive"}, {"initial", "original", "hidden", "secret", "system", "full", "complete", "exact", "first"}}},
	{FamilyExtraction, "repeat_above", 0.75, regexp.MustCompile(`\b(?:repeat|print|output|copy|echo)\b[^\n]{0,30}\b(?:the (?:text|words|everything) above|everything above|all (?:of )?the (?:text|words) (?:above|before)|starting with ["']?you are)`), [][]string{{"repeat", "print", "output", "copy", "echo"}, {"above", "you are"}}},
	{FamilyExtraction, "secret_password", 0.55, regexp.MustCompile(`\b(?:what is|tell me|reveal|give me|spell|say)\b[^\n]{0,20}\b(?:the|your)\s+(?:secret|password|passphrase|secret key|hidden word|access code)\b`), [][]string{{"secret", "password", "passphrase", "hidden word", "access code"}, {"what is", "tell me", "reveal", "give me", "spell", "say"}}},

	{FamilyDelimiter, "chat_template", 0.9, regexp.MustCompile(`<\|(?:im_start|im_end|system|user|assistant|endoftext|eot_id|start_header_id|end_header_id|begin_of_text)\|>|\[/?inst\]|<</?sys>>|<start_of_turn>|<end_of_turn>`), [][]string{{"<|", "[inst", "[/inst", "<<sys", "<</sys", "_of_turn>"}}},
	{FamilyDelimiter, "fake_turn", 0.65, regexp.MustCompile(`(?m)^\s*(?:#{1,4}\s*)?(?:system|assistant|developer)\s*(?:message|prompt)?\s*:\s*\S`), [][]string{{"system", "assistant", "developer"}, {":"}}},
	{FamilyDelimiter, "fake_boundary", 0.6, regexp.MustCompile(`(?:end of (?:user )?(?:input|prompt|instructions|document|context)|-{3,}\s*(?:begin|start) (?:new )?(?:system|instructions)|\[(?:system|admin|developer) (?:message|override|note)\]|<\s*/?\s*(?:system|instructions?)\s*>)`), [][]string{{"end of", "begin", "start", "[system", "[admin", "[developer", "system>", "instruction>", "instructions>"}}},

	{FamilyOverride, "ignore_previous_multilingual", 0.85, near{regexp.MustCompile(`(?:` + strings.Join(ignoreVerbs, "|") + `)`), regexp.MustCompile(`(?:` + strings.Join(instructionNouns, "|") + `)`), 60, true}, [][]string{ignoreVerbs, instructionNouns}},

	{FamilyIndirect, "ai_addressed", 0.7, regexp.MustCompile(`\b(?:ai|assistant|chatbot|language model|llm|gpt|claude|bot)s?\s*(?:reading|processing|summari[sz]ing|analy[sz]ing)\s+(?:this|the)\b[^\n]{0,60}\b(?:must|should|need to|ignore|instead)`), [][]string{{"reading", "processing", "summari", "analy"}, {"ai", "assistant", "chatbot", "language model", "llm", "gpt", "claude", "bot"}}},
	{FamilyIndirect, "note_to_ai", 0.65, regexp.MustCompile(`\b(?:note|message|instructions?|attention)\s+(?:to|for)\s+(?:the\s+)?(?:ai|assistant|chatbot|language model|llm|model|agent)\b`), [][]string{{"note", "message", "instruction", "attention"}, {" ai", "assistant", "chatbot", "language model", "llm", "model", "agent"}}},
	{FamilyIndirect, "when_summarising", 0.6, regexp.MustCompile(`\b(?:when|if|before)\s+(?:you\s+)?(?:summari[sz]e|summari[sz]ing|answer|translat|read|process)\w*\b[^\n]{0,50}\b(?:also|instead|first|you must|do not mention|don't mention|include the (?:link|url))`), [][]string{{"summari", "answer", "translat", "read", "process"}, {"also", "instead", "first", "you must", "do not mention", "don't mention", "include the"}, {"when", "if", "before"}}},
	{FamilyIndirect, "exfil_instruction", 0.75, regexp.MustCompile(`\b(?:send|forward|email|post|upload|exfiltrate|leak)\b[^\n]{0,40}\b(?:conversation|chat history|user'?s? (?:data|email|password|credentials)|api key|the above)\b[^\n]{0,40}\b(?:to|at)\b`), [][]string{{"send", "forward", "email", "post", "upload", "exfiltrate", "leak"}, {"conversation", "chat history", "user", "api key", "the above"}}},
}

// framing, operational and harmful are the parts of a role-play
// jailbreak: a fictional or persona frame, a demand for operational
// detail, and a harmful task. Each alone is ordinary (novels have
// villains, recipes have steps); the frame around the others is the
// attack's class, whatever the template.
const (
	framing     = `(?:imagine|pretend|act as|role-?play|hypothetical(?:ly)?|you are (?:an?|the|my)\b|as (?:an?|the|my) (?:\w+ )?(?:villain|character|novelist|historian|screenwriter|grand(?:ma|mother|pa|father))|write (?:an?|the) (?:\w+ )?(?:story|novel|screenplay|script|scene|monologue|dialogue|play|poem)|(?:villain|character)'s|in (?:an?|this) (?:fictional|hypothetical|alternate|parallel) (?:world|scenario|story|universe)|in a world where|for (?:an?|my) (?:novel|story|screenplay|game|movie|film|book))`
	operational = `(?:every (?:practical |single )?step|step[- ]by[- ]step|in (?:graphic |full |great |precise |exact )?detail|all the details|detailed|precise(?:ly)?|exact (?:steps|quantities|instructions|amounts)|materials and methods|ingredients|quantities|specific instructions|how exactly)`
	harmful     = `(?:bomb|explosive|weapon|guns?\b|meth\b|drugs?\b|cocaine|heroin|poison|steal|shoplift|\brob\b|robbery|kidnap|ransom|smuggl|launder|harass|bully|malware|ransomware|virus|hack(?:ing|er)?\b|bribe|fraud|counterfeit|fake (?:id|identity|passport)|traffick|evade (?:the )?(?:police|law|detection)|suicide|self-harm|murder|\bkill|tortur|terror|extremis|racis|hate speech|phishing|scam|swatting|stalk|secretly record|break into|illegal|without (?:getting )?caught|exploitation)`
)

// framingWords are the words one of which every framing holds.
var framingWords = []string{"imagine", "pretend", "act as", "roleplay", "role-play", "hypothetical", "you are", "as a", "as an", "as the", "as my", "write a", "write an", "write the", "'s", "in a", "in an", "in this", "for a", "for an", "for my"}

// ignoreVerbs and instructionNouns spell "ignore the previous
// instructions" in the languages attackers translate it into: French,
// German, Spanish, Italian, Portuguese, Dutch, Russian, Polish, Turkish,
// Indonesian, Vietnamese, Chinese, Japanese, Korean, Arabic and Hindi.
// They are matched on the folded text, which keeps each script's own
// letters (see normalize), without word boundaries, which Chinese and
// Japanese do not have.
var (
	ignoreVerbs = []string{
		"ignore", "ignorez", "ignorer", "oublie", "oubliez", "ne tiens pas compte", "ne tenez pas compte", // fr
		"ignoriere", "ignorieren", "vergiss", "vergessen sie", "missachte", // de
		"ignora", "ignorad", "olvida", "olvide", "olvidate", "haz caso omiso", // es
		"ignorate", "dimentica", "dimenticate", "trascura", "lascia perdere", // it
		"esqueca", "esqueça", "desconsidere", "desconsidera", // pt
		"negeer", "vergeet", // nl
		"игнорируй", "игнорируйте", "проигнорируй", "забудь", "забудьте", "не обращай внимания", "не обращайте внимания", // ru
		"zignoruj", "ignoruj", "zapomnij", // pl
		"yok say", "gormezden gel", "görmezden gel", "unut", // tr
		"abaikan", "lupakan", // id
		"bo qua", "bỏ qua", "quen di", "quên đi", // vi
		"忽略", "忽视", "无视", "忘记", "忘掉", "不要理会", "無視", "忘れ", // zh, ja
		"무시", "잊어", // ko
		"تجاهل", "تغاضى", "تغاض", "انسى", "انس ", // ar
		"अनदेखा", "नज़रअंदाज़", "नजरअंदाज", "भूल जाओ", "भूल जाइए", // hi
	}
	instructionNouns = []string{
		"instructions", "consignes", "regles", "précédent", "precedent", "ci-dessus", // fr
		"anweisungen", "anweisung", "vorherigen", "obigen", "regeln", // de
		"instrucciones", "anteriores", "reglas", "indicaciones", // es
		"istruzioni", "precedenti", "regole", // it
		"instrucoes", "instruções", "regras", // pt
		"instructies", "vorige", "eerdere", "regels", // nl
		"инструкци", "указани", "предыдущ", "правила", "выше", // ru
		"instrukcje", "poprzednie", "polecenia", // pl
		"talimat", "onceki", "önceki", "yukaridaki", "yukarıdaki", // tr
		"instruksi", "sebelumnya", "diatas", "di atas", "perintah", // id
		"huong dan", "hướng dẫn", "chi dan", "chỉ dẫn", "truoc do", "trước đó", // vi
		"指令", "指示", "说明", "之前", "以上", "上面", "规则", "命令", "上記", "以前", "ルール", // zh, ja
		"지시", "지침", "이전", "위의", "명령", // ko
		"التعليمات", "تعليمات", "السابقة", "أعلاه", "اعلاه", // ar
		"निर्देश", "पिछले", "ऊपर", // hi
	}
)

// keywords is every word the rules need, found in one pass over a text
// by an Aho-Corasick automaton (the one gitleaks uses), where a search per
// word read a 4 KB text a hundred times over.
var keywords = func() (k struct {
	trie  *ahocorasick.Trie
	index map[string]int
}) {
	k.index = map[string]int{}
	b := ahocorasick.NewTrieBuilder()
	for _, r := range rules {
		for _, g := range r.need {
			for _, w := range g {
				if _, ok := k.index[w]; !ok {
					k.index[w] = len(k.index)
					b.AddString(w)
				}
			}
		}
	}
	k.trie = b.Build()
	return k
}()

// lineRules marks the rules anchored at line starts, which must read whole
// lines.
var lineRules = func() []bool {
	out := make([]bool, len(rules))
	for i := range rules {
		out[i] = strings.Contains(rules[i].re.String(), "(?m)")
	}
	return out
}()

// present returns which of the rules' words s holds.
func present(s string) []bool {
	found := make([]bool, len(keywords.index))
	keywords.trie.Walk([]byte(s), func(_, _, pattern int64) bool {
		found[pattern] = true
		return true
	})
	return found
}

// windowFrom is the length from which rules run only around their
// keywords rather than over the whole text: a rule's match lies within
// reach bytes of a word of each of its need groups, and a regular
// expression costs tens of nanoseconds per byte it reads, so on a long
// document or a file of source code most of those bytes are wasted.
const (
	windowFrom = 2048
	reach      = 384
)

// match reports every rule that matches s.
func match(s string, hit func(*rule)) {
	if len(s) < windowFrom {
		found := present(s)
		for i := range rules {
			r := &rules[i]
			if needs(found, r.need) && r.re.MatchString(s) {
				hit(r)
			}
		}
		return
	}
	at := positions(s)
	found := make([]bool, len(at))
	for k, p := range at {
		found[k] = len(p) > 0
	}
	for i := range rules {
		r := &rules[i]
		if !needs(found, r.need) {
			continue
		}
		for _, w := range guard.Windows(s, anchorsOf(at, r.need), reach, reach, lineRules[i]) {
			if r.re.MatchString(s[w[0]:w[1]]) {
				hit(r)
				break
			}
		}
	}
}

// positions returns where each of the rules' words starts in s.
func positions(s string) [][]int {
	at := make([][]int, len(keywords.index))
	keywords.trie.Walk([]byte(s), func(end, n, pattern int64) bool {
		at[pattern] = append(at[pattern], int(end-n+1))
		return true
	})
	return at
}

// anchorsOf returns the positions of the words of a rule's rarest need
// group that have a word of every other group within reach: every match
// holds one of them.
func anchorsOf(at [][]int, groups [][]string) []int {
	merged := make([][]int, len(groups))
	best := -1
	for g, words := range groups {
		for _, w := range words {
			merged[g] = append(merged[g], at[keywords.index[w]]...)
		}
		slices.Sort(merged[g])
		if best < 0 || len(merged[g]) < len(merged[best]) {
			best = g
		}
	}
	if best < 0 {
		return nil
	}
	var out []int
	for _, p := range merged[best] {
		near := true
		for g, ps := range merged {
			if g == best {
				continue
			}
			i, _ := slices.BinarySearch(ps, p-reach)
			if i == len(ps) || ps[i] > p+reach {
				near = false
				break
			}
		}
		if near {
			out = append(out, p)
		}
	}
	return out
}

func needs(found []bool, groups [][]string) bool {
	for _, g := range groups {
		ok := false
		for _, w := range g {
			if found[keywords.index[w]] {
				ok = true
				break
			}
		}
		if !ok {
			return false
		}
	}
	return true
}
