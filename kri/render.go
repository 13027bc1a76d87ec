package kri

import (
	"fmt"
	"io"
	"strings"
)

// Format writes an indicator's value for people.
func (ind *Indicator) Format() string {
	if !ind.Known {
		return "no evidence"
	}
	return formatValue(ind.Unit, ind.Value)
}

// formatValue writes a value in a unit for people.
func formatValue(unit string, v float64) string {
	switch unit {
	case "seconds":
		return Duration(v)
	case "share":
		return fmt.Sprintf("%.1f%%", 100*v)
	case "usd":
		return "USD " + money(v)
	}
	return fmt.Sprintf("%.0f", v)
}

// WriteMarkdown writes the report as Markdown.
func (r *Report) WriteMarkdown(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "# Key risk indicators\n\nFrom %s to %s.\n\n", r.Since.Format("2006-01-02 15:04 MST"), r.Generated.Format("2006-01-02 15:04 MST"))
	if len(r.TopRisks) > 0 {
		b.WriteString("## Top risks\n\n")
		for i, k := range r.TopRisks {
			fmt.Fprintf(&b, "%d. **%s** (%s): %s. *%s.*\n", i+1, k.Title, k.Impact, k.Evidence, k.Action)
		}
		b.WriteString("\n")
	}
	if len(r.Changes) > 0 {
		b.WriteString("## Since the last report\n\n| indicator | before | now | |\n|---|---:|---:|---|\n")
		for _, c := range r.Changes {
			verdict := "better"
			if c.Worsened {
				verdict = "**worse**"
			}
			fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", c.Name, formatValue(c.Unit, c.Before), formatValue(c.Unit, c.After), verdict)
		}
		b.WriteString("\n")
	}
	b.WriteString("## Indicators\n\n| id | indicator | value | n | source |\n|---|---|---:|---:|---|\n")
	for i := range r.Indicators {
		ind := &r.Indicators[i]
		fmt.Fprintf(&b, "| %s | %s | %s | %d | %s |\n", ind.ID, ind.Name, ind.Format(), ind.N, ind.Source)
	}
	b.WriteString("\n## Definitions\n\n")
	for _, ind := range r.Indicators {
		fmt.Fprintf(&b, "- **%s** %s: %s", ind.ID, ind.Name, ind.Definition)
		if len(ind.Breakdown) > 0 {
			var parts []string
			for _, p := range ind.Breakdown {
				parts = append(parts, fmt.Sprintf("%s %s", p.Label, formatValue(ind.Unit, p.Value)))
			}
			fmt.Fprintf(&b, " (%s)", strings.Join(parts, "; "))
		}
		b.WriteString("\n")
	}
	if len(r.Missing) > 0 {
		fmt.Fprintf(&b, "\nEvidence not available: %s.\n", strings.Join(r.Missing, "; "))
	}
	_, err := io.WriteString(w, b.String())
	return err
}
