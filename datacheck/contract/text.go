package contract

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
)

// WriteText writes the report as a table, one rule a line with a sample
// of its failing rows (line: value), then a summary.
func (r *Report) WriteText(w io.Writer, path string) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "RESULT\tCOLUMN\tRULE\tOBSERVED\tEXPECTED\tFAILING ROWS (LINE: VALUE)")
	failed := 0
	for _, res := range r.Results {
		verdict := "pass"
		if !res.Pass {
			verdict = "FAIL"
			failed++
		}
		var sample []string
		for _, f := range res.Sample {
			s := strconv.FormatInt(f.Line, 10)
			if f.Value != "" {
				s += ": " + f.Value
			} else if f.Reason != "" {
				s += ": " + f.Reason
			}
			sample = append(sample, s)
		}
		col := res.Column
		if col == "" {
			col = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", verdict, col, res.Rule, wholeOrShort(res.Observed), res.Expected, strings.Join(sample, "; "))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err := fmt.Fprintf(w, "\n%s: %d rows, %d rules, %d failed\n", path, r.Rows, len(r.Results), failed)
	return err
}

// wholeOrShort prints a whole number without a decimal point.
func wholeOrShort(f float64) string {
	if f == float64(int64(f)) {
		return strconv.FormatInt(int64(f), 10)
	}
	return strconv.FormatFloat(f, 'g', 4, 64)
}
