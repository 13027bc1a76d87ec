package inventory

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/modelgate/modelgate/finding"
)

// Report returns the inventory's findings as a scan report, one file per
// path that has findings or could not be read, for SARIF and for
// deciding an exit status.
func (inv *Inventory) Report() *finding.Report {
	byPath := map[string]*finding.File{}
	var order []string
	for _, a := range inv.Assets {
		if len(a.Findings) == 0 {
			continue
		}
		f, ok := byPath[a.Path]
		if !ok {
			f = &finding.File{Path: a.Path, Format: a.Format}
			byPath[a.Path] = f
			order = append(order, a.Path)
		}
		f.Findings = append(f.Findings, a.Findings...)
	}
	rep := &finding.Report{Files: []finding.File{}}
	for _, p := range order {
		rep.Files = append(rep.Files, *byPath[p])
	}
	for _, e := range inv.Stats.Errors {
		rep.Files = append(rep.Files, finding.File{Path: e.Path, Format: "unknown", Findings: []finding.Finding{}, Error: e.Error})
	}
	rep.Summarise()
	return rep
}

// WriteTable writes the inventory for people: counts by kind, the assets
// with their status, and the findings.
func WriteTable(w io.Writer, inv *Inventory) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "%d files in %d directories, %d assets", inv.Stats.Files, inv.Stats.Dirs, len(inv.Assets))
	var parts []string
	for _, k := range Kinds {
		if n := inv.Stats.Assets[string(k)]; n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, k))
		}
	}
	if len(parts) > 0 {
		fmt.Fprintf(tw, ": %s", strings.Join(parts, ", "))
	}
	fmt.Fprintln(tw)
	if len(inv.Assets) > 0 {
		fmt.Fprintln(tw, "\nKIND\tNAME\tFORMAT\tSTATUS\tPATH")
		for _, a := range inv.Assets {
			path := a.Path
			if a.Line > 0 {
				path = fmt.Sprintf("%s:%d", path, a.Line)
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", a.Kind, oneLine(a.Name, 48), a.Format, statusText(&a), path)
		}
	}
	rep := inv.Report()
	if rep.Summary.Findings > 0 {
		fmt.Fprintln(tw, "\nSEVERITY\tRULE\tFINDING\tWHERE")
		for _, sev := range []finding.Severity{finding.Critical, finding.High, finding.Medium, finding.Low, finding.Info} {
			for _, a := range inv.Assets {
				for _, f := range a.Findings {
					if f.Severity != sev {
						continue
					}
					title := f.Title
					if f.Evidence != "" {
						title += ": " + f.Evidence
					}
					where := a.Path
					if f.Location != "" && f.Location != a.Path {
						where += " (" + f.Location + ")"
					}
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", sev, f.RuleID, oneLine(title, 90), where)
				}
			}
		}
	}
	for _, e := range inv.Stats.Errors {
		fmt.Fprintf(tw, "error\t-\tcould not be read: %s\t%s\n", e.Error, e.Path)
	}
	if !inv.Assessed {
		fmt.Fprintln(tw, "\n(status not assessed: no registry, routes or audit log were consulted)")
	}
	return tw.Flush()
}

func statusText(a *Asset) string {
	st := a.Status
	if st == nil {
		return "-"
	}
	var parts []string
	switch {
	case st.Registered != "":
		parts = append(parts, st.Registered+" "+st.Stage, "sig "+st.Signature)
	case a.Kind == KindModel:
		parts = append(parts, "unregistered")
	}
	if st.Changed {
		parts = append(parts, "CHANGED")
	}
	if a.Kind == KindModel {
		scan := st.Scan
		if scan == "" {
			scan = "not run"
		}
		parts = append(parts, "scan "+scan)
	}
	if len(st.Routes) > 0 {
		parts = append(parts, fmt.Sprintf("routes %s (%d calls)", strings.Join(st.Routes, ","), st.Calls))
	}
	return strings.Join(parts, ", ")
}

func oneLine(s string, max int) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > max {
		s = s[:max] + "…"
	}
	return s
}

// WriteDiffTable writes a diff for people.
func WriteDiffTable(w io.Writer, d *Diff) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "%s (%d assets) → %s (%d assets): %d added, %d removed, %d changed, %d new findings\n",
		orNone(d.Old.ID+" "+d.Old.TakenAt), d.Old.Assets, orNone(d.New.ID+" "+d.New.TakenAt), d.New.Assets,
		len(d.Added), len(d.Removed), len(d.Changed), len(d.NewFindings))
	section := func(title string, as []Asset, mark string) {
		if len(as) == 0 {
			return
		}
		fmt.Fprintf(tw, "\n%s\n", title)
		for _, a := range as {
			fmt.Fprintf(tw, "%s %s\t%s\t%s\n", mark, a.Kind, oneLine(a.Name, 48), a.Path)
		}
	}
	section("ADDED", d.Added, "+")
	section("REMOVED", d.Removed, "-")
	if len(d.Changed) > 0 {
		fmt.Fprintln(tw, "\nCHANGED")
		for _, c := range d.Changed {
			fmt.Fprintf(tw, "~ %s\t%s\t%s\t%s\n", c.Asset.Kind, oneLine(c.Asset.Name, 48), c.Asset.Path, strings.Join(c.What, "; "))
		}
	}
	if len(d.NewFindings) > 0 {
		fmt.Fprintln(tw, "\nNEW FINDINGS")
		for _, f := range d.NewFindings {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", f.Finding.Severity, f.Finding.RuleID, oneLine(f.Finding.Title, 80), f.Path)
		}
	}
	return tw.Flush()
}
