// Package card reads model cards (Hugging Face Markdown with YAML front
// matter, or JSON) and scores them against the fields a governance review
// needs: intended use, out-of-scope use, training data, evaluation results
// with metrics, bias, risks and limitations, an owner to contact, and a
// license.
package card

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Fields of the required profile.
const (
	IntendedUse  = "intended_use"
	OutOfScope   = "out_of_scope_use"
	TrainingData = "training_data"
	Evaluation   = "evaluation_results"
	Limitations  = "bias_risks_limitations"
	Owner        = "owner_contact"
	License      = "license"
)

// Profile lists the required fields in the order they are reported.
var Profile = []string{IntendedUse, OutOfScope, TrainingData, Evaluation, Limitations, Owner, License}

// Card is a parsed model card.
type Card struct {
	// Fields maps each profile field to its text ("" when missing).
	Fields map[string]string `json:"fields"`
	// Metrics are the evaluation metrics the card reports, by name.
	Metrics map[string]float64 `json:"metrics,omitempty"`
	// Datasets named in the card's metadata.
	Datasets []string `json:"datasets,omitempty"`
}

// Score is a card's completeness.
type Score struct {
	Present  []string `json:"present"`
	Missing  []string `json:"missing"`
	Complete float64  `json:"completeness"` // share of the profile present
}

// Check scores the card against the profile.
func (c *Card) Check() Score {
	s := Score{Present: []string{}, Missing: []string{}}
	for _, f := range Profile {
		if c.Fields[f] != "" {
			s.Present = append(s.Present, f)
		} else {
			s.Missing = append(s.Missing, f)
		}
	}
	s.Complete = float64(len(s.Present)) / float64(len(Profile))
	return s
}

// Load reads a card file: JSON if it starts with '{', else Markdown.
func Load(path string) (*Card, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if t := bytes.TrimSpace(b); len(t) > 0 && t[0] == '{' {
		return ParseJSON(b)
	}
	return ParseMarkdown(b)
}

// ParseJSON reads the JSON form: the profile's field names as keys, with
// "metrics" an object of numbers and "datasets" a list.
func ParseJSON(b []byte) (*Card, error) {
	var raw map[string]any
	if err := json.Unmarshal(b, &raw); err != nil {
		return nil, fmt.Errorf("model card JSON: %w", err)
	}
	c := &Card{Fields: map[string]string{}, Metrics: map[string]float64{}}
	for _, f := range Profile {
		c.Fields[f] = meaningful(text(raw[f]))
	}
	if m, ok := raw["metrics"].(map[string]any); ok {
		for k, v := range m {
			if f, ok := v.(float64); ok {
				c.Metrics[k] = f
			}
		}
	}
	if len(c.Metrics) > 0 && c.Fields[Evaluation] == "" {
		c.Fields[Evaluation] = "metrics reported"
	}
	if ds, ok := raw["datasets"].([]any); ok {
		for _, d := range ds {
			c.Datasets = append(c.Datasets, fmt.Sprint(d))
		}
	}
	return c, nil
}

func text(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// sections maps Markdown headings (lower-cased, matched as a prefix or a
// whole word) to the profile fields they hold, following the Hugging Face
// model card template.
var sections = []struct {
	re    *regexp.Regexp
	field string
}{
	{regexp.MustCompile(`^(out[- ]of[- ]scope|misuse)`), OutOfScope},
	{regexp.MustCompile(`^(intended use|uses|direct use|downstream use|how to use|use cases)`), IntendedUse},
	{regexp.MustCompile(`^(training data|training details|data|datasets?)\b`), TrainingData},
	{regexp.MustCompile(`^(evaluation|results|metrics|performance)`), Evaluation},
	{regexp.MustCompile(`^(bias|risks|limitations|ethical considerations|caveats)`), Limitations},
	{regexp.MustCompile(`^(model card contact|contact|authors?|owner|maintainers?|model card authors)`), Owner},
	{regexp.MustCompile(`^licen[cs]e`), License},
}

// ParseMarkdown reads a Hugging Face model card: YAML front matter between
// --- lines (license, datasets, model-index results), then Markdown whose
// headings name the sections.
func ParseMarkdown(b []byte) (*Card, error) {
	c := &Card{Fields: map[string]string{}, Metrics: map[string]float64{}}
	body := string(b)
	if rest, ok := strings.CutPrefix(strings.TrimLeft(body, "\ufeff"), "---\n"); ok {
		end := strings.Index(rest, "\n---")
		if end < 0 {
			return nil, fmt.Errorf("model card: front matter opened with --- is never closed")
		}
		if err := c.frontMatter([]byte(rest[:end])); err != nil {
			return nil, err
		}
		body = rest[end+4:]
	}
	var field string
	var buf strings.Builder
	flush := func() {
		if field != "" {
			if t := meaningful(buf.String()); t != "" {
				if c.Fields[field] != "" {
					t = c.Fields[field] + "\n" + t
				}
				c.Fields[field] = t
			}
		}
		buf.Reset()
	}
	for line := range strings.SplitSeq(body, "\n") {
		if h, ok := heading(line); ok {
			flush()
			field = ""
			for _, s := range sections {
				if s.re.MatchString(h) {
					field = s.field
					break
				}
			}
			continue
		}
		buf.WriteString(line)
		buf.WriteByte('\n')
	}
	flush()
	return c, nil
}

func heading(line string) (string, bool) {
	t := strings.TrimSpace(line)
	if !strings.HasPrefix(t, "#") {
		return "", false
	}
	t = strings.TrimLeft(t, "#")
	t = strings.ToLower(strings.TrimSpace(strings.Trim(strings.TrimSpace(t), "*_")))
	return t, true
}

// meaningful drops template placeholders and comments, and returns "" when
// nothing real is left.
func meaningful(s string) string {
	s = regexp.MustCompile(`(?s)<!--.*?-->`).ReplaceAllString(s, "")
	s = strings.ReplaceAll(s, "[More Information Needed]", "")
	s = strings.TrimSpace(s)
	if strings.Trim(s, " \n\t-*_|:") == "" {
		return ""
	}
	return s
}

func (c *Card) frontMatter(b []byte) error {
	var fm struct {
		License    any      `yaml:"license"`
		Datasets   []string `yaml:"datasets"`
		ModelIndex []struct {
			Results []struct {
				Metrics []struct {
					Type  string  `yaml:"type"`
					Name  string  `yaml:"name"`
					Value float64 `yaml:"value"`
				} `yaml:"metrics"`
			} `yaml:"results"`
		} `yaml:"model-index"`
		Contact string `yaml:"contact"`
		Owner   string `yaml:"owner"`
	}
	if err := yaml.Unmarshal(b, &fm); err != nil {
		return fmt.Errorf("model card front matter: %w", err)
	}
	if l := meaningful(text(fm.License)); l != "" {
		c.Fields[License] = l
	}
	c.Datasets = fm.Datasets
	if len(fm.Datasets) > 0 {
		c.Fields[TrainingData] = "datasets: " + strings.Join(fm.Datasets, ", ")
	}
	for _, mi := range fm.ModelIndex {
		for _, r := range mi.Results {
			for _, m := range r.Metrics {
				name := m.Type
				if name == "" {
					name = m.Name
				}
				c.Metrics[name] = m.Value
			}
		}
	}
	if len(c.Metrics) > 0 {
		c.Fields[Evaluation] = fmt.Sprintf("%d metrics in model-index", len(c.Metrics))
	}
	for _, o := range []string{fm.Owner, fm.Contact} {
		if o != "" {
			c.Fields[Owner] = o
		}
	}
	return nil
}
