package outlier

import (
	"fmt"
	"io"
	"strings"

	"github.com/modelgate/modelgate/datacheck/profile"
)

// WriteText writes the report for a person: the most anomalous rows, each
// numeric column's outliers, the signs of poisoning, and what could not
// be read. withBaseline says whether rows were judged against one.
func (r *Report) WriteText(w io.Writer, path string, withBaseline bool) error {
	fmt.Fprintf(w, "%s: %d rows; numeric columns: %s\n\nmost anomalous rows (Isolation Forest score; above 0.6 is unusual):\n", path, r.Rows, strings.Join(r.Numeric, ", "))
	for _, t := range r.Top {
		fmt.Fprintf(w, "  line %-8d %.3f\n", t.Line, t.Score)
	}
	fmt.Fprintln(w, "\nvalues beyond a robust z-score of 3.5:")
	for _, c := range r.Columns {
		switch {
		case c.Skipped != "":
			fmt.Fprintf(w, "  %-20s not scored (%s)\n", c.Column, c.Skipped)
		case c.Worst == nil:
			fmt.Fprintf(w, "  %-20s 0\n", c.Column)
		default:
			fmt.Fprintf(w, "  %-20s %d (worst: line %d, z %.3g)\n", c.Column, c.Count, c.Worst.Line, c.Worst.Score)
		}
	}
	pz := r.Poisoning
	fmt.Fprintf(w, "\npoisoning signs: exact duplicates %.2f%%, near duplicates %.2f%%", 100*pz.ExactDuplicates, 100*pz.NearDuplicates)
	if withBaseline {
		fmt.Fprintf(w, ", far outside the baseline %.2f%%", 100*pz.FarOutside)
	}
	if pz.Label != "" {
		fmt.Fprintf(w, ", label %s shift %.3f", pz.Label, pz.LabelShift)
	}
	fmt.Fprintln(w)
	return profile.WriteUnreadable(w, r.Unreadable)
}
