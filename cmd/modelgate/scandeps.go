package main

import (
	"fmt"
	"time"

	"github.com/modelgate/modelgate/finding"
	"github.com/modelgate/modelgate/registry/bom"
	"github.com/modelgate/modelgate/supplychain"
	"github.com/modelgate/modelgate/supplychain/deps"
	"github.com/modelgate/modelgate/supplychain/vulndb"
	"github.com/spf13/cobra"
)

func scanDeps(g *globals) *cobra.Command {
	var format, failOn, db string
	cmd := &cobra.Command{
		Use:   "deps PATH... [--format table|json|sarif|cyclonedx] [--fail-on SEV]",
		Short: "Check Python dependencies against the offline OSV database",
		Long: `Find the Python dependency files under each path (requirements*.txt with
their -r and -c includes, pyproject.toml for PEP 621, Poetry, PDM, uv and
dependency groups, poetry.lock, uv.lock, pylock.toml, Pipfile.lock,
environment.yml, conda-meta, installed *.dist-info) and judge every
package against the vulnerability database imported with "vulndb import":

  affected           its exact version (pinned, locked or installed) is in
                     an advisory's affected versions
  possibly affected  the range it allows overlaps them: the versions are named
  malicious          an OSV MAL- advisory (critical whatever the version)

A lock file beside a declaration, or an installed package, decides the
version judged. Unpinned declarations and pins without hashes in
requirements files are findings of their own; a requirement that cannot be
judged (a direct URL) is never reported clean. Nothing touches the network.

Exit status: 0 no finding at or above --fail-on (default low), 1 findings,
2 bad usage, an unreadable file or no database.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkFormat(format, "table", "json", "sarif", "cyclonedx"); err != nil {
				return err
			}
			threshold, err := finding.ParseSeverity(failOn)
			if err != nil {
				return usagef("--fail-on: %v", err)
			}
			d, err := vulndb.Open(vulndbPath(g, db))
			if err != nil {
				return usageError{err}
			}
			defer d.Close()
			files, err := deps.Find(args)
			if err != nil {
				return usageError{err}
			}
			res, err := supplychain.ScanDeps(d, files)
			if err != nil {
				return err
			}
			rep := res.Report()
			switch format {
			case "json":
				err = writeJSON(g.stdout, map[string]any{"result": res, "report": rep})
			case "sarif":
				err = finding.WriteSARIF(g.stdout, rep, "modelgate", versionString())
			case "cyclonedx":
				err = bom.Write(g.stdout, res.BOM(versionString(), time.Now()))
			default:
				m := d.Meta
				fmt.Fprintf(g.stdout, "%d dependency files, %d packages; OSV %s database imported %s, newest advisory %s\n\n",
					len(res.Files), len(res.Packages), m.Ecosystem, m.ImportedAt.Format(time.DateOnly), m.Newest.Format(time.DateOnly))
				if time.Since(m.ImportedAt) > 30*24*time.Hour {
					fmt.Fprintf(g.stderr, "warning: the vulnerability database is %s old: import a fresh export\n", age(m.ImportedAt))
				}
				err = finding.WriteTable(g.stdout, rep)
			}
			if err != nil {
				return err
			}
			if rep.Fails(threshold) {
				return findings{msg: "the dependency scan found problems"}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&format, "format", "table", "table, json, sarif or cyclonedx")
	cmd.Flags().StringVar(&failOn, "fail-on", "low", "fail (exit 1) on findings of this severity or above")
	cmd.Flags().StringVar(&db, "db", "", "vulnerability index (default: DATA_DIR/vulndb/"+vulndb.FileName+")")
	return cmd
}
