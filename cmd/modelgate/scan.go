package main

import (
	"bufio"
	"os"
	"runtime/debug"
	"strings"

	"github.com/modelgate/modelgate/finding"
	"github.com/modelgate/modelgate/modelscan"
	"github.com/spf13/cobra"
)

func newScan(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "scan", Short: "Scan artifacts for security problems"}
	cmd.AddCommand(scanModel(g), scanDeps(g), scanSecrets(g))
	return cmd
}

func scanModel(g *globals) *cobra.Command {
	var format, allowFile, failOn string
	var allow []string
	var digest bool
	cmd := &cobra.Command{
		Use:   "model PATH... [--format table|json|sarif] [--allow MODULE.NAME ...] [--allowlist FILE]",
		Short: "Find code execution and tampering in model files",
		Long: `Scan model files and directories (recursively; archives inside archives
too) for code that runs when the model is loaded, and for files crafted to
confuse the loaders. Formats are detected by content: pickle (and PyTorch,
joblib and NumPy files built on it), zip and tar archives, safetensors.
Pickles are judged default-deny: a callable they import is allowed only if
the allowlist names it; extend it with --allow or --allowlist (one
module.name or module.prefix.* per line).

A file the scanner does not recognise is reported as an info finding
("not recognised"), never passed silently; --fail-on sets the severity
from which findings fail the scan (default low, so info findings are
shown but do not).

Exit status: 0 clean, 1 findings at or above --fail-on (or a file that
could not be read), 2 bad usage or a missing path, 130 interrupted
(SIGINT or SIGTERM: the scan stops within a read and prints no report).`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if format != "table" && format != "json" && format != "sarif" {
				return usagef("--format must be table, json or sarif, got %q", format)
			}
			threshold, err := finding.ParseSeverity(failOn)
			if err != nil {
				return usagef("--fail-on: %v", err)
			}
			if allowFile != "" {
				f, err := os.Open(allowFile)
				if err != nil {
					return usageError{err}
				}
				sc := bufio.NewScanner(f)
				for sc.Scan() {
					if l := strings.TrimSpace(sc.Text()); l != "" && !strings.HasPrefix(l, "#") {
						allow = append(allow, l)
					}
				}
				f.Close()
			}
			debug.SetGCPercent(modelscan.GCPercent)
			debug.SetMemoryLimit(modelscan.MemoryLimit)
			s := &modelscan.Scanner{Policy: modelscan.Policy{Allow: allow}, Digest: digest}
			rep, err := s.ScanPathsContext(cmd.Context(), args)
			if cmd.Context().Err() != nil {
				return interrupted{err}
			}
			if err != nil {
				return usageError{err}
			}
			switch format {
			case "json":
				err = finding.WriteJSON(g.stdout, rep)
			case "sarif":
				err = finding.WriteSARIF(g.stdout, rep, "modelgate", versionString())
			default:
				err = finding.WriteTable(g.stdout, rep)
			}
			if err != nil {
				return err
			}
			if rep.Fails(threshold) {
				return findings{msg: "the scan found problems"}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&format, "format", "table", "table, json or sarif")
	cmd.Flags().StringSliceVar(&allow, "allow", nil, "also allow this callable (module.name, or module.prefix.*)")
	cmd.Flags().StringVar(&allowFile, "allowlist", "", "file of callables to allow, one per line")
	cmd.Flags().StringVar(&failOn, "fail-on", "low", "fail (exit 1) on findings of this severity or above: info, low, medium, high, critical")
	cmd.Flags().BoolVar(&digest, "sha256", true, "report each file's SHA-256 (reads every byte; --sha256=false scans without reading tensor data)")
	return cmd
}

// reportOptions checks the --format and --fail-on of the commands that
// write a findings report (table, json or sarif) and returns the severity
// that fails them.
func reportOptions(format, failOn string) (finding.Severity, error) {
	if err := checkFormat(format, "table", "json", "sarif"); err != nil {
		return 0, err
	}
	threshold, err := finding.ParseSeverity(failOn)
	if err != nil {
		return 0, usagef("--fail-on: %v", err)
	}
	return threshold, nil
}
