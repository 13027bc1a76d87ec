package drift

import (
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/modelgate/modelgate/datacheck/profile"
)

// WriteTable writes the report as a table, one column a line, then the
// verdict, and what of the current data could not be read.
func (r *Report) WriteTable(w io.Writer, cur *profile.Profile) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "COLUMN\tMETHOD\tSTATISTIC\tTHRESHOLD\tDRIFT")
	for _, c := range r.Columns {
		d := "no"
		if c.Drift {
			d = "DRIFT"
		}
		if c.Note != "" {
			d += " (" + c.Note + ")"
		}
		fmt.Fprintf(tw, "%s\t%s\t%.4g\t%g\t%s\n", c.Column, c.Method, c.Statistic, c.Threshold, d)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(w, "\n%d of %d columns drifted (%.0f%%): dataset drift %v\n", r.Drifted, r.Compared, 100*r.Share, r.DatasetDrift)
	return profile.WriteUnreadable(w, cur.Unreadable)
}
