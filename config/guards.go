package config

import (
	"errors"
	"net/url"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/modelgate/modelgate/guard"
	"github.com/modelgate/modelgate/guard/injection"
	"github.com/modelgate/modelgate/guard/output"
	"github.com/modelgate/modelgate/guard/pii"
	"github.com/modelgate/modelgate/guard/secrets"
	"github.com/modelgate/modelgate/store"
)

// Guards configures the runtime guards: named pipelines, and which one
// routes without their own use.
type Guards struct {
	// Default names the pipeline of routes that name none; "" or "none"
	// runs no guards on them.
	Default   string
	Pipelines map[string]*GuardPipeline
	// HashKey keys the hash action's pseudonyms (from hash_key_env or
	// hash_key_file, never from the file itself).
	HashKey []byte
}

// Guard types.
const (
	GuardInvisibleText = "invisible_text"
	GuardPII           = "pii"
	GuardSecrets       = "secrets"
	GuardSanitize      = "sanitize"
	GuardCanary        = "canary"
	GuardInjection     = "injection"
	GuardRemote        = "injection_remote"
)

// GuardPipeline is one named pipeline.
type GuardPipeline struct {
	Input, Output []GuardStage
	// FailOpen lets a message pass when a guard fails; the default blocks.
	FailOpen bool
	// Budget bounds each guard's time on one message.
	Budget time.Duration
	// HoldBack is how many bytes of streamed text are held back until
	// more text shows that no match can run across them.
	HoldBack int
	// Restore puts masked values back into the model's answer.
	Restore bool
	// OutputBlockError answers a blocked answer with a 502 error instead
	// of the default: a 200 in the API's content-filter terms.
	OutputBlockError bool
}

// Output block modes: how a caller learns that an output guard withheld
// an answer.
const (
	OutputBlockContentFilter = "content_filter"
	OutputBlockError         = "error"
)

// GuardStage is one guard in a pipeline.
type GuardStage struct {
	Key          string // the configuration key, for messages
	Type         string
	Action       guard.Action
	Entities     map[string]guard.Action
	MinScore     float64
	Roles        []string
	AllowDomains []string
	// Model is a file of injection-classifier weights (from
	// guard/injection/train) to use instead of the embedded ones.
	Model string
	// URL, Timeout and CacheSize configure injection_remote.
	URL       string
	Timeout   time.Duration
	CacheSize int
}

// StandardGuards configures the standard guard pipeline, the one the demo
// runs and examples/modelgate.yaml suggests: on the way in, invisible text
// is stripped, prompt injections in user messages and tool results are
// blocked, credentials are refused, payment and national identifiers are
// redacted and other personal data masked (and restored in the answer); on
// the way out, credentials and personal data the model produced are
// redacted, and dangerous output, exfiltrating links and a leaked system
// prompt are blocked.
const StandardGuards = `
guards:
  default: standard
  pipelines:
    standard:
      input:
        - guard: invisible_text
        - guard: injection
          roles: [user, tool]
        - guard: secrets
        - guard: pii
          action: mask
          entities: {CREDIT_CARD: redact, IBAN: redact, US_SSN: redact, US_ITIN: redact, UK_NINO: redact, UK_NHS: redact}
      output:
        - guard: invisible_text
        - guard: secrets
        - guard: pii
        - guard: sanitize
          allow_domains: [example.com]
        - guard: canary
`

// Pipeline defaults.
const (
	DefaultGuardBudget   = 50 * time.Millisecond
	DefaultGuardHoldBack = 64
)

type guardsFile struct {
	Default     string                  `yaml:"default"`
	HashKeyEnv  string                  `yaml:"hash_key_env"`
	HashKeyFile string                  `yaml:"hash_key_file"`
	Pipelines   map[string]pipelineFile `yaml:"pipelines"`
}

type pipelineFile struct {
	FailMode string `yaml:"fail_mode"`
	Budget   string `yaml:"budget"`
	HoldBack *int   `yaml:"holdback"`
	Restore  *bool  `yaml:"restore"`
	// OutputBlock is content_filter (the default) or error.
	OutputBlock string      `yaml:"output_block"`
	Input       []stageFile `yaml:"input"`
	Output      []stageFile `yaml:"output"`
}

