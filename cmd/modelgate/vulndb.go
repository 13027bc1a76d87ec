package main

import (
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/modelgate/modelgate/supplychain/vulndb"
	"github.com/spf13/cobra"
)

func newVulnDB(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "vulndb", Short: "Keep the offline vulnerability database (OSV, PyPI) that scan deps reads"}
	cmd.AddCommand(vulndbImport(g), vulndbStatus(g))
	return cmd
}

// vulndbPath is where the index lives: --db, or the data directory's.
func vulndbPath(g *globals, db string) string {
	if db != "" {
		return db
	}
	return filepath.Join(g.dataDir, "vulndb", vulndb.FileName)
}

func vulndbImport(g *globals) *cobra.Command {
	var db string
	cmd := &cobra.Command{
		Use:   "import FILE.zip... [--db FILE]",
		Short: "Import OSV exports (the PyPI all.zip) into the offline database",
		Long: `Read OSV's per-ecosystem exports (for PyPI, the all.zip published at
https://osv-vulnerabilities.storage.googleapis.com/PyPI/all.zip; fetch it
wherever you have network, carry it here) and replace the data
directory's index with their PyPI advisories. Several files may be given
(an advisory in more than one keeps its newest version); withdrawn
advisories are left out. Nothing is fetched: scans read only the index.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			for _, a := range args {
				if _, err := os.Stat(a); err != nil {
					return usageError{err}
				}
			}
			meta, err := vulndb.Import(vulndbPath(g, db), args, time.Now())
			if err != nil {
				return usageError{err}
			}
			fmt.Fprintf(g.stdout, "imported %d advisories for %d packages (%d withdrawn left out); newest advisory %s\n",
				meta.Advisories, meta.Packages, meta.Withdrawn, meta.Newest.Format(time.DateOnly))
			return nil
		},
	}
	cmd.Flags().StringVar(&db, "db", "", "index file (default: DATA_DIR/vulndb/"+vulndb.FileName+")")
	return cmd
}

func vulndbStatus(g *globals) *cobra.Command {
	var db, format string
	cmd := &cobra.Command{
		Use:   "status [--db FILE] [--format table|json]",
		Short: "Show the offline database's age and counts",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkFormat(format, "table", "json"); err != nil {
				return err
			}
			d, err := vulndb.Open(vulndbPath(g, db))
			if err != nil {
				return usageError{err}
			}
			defer d.Close()
			if format == "json" {
				return writeJSON(g.stdout, d.Meta)
			}
			m := d.Meta
			fmt.Fprintf(g.stdout, "ecosystem     %s\nimported      %s (%s ago)\nnewest entry  %s (%s ago)\nadvisories    %d\npackages      %d\n",
				m.Ecosystem, m.ImportedAt.Format(time.RFC3339), age(m.ImportedAt), m.Newest.Format(time.RFC3339), age(m.Newest), m.Advisories, m.Packages)
			for _, s := range m.Sources {
				fmt.Fprintf(g.stdout, "source        %s (%d records)\n", s.File, s.Records)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&db, "db", "", "index file (default: DATA_DIR/vulndb/"+vulndb.FileName+")")
	cmd.Flags().StringVar(&format, "format", "table", "table or json")
	return cmd
}

func age(t time.Time) string {
	d := time.Since(t)
	if d < 48*time.Hour {
		return d.Round(time.Hour).String()
	}
	return fmt.Sprintf("%d days", int(d.Hours()/24))
}
