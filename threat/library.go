package threat

import (
	"bytes"
	_ "embed"
	"fmt"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
)

//go:embed library/threats.yaml
var embeddedLibrary []byte

// Threat is one entry of the library.
type Threat struct {
	ID          string   `yaml:"id" json:"id"`
	Title       string   `yaml:"title" json:"title"`
	Description string   `yaml:"description" json:"description"`
	STRIDE      []string `yaml:"stride" json:"stride"`
	// OWASPLLM are ids of the OWASP Top 10 for LLM Applications, 2025
	// edition; OWASPML of the OWASP Machine Learning Security Top 10
	// (2023); ATLAS are MITRE ATLAS technique ids.
	OWASPLLM    []string   `yaml:"owasp_llm_2025" json:"owasp_llm_2025,omitempty"`
	OWASPML     []string   `yaml:"owasp_ml" json:"owasp_ml,omitempty"`
	ATLAS       []string   `yaml:"atlas" json:"atlas,omitempty"`
	Applies     Conditions `yaml:"applies" json:"applies"`
	Likelihood  int        `yaml:"likelihood" json:"likelihood"`
	Impact      int        `yaml:"impact" json:"impact"`
	Mitigations []string   `yaml:"mitigations" json:"mitigations"`
}

// Conditions say which elements a threat applies to; every one given
// must hold.
type Conditions struct {
	Element string `yaml:"element" json:"element"` // asset or flow
	// Types, TagsAny, MinClassification and MinValue test an asset;
	// for a flow, FromTypes/ToTypes its ends and MinClassification its data.
	Types             []string `yaml:"types" json:"types,omitempty"`
	TagsAny           []string `yaml:"tags_any" json:"tags_any,omitempty"`
	MinClassification string   `yaml:"min_classification" json:"min_classification,omitempty"`
	MinValue          string   `yaml:"min_value" json:"min_value,omitempty"`
	// HasInbound: some flow reaches the asset; HasInboundFromTypes: from
	// an asset of one of these types.
	HasInbound          bool     `yaml:"has_inbound" json:"has_inbound,omitempty"`
	HasInboundFromTypes []string `yaml:"has_inbound_from_types" json:"has_inbound_from_types,omitempty"`
	FromTypes           []string `yaml:"from_types" json:"from_types,omitempty"`
	ToTypes             []string `yaml:"to_types" json:"to_types,omitempty"`
	Auth                []string `yaml:"auth" json:"auth,omitempty"`
	CrossesBoundary     bool     `yaml:"crosses_boundary" json:"crosses_boundary,omitempty"`
}

// Library is the set of threats a model is judged against.
type Library struct {
	Threats []Threat
}

// DefaultLibrary returns the embedded library.
func DefaultLibrary() (*Library, error) {
	l := &Library{}
	if err := l.Add("library/threats.yaml", embeddedLibrary); err != nil {
		return nil, err
	}
	return l, nil
}

// Add reads threats from YAML (a list); a threat with an id already in
// the library replaces it.
func (l *Library) Add(name string, b []byte) error {
	var ts []Threat
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&ts); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	for _, t := range ts {
		if err := t.validate(); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		if i := slices.IndexFunc(l.Threats, func(x Threat) bool { return x.ID == t.ID }); i >= 0 {
			l.Threats[i] = t
		} else {
			l.Threats = append(l.Threats, t)
		}
	}
	return nil
}

func (t Threat) validate() error {
	switch {
	case t.ID == "" || t.Title == "":
		return fmt.Errorf("threat %q: id and title are required", t.ID)
	case t.Applies.Element != "asset" && t.Applies.Element != "flow":
		return fmt.Errorf("threat %s: applies.element must be asset or flow", t.ID)
	case t.Likelihood < 1 || t.Likelihood > 5 || t.Impact < 1 || t.Impact > 5:
		return fmt.Errorf("threat %s: likelihood and impact must be 1 to 5", t.ID)
	case len(t.Mitigations) == 0:
		return fmt.Errorf("threat %s: no mitigations", t.ID)
	}
	for _, m := range t.Mitigations {
		if !strings.HasPrefix(m, "manual:") && checks[m] == nil {
			return fmt.Errorf("threat %s: mitigation %q has no check (known: %s; or manual:WHAT)", t.ID, m, strings.Join(CheckNames(), ", "))
		}
	}
	for _, c := range []string{t.Applies.MinClassification} {
		if c != "" && !slices.Contains(classifications, c) {
			return fmt.Errorf("threat %s: min_classification %q", t.ID, c)
		}
	}
	if v := t.Applies.MinValue; v != "" && !slices.Contains(values, v) {
		return fmt.Errorf("threat %s: min_value %q", t.ID, v)
	}
	return nil
}