type stageFile struct {
	Guard        string            `yaml:"guard"`
	Action       string            `yaml:"action"`
	Entities     map[string]string `yaml:"entities"`
	MinScore     *float64          `yaml:"min_score"`
	Roles        []string          `yaml:"roles"`
	AllowDomains []string          `yaml:"allow_domains"`
	Model        string            `yaml:"model"`
	URL          string            `yaml:"url"`
	Timeout      string            `yaml:"timeout"`
	CacheSize    *int              `yaml:"cache_size"`
}

// defaultAction is what a guard does when its stage names no action.
func defaultAction(typ string, input bool) guard.Action {
	switch typ {
	case GuardInvisibleText:
		return guard.Strip
	case GuardPII:
		if input {
			return guard.Mask
		}
		return guard.RedactIt
	case GuardSecrets:
		if input {
			return guard.BlockIt
		}
		return guard.RedactIt
	}
	return guard.BlockIt
}

// guardEntities returns the entity types a guard type reports.
func guardEntities(typ string) ([]string, error) {
	switch typ {
	case GuardInvisibleText:
		return guard.InvisibleText{}.Entities(), nil
	case GuardPII:
		return pii.Detector{}.Entities(), nil
	case GuardSecrets:
		d, err := secrets.New()
		if err != nil {
			return nil, err
		}
		return d.Entities(), nil
	case GuardSanitize:
		return (&output.Detector{}).Entities(), nil
	case GuardCanary:
		return []string{output.CanaryLeak}, nil
	case GuardInjection, GuardRemote:
		return []string{injection.Entity}, nil
	}
	return nil, nil
}

func (v *validator) buildGuards(f *file, c *Config) {
	g := f.Guards
	if g == nil {
		return
	}
	c.Guards.Pipelines = map[string]*GuardPipeline{}
	names := make([]string, 0, len(g.Pipelines))
	for name := range g.Pipelines {
		names = append(names, name)
	}
	sort.Strings(names)
	usesHash := false
	for _, name := range names {
		pf := g.Pipelines[name]
		key := "guards.pipelines." + name
		if name == "none" || name == "" {
			v.fail(key, "%q cannot name a pipeline: it means no guards", name)
		}
		p := &GuardPipeline{Budget: DefaultGuardBudget, HoldBack: DefaultGuardHoldBack, Restore: true}
		switch pf.FailMode {
		case "", "closed":
		case "open":
			p.FailOpen = true
		default:
			v.fail(key+".fail_mode", "must be closed or open, got %q", pf.FailMode)
		}
		v.duration(key+".budget", pf.Budget, &p.Budget)
		if pf.HoldBack != nil {
			if *pf.HoldBack < guard.MaxPlaceholder {
				v.fail(key+".holdback", "must be at least %d bytes (the longest placeholder), got %d", guard.MaxPlaceholder, *pf.HoldBack)
			}
			p.HoldBack = *pf.HoldBack
		}
		if pf.Restore != nil {
			p.Restore = *pf.Restore
		}
		switch pf.OutputBlock {
		case "", OutputBlockContentFilter:
		case OutputBlockError:
			p.OutputBlockError = true
		default:
			v.fail(key+".output_block", "must be %s or %s, got %q", OutputBlockContentFilter, OutputBlockError, pf.OutputBlock)
		}
		p.Input = v.stages(key+".input", pf.Input, true, &usesHash)
		p.Output = v.stages(key+".output", pf.Output, false, &usesHash)
		c.Guards.Pipelines[name] = p
	}
	c.Guards.Default = g.Default
	if d := g.Default; d != "" && d != "none" && c.Guards.Pipelines[d] == nil {
		v.fail("guards.default", "no pipeline named %q under guards.pipelines", d)
	}
	switch {
	case g.HashKeyEnv != "" && g.HashKeyFile != "":
		v.fail("guards.hash_key_env", "set hash_key_env or hash_key_file, not both")
	case g.HashKeyEnv != "":
		c.Guards.HashKey = []byte(os.Getenv(g.HashKeyEnv))
		if len(c.Guards.HashKey) < 16 && !(v.opts.Offline && len(c.Guards.HashKey) == 0) {
			v.fail("guards.hash_key_env", "environment variable %s must hold a key of at least 16 bytes", g.HashKeyEnv)
		}
	case g.HashKeyFile != "":
		b, err := os.ReadFile(g.HashKeyFile)
		if err != nil {
			if !v.opts.Offline || !errors.Is(err, os.ErrNotExist) {
				v.fail("guards.hash_key_file", "%v", err)
			}
		} else if c.Guards.HashKey = []byte(strings.TrimSpace(string(b))); len(c.Guards.HashKey) < 16 {
			v.fail("guards.hash_key_file", "%s must hold a key of at least 16 bytes", g.HashKeyFile)
		}
	case usesHash:
		v.fail("guards", "the hash action needs a key: set hash_key_env or hash_key_file")
	}
}

