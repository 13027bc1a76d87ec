// Package classify finds the columns of a table that hold personal data
// or credentials, with the share of values matching each entity type,
// using the same detectors as the gateway's guards.
package classify

import (
	"errors"
	"slices"
	"strings"

	"github.com/modelgate/modelgate/datacheck/table"
	"github.com/modelgate/modelgate/guard"
	"github.com/modelgate/modelgate/guard/pii"
	"github.com/modelgate/modelgate/guard/secrets"
)

// Verdicts of a column and of a dataset.
const (
	VerdictCredential = "credential"
	VerdictPII        = "pii"
	VerdictNone       = "none"
)

// PIIShare is the share of a column's non-null values that must hold
// personal data for the column to be classified PII. Credentials count at
// any share: one key in a training set is one key too many.
const PIIShare = 0.05

// Column is what was found in one column.
type Column struct {
	Name     string             `json:"column"`
	Values   int64              `json:"values"`
	Entities map[string]float64 `json:"entities,omitempty"` // entity type → share of non-null values
	Verdict  string             `json:"verdict"`
	// Whole is the share of values with findings whose finding covers
	// (nearly) the whole value: near 1 for a column of email addresses,
	// near 0 for free text that mentions one.
	Whole float64 `json:"whole_value_share"`
	// Examples are the lines of the first values found, never the values.
	Lines []int64 `json:"example_lines,omitempty"`
}

// Report is the classification of a dataset.
type Report struct {
	Rows      int64    `json:"rows"`
	Columns   []Column `json:"columns"`
	Verdict   string   `json:"verdict"`
	RowErrors int64    `json:"unreadable_rows"`
}

// Scan reads up to maxRows rows (0 for all) and classifies each column.
func Scan(r table.Reader, maxRows int64) (*Report, error) {
	sec, err := secrets.New()
	if err != nil {
		return nil, err
	}
	var det pii.Detector
	cols := r.Columns()
	counts := make([]map[string]int64, len(cols))
	values := make([]int64, len(cols))
	whole := make([]int64, len(cols))
	hits := make([]int64, len(cols))
	lines := make([][]int64, len(cols))
	for i := range counts {
		counts[i] = map[string]int64{}
	}
	rep := &Report{}
	text := &guard.Text{}
	errStop := errors.New("enough rows")
	err = table.Each(r, func(row *table.Row) error {
		if maxRows > 0 && rep.Rows >= maxRows {
			return errStop
		}
		rep.Rows++
		for i, v := range row.Values {
			if v.Null || strings.TrimSpace(v.Text) == "" {
				continue
			}
			values[i]++
			*text = guard.Text{Segment: guard.Segment{Text: v.Text}}
			found := map[string]bool{}
			covered := 0
			trimmed := len(strings.TrimSpace(v.Text))
			emit := func(f guard.Finding) {
				if f.Score >= 0.5 {
					found[f.Entity] = true
					covered = max(covered, f.End-f.Start)
				}
			}
			det.Detect(text, emit)
			sec.Detect(text, func(f guard.Finding) {
				found["SECRET:"+f.Entity] = true
				covered = max(covered, f.End-f.Start)
			})
			if len(found) > 0 {
				hits[i]++
				if covered*10 >= trimmed*8 {
					whole[i]++
				}
			}
			for e := range found {
				counts[i][e]++
			}
			if len(found) > 0 && len(lines[i]) < 3 {
				lines[i] = append(lines[i], row.Line)
			}
		}
		return nil
	}, func(*table.RowError) { rep.RowErrors++ })
	if err != nil && err != errStop {
		return nil, err
	}
	rep.Verdict = VerdictNone
	for i, name := range cols {
		c := Column{Name: name, Values: values[i], Verdict: VerdictNone, Lines: lines[i]}
		if hits[i] > 0 {
			c.Whole = float64(whole[i]) / float64(hits[i])
		}
		if values[i] > 0 && len(counts[i]) > 0 {
			c.Entities = map[string]float64{}
			for e, n := range counts[i] {
				share := float64(n) / float64(values[i])
				c.Entities[e] = share
				switch {
				case strings.HasPrefix(e, "SECRET:"):
					c.Verdict = VerdictCredential
				case share >= PIIShare && c.Verdict == VerdictNone:
					c.Verdict = VerdictPII
				}
			}
		}
		switch {
		case c.Verdict == VerdictCredential:
			rep.Verdict = VerdictCredential
		case c.Verdict == VerdictPII && rep.Verdict == VerdictNone:
			rep.Verdict = VerdictPII
		}
		rep.Columns = append(rep.Columns, c)
	}
	slices.SortStableFunc(rep.Columns, func(a, b Column) int { return rank(b.Verdict) - rank(a.Verdict) })
	return rep, nil
}

func rank(v string) int {
	switch v {
	case VerdictCredential:
		return 2
	case VerdictPII:
		return 1
	}
	return 0
}
