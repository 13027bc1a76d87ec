package inventory

import (
	"crypto/sha256"
	"encoding/hex"
	"regexp"
	"strconv"
	"strings"
	"sync"

	"github.com/modelgate/modelgate/finding"
	"github.com/modelgate/modelgate/guard/secrets"
	"github.com/zricethezav/gitleaks/v8/config"
	"github.com/zricethezav/gitleaks/v8/detect"
)

// aiKeyRules are the gitleaks rules for AI providers' keys, with the
// provider each names.
var aiKeyRules = map[string]string{
	"openai-api-key":                     "OpenAI",
	"anthropic-api-key":                  "Anthropic",
	"anthropic-admin-api-key":            "Anthropic",
	"huggingface-access-token":           "Hugging Face",
	"huggingface-organization-api-token": "Hugging Face",
	"cohere-api-token":                   "Cohere",
	"perplexity-api-key":                 "Perplexity",
	"privateai-api-token":                "Private AI",
	"gcp-api-key":                        "Google (Gemini or another Google API)",
}

// extraKeyRules cover providers gitleaks has no rule for, in its terms:
// a prefix that only the provider uses, and the key's length and
// alphabet.
var extraKeyRules = []struct {
	id, provider, re, keyword string
}{
	{"groq-api-key", "Groq", `\b(gsk_[A-Za-z0-9]{52})\b`, "gsk_"},
	{"replicate-api-token", "Replicate", `\b(r8_[A-Za-z0-9]{37})\b`, "r8_"},
	{"xai-api-key", "xAI", `\b(xai-[A-Za-z0-9]{80})\b`, "xai-"},
	{"openai-project-key", "OpenAI", `\b(sk-(?:proj|svcacct|admin)-[A-Za-z0-9_-]{80,240})\b`, "sk-"},
	{"langsmith-api-key", "LangSmith", `\b(lsv2_(?:pt|sk)_[a-f0-9]{32}_[a-f0-9]{10})\b`, "lsv2_"},
}

// keyDetector is gitleaks restricted to AI keys, built once.
var keyDetector = sync.OnceValues(func() (*detect.Detector, error) {
	base, err := secrets.GitleaksConfig()
	if err != nil {
		return nil, err
	}
	cfg := config.Config{Rules: map[string]config.Rule{}, Keywords: map[string]struct{}{}, Allowlists: base.Allowlists}
	for id := range aiKeyRules {
		r, ok := base.Rules[id]
		if !ok {
			continue
		}
		cfg.Rules[id] = r
		cfg.OrderedRules = append(cfg.OrderedRules, id)
		for _, k := range r.Keywords {
			cfg.Keywords[strings.ToLower(k)] = struct{}{}
		}
	}
	for _, x := range extraKeyRules {
		cfg.Rules[x.id] = config.Rule{RuleID: x.id, Description: x.provider + " API key", Regex: regexp.MustCompile(x.re),
			SecretGroup: 1, Entropy: 3, Keywords: []string{x.keyword}}
		cfg.OrderedRules = append(cfg.OrderedRules, x.id)
		cfg.Keywords[x.keyword] = struct{}{}
	}
	return detect.NewDetector(cfg), nil
})

func keyProvider(rule string) string {
	if p, ok := aiKeyRules[rule]; ok {
		return p
	}
	for _, x := range extraKeyRules {
		if x.id == rule {
			return x.provider
		}
	}
	return rule
}

var refsKey = []string{"CWE-798", "LLM02"}

// keys records the AI keys in a text, by provider, line and a digest of
// the value: the value itself never leaves this function.
func (sn *sniffer) keys(f *file, text []byte, where string) {
	if !mayHoldAIKey(text) {
		return
	}
	d, err := keyDetector()
	if err != nil {
		sn.fail(f.path, err)
		return
	}
	seen := map[string]bool{}
	for _, gf := range d.DetectBytes(text) {
		sum := sha256.Sum256([]byte(gf.Secret))
		fp := "sha256:" + hex.EncodeToString(sum[:8])
		if seen[fp] {
			continue // two rules, one key
		}
		seen[fp] = true
		provider := keyProvider(gf.RuleID)
		line := gf.StartLine + 1
		loc := "line " + strconv.Itoa(line)
		if where != "" {
			loc = where
			line = 0
		}
		a := Asset{Kind: KindKey, Path: f.path, Name: provider, Line: line, Fingerprint: fp,
			Attrs: map[string]string{"rule": gf.RuleID, "provider": provider}}
		a.ID = assetID(KindKey, f.path, fp)
		a.Findings = []finding.Finding{{RuleID: "INV-AI-KEY", Severity: finding.High,
			Title: provider + " API key in a file", Location: loc, Evidence: "rule " + gf.RuleID + ", value " + fp,
			Remediation: "revoke and rotate the key, then load it from a secret store or the environment at run time",
			References:  refsKey}}
		sn.add(a)
	}
}