func (v *validator) stages(key string, sfs []stageFile, input bool, usesHash *bool) []GuardStage {
	var out []GuardStage
	for i, sf := range sfs {
		k := key + "[" + strconv.Itoa(i) + "]"
		s := GuardStage{Key: k, Type: sf.Guard, Roles: sf.Roles, AllowDomains: sf.AllowDomains, MinScore: 0.5, Model: sf.Model, URL: sf.URL, CacheSize: 10000}
		switch sf.Guard {
		case GuardInvisibleText, GuardPII, GuardSecrets:
		case GuardInjection:
			s.MinScore = injection.DefaultThreshold
			if sf.Model != "" {
				v.exists(k+".model", sf.Model)
			}
		case GuardRemote:
			s.MinScore, s.Timeout = injection.DefaultThreshold, 2*time.Second
			if u, err := url.Parse(sf.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				v.fail(k+".url", "must be the http or https URL of the classifier, got %q", sf.URL)
			}
			v.duration(k+".timeout", sf.Timeout, &s.Timeout)
			if sf.CacheSize != nil {
				if *sf.CacheSize < 0 {
					v.fail(k+".cache_size", "must not be negative, got %d", *sf.CacheSize)
				}
				s.CacheSize = *sf.CacheSize
			}
		case GuardSanitize, GuardCanary:
			if input {
				v.fail(k+".guard", "%s checks model output; put it under output", sf.Guard)
			}
		case "":
			v.fail(k+".guard", "is required: one of invisible_text, pii, secrets, injection, injection_remote, sanitize, canary")
			continue
		default:
			v.fail(k+".guard", "unknown guard %q (want invisible_text, pii, secrets, injection, injection_remote, sanitize or canary)", sf.Guard)
			continue
		}
		s.Action = defaultAction(sf.Guard, input)
		if sf.Action != "" {
			a, err := guard.ParseAction(sf.Action)
			if err != nil {
				v.fail(k+".action", "%v", err)
			}
			s.Action = a
		}
		if sf.MinScore != nil {
			if *sf.MinScore < 0 || *sf.MinScore > 1 {
				v.fail(k+".min_score", "must be between 0 and 1, got %v", *sf.MinScore)
			}
			s.MinScore = *sf.MinScore
		}
		if s.Action == guard.Mask && !input {
			v.fail(k+".action", "mask is for input (its placeholders are restored in the answer); use redact or hash on output")
		}
		*usesHash = *usesHash || s.Action == guard.Hash
		if len(sf.Entities) > 0 {
			known, err := guardEntities(sf.Guard)
			if err != nil {
				v.fail(k, "cannot load the %s guard: %v", sf.Guard, err)
			}
			s.Entities = map[string]guard.Action{}
			for e, as := range sf.Entities {
				ek := k + ".entities." + e
				if !contains(known, e) {
					v.fail(ek, "the %s guard has no entity type %q (it has %s)", sf.Guard, e, strings.Join(known[:min(len(known), 16)], ", "))
				}
				a, err := guard.ParseAction(as)
				if err != nil {
					v.fail(ek, "%v", err)
				}
				if a == guard.Mask && !input {
					v.fail(ek, "mask is for input; use redact or hash on output")
				}
				*usesHash = *usesHash || a == guard.Hash
				s.Entities[e] = a
			}
		}
		out = append(out, s)
	}
	return out
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// RouteGuards names the guards that run on a route's requests and
// answers: its own pipeline, else the default, else none.
func (c *Config) RouteGuards(r *store.Route) (input, output []string) {
	name := r.Guards
	if name == "" {
		name = c.Guards.Default
	}
	if p := c.Guards.Pipelines[name]; p != nil && name != "none" {
		for _, s := range p.Input {
			input = append(input, s.Type)
		}
		for _, s := range p.Output {
			output = append(output, s.Type)
		}
	}
	return input, output
}
