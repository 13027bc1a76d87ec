// Package finding is the one Finding type every scanner reports, with its
// renderers: a table for people, JSON for programs and SARIF 2.1.0 for CI.
package finding

import (
	"fmt"
	"strings"
)

// Severity grades a finding.
type Severity uint8

// Severities, in increasing order.
const (
	Info Severity = iota
	Low
	Medium
	High
	Critical
)

var severityNames = [...]string{"info", "low", "medium", "high", "critical"}

func (s Severity) String() string {
	if int(s) < len(severityNames) {
		return severityNames[s]
	}
	return fmt.Sprintf("severity(%d)", s)
}

// ParseSeverity parses a severity name.
func ParseSeverity(name string) (Severity, error) {
	for i, n := range severityNames {
		if strings.EqualFold(n, name) {
			return Severity(i), nil
		}
	}
	return 0, fmt.Errorf("unknown severity %q (want info, low, medium, high or critical)", name)
}

// MarshalText encodes the severity by name.
func (s Severity) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText decodes a severity name.
func (s *Severity) UnmarshalText(b []byte) error {
	v, err := ParseSeverity(string(b))
	*s = v
	return err
}

// Finding is one problem a scanner found.
type Finding struct {
	RuleID   string   `json:"rule_id"`
	Severity Severity `json:"severity"`
	Title    string   `json:"title"`
	// Location says where in the file: a byte offset, a member of an
	// archive, a key path.
	Location string `json:"location"`
	// Evidence is what was seen (an imported callable, a layer's code),
	// short enough to read.
	Evidence    string `json:"evidence,omitempty"`
	Remediation string `json:"remediation,omitempty"`
	// References are identifiers in standard taxonomies: CWE-502, LLM03
	// (OWASP Top 10 for LLM Applications 2025), AML.T0010 (MITRE ATLAS).
	References []string `json:"references,omitempty"`
}

// ReferenceURL returns where a reference identifier is documented, or "".
func ReferenceURL(id string) string {
	switch {
	case strings.HasPrefix(id, "CWE-"):
		return "https://cwe.mitre.org/data/definitions/" + strings.TrimPrefix(id, "CWE-") + ".html"
	case strings.HasPrefix(id, "AML.T"):
		return "https://atlas.mitre.org/techniques/" + id
	case strings.HasPrefix(id, "LLM"):
		return "https://genai.owasp.org/llm-top-10/"
	}
	return ""
}
