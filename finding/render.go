package finding

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
)

// WriteJSON writes the report as one indented JSON document.
func WriteJSON(w io.Writer, r *Report) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// WriteTable writes the report for people: one line per finding, then the
// files that could not be read, then a summary.
func WriteTable(w io.Writer, r *Report) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	n := 0
	for _, f := range r.Files {
		for _, fd := range f.Findings {
			if n == 0 {
				fmt.Fprintln(tw, "SEVERITY\tRULE\tFILE\tLOCATION\tFINDING")
			}
			n++
			title := fd.Title
			if fd.Evidence != "" {
				title += ": " + oneLine(fd.Evidence, 100)
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", strings.ToUpper(fd.Severity.String()), fd.RuleID, f.Path, fd.Location, title)
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, f := range r.Files {
		if f.Error != "" {
			fmt.Fprintf(w, "ERROR  %s (%s): %s\n", f.Path, f.Format, f.Error)
		}
	}
	s := r.Summary
	if n > 0 || s.Errors > 0 {
		fmt.Fprintln(w)
	}
	var parts []string
	for _, sev := range []Severity{Critical, High, Medium, Low, Info} {
		if c := s.BySeverity[sev.String()]; c > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", c, sev))
		}
	}
	verdict := "clean"
	if !r.Clean() {
		verdict = "NOT CLEAN"
	}
	detail := ""
	if len(parts) > 0 {
		detail = " (" + strings.Join(parts, ", ") + ")"
	}
	_, err := fmt.Fprintf(w, "%s: %d files, %d findings%s, %d unreadable\n", verdict, s.Files, s.Findings, detail, s.Errors)
	return err
}

func oneLine(s string, max int) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > max {
		s = s[:max] + "…"
	}
	return s
}

// WriteSARIF writes the report as a SARIF 2.1.0 log, the format code
// scanning in CI systems reads. Files that could not be read become
// notifications of the run, so a CI gate sees them.
func WriteSARIF(w io.Writer, r *Report, tool, version string) error {
	type message struct {
		Text string `json:"text"`
	}
	type rule struct {
		ID               string         `json:"id"`
		ShortDescription message        `json:"shortDescription"`
		HelpURI          string         `json:"helpUri,omitempty"`
		Properties       map[string]any `json:"properties,omitempty"`
	}
	type location struct {
		PhysicalLocation struct {
			ArtifactLocation struct {
				URI string `json:"uri"`
			} `json:"artifactLocation"`
		} `json:"physicalLocation"`
		LogicalLocations []map[string]string `json:"logicalLocations,omitempty"`
	}
	type result struct {
		RuleID     string         `json:"ruleId"`
		Level      string         `json:"level"`
		Message    message        `json:"message"`
		Locations  []location     `json:"locations"`
		Properties map[string]any `json:"properties,omitempty"`
	}
	type notification struct {
		Level     string     `json:"level"`
		Message   message    `json:"message"`
		Locations []location `json:"locations,omitempty"`
	}
	// Arrays stay arrays when empty: the schema requires them, and a
	// validator refuses null.
	rules := []rule{}
	seen := map[string]bool{}
	results := []result{}
	notes := []notification{}
	loc := func(path, where string) location {
		var l location
		l.PhysicalLocation.ArtifactLocation.URI = path
		if where != "" {
			l.LogicalLocations = []map[string]string{{"fullyQualifiedName": where}}
		}
		return l
	}
	for _, f := range r.Files {
		for _, fd := range f.Findings {
			if !seen[fd.RuleID] {
				seen[fd.RuleID] = true
				ru := rule{ID: fd.RuleID, ShortDescription: message{fd.Title},
					Properties: map[string]any{"tags": nonNil(fd.References), "security-severity": securitySeverity(fd.Severity)}}
				for _, ref := range fd.References {
					if u := ReferenceURL(ref); u != "" && ru.HelpURI == "" {
						ru.HelpURI = u
					}
				}
				rules = append(rules, ru)
			}
			text := fd.Title
			if fd.Evidence != "" {
				text += ": " + oneLine(fd.Evidence, 500)
			}
			results = append(results, result{RuleID: fd.RuleID, Level: level(fd.Severity), Message: message{text},
				Locations:  []location{loc(f.Path, fd.Location)},
				Properties: map[string]any{"severity": fd.Severity.String(), "format": f.Format}})
		}
		if f.Error != "" {
			notes = append(notes, notification{Level: "error", Message: message{f.Path + ": " + f.Error}, Locations: []location{loc(f.Path, "")}})
		}
	}
	slices.SortFunc(rules, func(a, b rule) int { return strings.Compare(a.ID, b.ID) })
	run := map[string]any{
		"tool":    map[string]any{"driver": map[string]any{"name": tool, "version": version, "informationUri": "https://github.com/modelgate/modelgate", "rules": rules}},
		"results": results,
		"invocations": []map[string]any{{
			"executionSuccessful":        len(notes) == 0,
			"toolExecutionNotifications": notes,
		}},
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(map[string]any{
		"$schema": "https://json.schemastore.org/sarif-2.1.0.json",
		"version": "2.1.0",
		"runs":    []any{run},
	})
}

func level(s Severity) string {
	switch {
	case s >= High:
		return "error"
	case s >= Medium:
		return "warning"
	}
	return "note"
}

// securitySeverity is the CVSS-like score GitHub code scanning reads to
// rank results.
func securitySeverity(s Severity) string {
	return [...]string{"0.0", "3.0", "5.5", "8.0", "9.5"}[s]
}

// nonNil returns an empty slice for nil, so that JSON gets [] where SARIF
// wants an array.
func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
