// Package injection scores how likely a text is a prompt injection or
// jailbreak (OWASP LLM01; MITRE ATLAS AML.T0051, AML.T0054). Two layers
// combine into one score in [0,1] with an explanation:
//
//   - rules: curated pattern families (instruction override, persona
//     jailbreaks, system-prompt extraction, delimiter and chat-template
//     injection, indirect-injection markers), matched on the normalised text
//     and on what hidden payloads decode to (base64, hex, ROT13, leetspeak,
//     escapes);
//   - a linear classifier over hashed word and character n-grams, trained
//     by ./train on public jailbreak, injection and benign-instruction data
//     and embedded in the binary.
//
// The layers are combined as independent evidence (noisy-OR): the score is
// one minus the product of each layer's probability of a clean text.
package injection

import (
	"cmp"
	"math"
	"slices"
	"strings"
	"sync"

	"github.com/modelgate/modelgate/guard"
)

// Entity is the entity type the detector reports.
const Entity = "PROMPT_INJECTION"

// DefaultThreshold is the score from which a text is taken for an
// injection. It was chosen by looking at the dev set (recall 91.7% at a
// false positive rate of 0.36% there) and at questions about system
// prompts, which score just above 0.5; see docs/guards.md.
const DefaultThreshold = 0.55

// Detector scores texts for injection.
type Detector struct {
	Model *Model
	pool  sync.Pool
}

// New returns a detector with the embedded model.
func New() (*Detector, error) {
	m, err := Builtin()
	if err != nil {
		return nil, err
	}
	return &Detector{Model: m}, nil
}

// Hit is one rule that matched.
type Hit struct {
	Family string  `json:"family"`
	Rule   string  `json:"rule"`
	Weight float64 `json:"weight"`
	// Decoded names the encoding the match was hidden in, if any.
	Decoded string `json:"decoded,omitempty"`
}

// Feature is a word or word pair and its pull on the model's score.
type Feature struct {
	Text   string  `json:"text"`
	Weight float64 `json:"weight"`
}

// Explanation is a score and what made it.
type Explanation struct {
	Score      float64   `json:"score"`
	RulesScore float64   `json:"rules_score"`
	ModelScore float64   `json:"model_score"`
	Rules      []Hit     `json:"rules,omitempty"`
	Features   []Feature `json:"top_features,omitempty"`
}

// Score returns the text's injection score.
func (d *Detector) Score(text string) float64 {
	return d.explain(text, false).Score
}

// Explain returns the score with the rules that matched and the words that
// pulled the model's score up most.
func (d *Detector) Explain(text string) Explanation {
	return d.explain(text, true)
}

func (d *Detector) explain(text string, detail bool) Explanation {
	var e Explanation
	folded := fold(text)
	clean := 1.0
	seen := map[string]bool{}
	add := func(r *rule, decoded string) {
		if seen[r.id] {
			return
		}
		seen[r.id] = true
		w := r.weight
		if decoded != "" {
			// Hiding an instruction in an encoding is itself a sign.
			w = 1 - (1-w)*0.5
		}
		clean *= 1 - w
		e.Rules = append(e.Rules, Hit{Family: r.family, Rule: r.id, Weight: w, Decoded: decoded})
	}
	match(folded, func(r *rule) { add(r, "") })
	for _, dec := range decoders {
		src := folded
		if dec.name == "base64" {
			src = guard.Normalize(text).Text // base64 is case-sensitive
		}
		if hidden := dec.decode(src); hidden != "" {
			match(hidden, func(r *rule) { add(r, dec.name) })
		}
	}
	e.RulesScore = 1 - clean

	buf, _ := d.pool.Get().(*[]uint32)
	if buf == nil {
		buf = new([]uint32)
	}
	fs := features(folded, *buf)
	z := d.Model.Logit(fs)
	e.ModelScore = 1 / (1 + math.Exp(-z))
	if detail {
		e.Features = d.topFeatures(folded, len(fs))
	}
	*buf = fs
	d.pool.Put(buf)

	e.Score = 1 - (1-e.RulesScore)*(1-e.ModelScore)
	return e
}

// topFeatures returns the words and word pairs of a text that push the
// model's score up most (character n-grams are not shown: they explain
// little to a reader).
func (d *Detector) topFeatures(folded string, n int) []Feature {
	if n == 0 {
		return nil
	}
	norm := math.Sqrt(float64(n))
	var ws []string
	for w := range words(folded) {
		ws = append(ws, w)
	}
	best := map[string]float64{}
	var prev uint32
	for k, w := range ws {
		h := fnv(offset32^'w', w)
		best[w] = float64(d.Model.Weights[h%Buckets]) / norm
		if k > 0 {
			best[ws[k-1]+" "+w] = float64(d.Model.Weights[mix(prev, h)%Buckets]) / norm
		}
		prev = h
	}
	var out []Feature
	for t, w := range best {
		if w > 0 {
			out = append(out, Feature{t, w})
		}
	}
	slices.SortFunc(out, func(a, b Feature) int {
		return cmp.Or(cmp.Compare(b.Weight, a.Weight), strings.Compare(a.Text, b.Text))
	})
	return out[:min(len(out), 5)]
}

// Entities lists the entity type the detector reports.
func (d *Detector) Entities() []string { return []string{Entity} }

// Detect reports the whole text as one finding scored by Score; the
// guard's min_score is the threshold.
func (d *Detector) Detect(t *guard.Text, emit func(guard.Finding)) {
	if strings.TrimSpace(t.Text) == "" {
		return
	}
	emit(guard.Finding{Entity: Entity, Start: 0, End: len(t.Text), Score: d.Score(t.Text)})
}
