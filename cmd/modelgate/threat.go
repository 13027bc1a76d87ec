package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/modelgate/modelgate/config"
	"github.com/modelgate/modelgate/finding"
	"github.com/modelgate/modelgate/registry"
	"github.com/modelgate/modelgate/store/postgres"
	"github.com/modelgate/modelgate/store/sqlite"
	"github.com/modelgate/modelgate/threat"
	"github.com/modelgate/modelgate/threat/diagram"
	"github.com/modelgate/modelgate/threat/live"
	"github.com/spf13/cobra"
	"go.yaml.in/yaml/v3"
)

func newThreat(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "threat", Short: "Threat models as code, checked against what is deployed"}
	cmd.AddCommand(threatInit(g), threatCheck(g), threatDiagram(g), threatLibrary(g))
	return cmd
}

// liveFlags choose where the deployed state is read from.
type liveFlags struct {
	config string
	noLive bool
	since  time.Duration
}

func (f *liveFlags) add(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.config, "config", "", "the gateway's modelgate.yaml (guard pipelines, audit settings, TLS); read offline")
	cmd.Flags().BoolVar(&f.noLive, "no-live", false, "do not read the data directory: judge the model on its declarations alone")
	cmd.Flags().DurationVar(&f.since, "since", 30*24*time.Hour, "audit events this recent show the observed flows (0: all)")
}

// gather reads the deployed state: the configuration, and the data
// directory's (or the shared PostgreSQL's) routes, keys, registry and
// audit log.
func (f *liveFlags) gather(ctx context.Context, g *globals) (*threat.State, error) {
	src := live.Sources{Now: time.Now()}
	if f.since > 0 {
		src.Since = src.Now.Add(-f.since)
	}
	if f.config != "" {
		cfg, err := config.LoadWith(f.config, config.Options{Offline: true, InsecurePlaintext: true})
		if err != nil {
			return nil, usageError{err}
		}
		src.Config = cfg
	}
	if f.noLive {
		return live.Gather(ctx, src)
	}
	if g.postgresEnv != "" {
		dsn, err := postgresDSN(g)
		if err != nil {
			return nil, err
		}
		db, err := postgres.Open(ctx, dsn, postgres.Options{})
		if err != nil {
			return nil, err
		}
		defer db.Close()
		src.Store, src.Registry, src.Audit = db, db, db.Audit()
		return live.Gather(ctx, src)
	}
	if _, err := os.Stat(filepath.Join(g.dataDir, sqlite.FileName)); err != nil {
		return nil, usagef("no modelgate data at %s: pass --data-dir (or --no-live to judge declarations alone)", g.dataDir)
	}
	db, err := sqlite.OpenDir(ctx, g.dataDir)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	src.Store, src.Registry = db, db
	if as, err := auditFiles(ctx, g); err == nil {
		defer as.Close()
		src.Audit = as
	}
	return live.Gather(ctx, src)
}

func loadThreatModel(path string) (*threat.Model, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, usageError{err}
	}
	defer f.Close()
	m, err := threat.Parse(path, f)
	if err != nil {
		return nil, usageError{err}
	}
	return m, nil
}

func library(paths []string) (*threat.Library, error) {
	lib, err := threat.DefaultLibrary()
	if err != nil {
		return nil, err
	}
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			return nil, usageError{err}
		}
		if err := lib.Add(p, b); err != nil {
			return nil, usageError{err}
		}
	}
	return lib, nil
}

func threatInit(g *globals) *cobra.Command {
	var lf liveFlags
	var name, out, inv string
	cmd := &cobra.Command{
		Use:   "init [--name SYSTEM] [--out threatmodel.yaml] [--config modelgate.yaml] [--inventory SNAPSHOT]",
		Short: "Draft a threat model from the gateway's routes, keys, registry and audit log",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			st, err := lf.gather(cmd.Context(), g)
			if err != nil {
				return err
			}
			estate, err := estateAssets(cmd.Context(), g, inv, lf.noLive)
			if err != nil {
				return err
			}
			var buf bytes.Buffer
			enc := yaml.NewEncoder(&buf)
			enc.SetIndent(2)
			if err := enc.Encode(threat.Draft(name, st, estate...)); err != nil {
				return err
			}
			b := append([]byte("# Drafted by modelgate threat init: complete it (owners, what each\n# asset holds and is worth, flows modelgate cannot see) and settle the\n# risks. docs/threat-model.md describes every field.\n"), buf.Bytes()...)
			if out == "" || out == "-" {
				_, err = g.stdout.Write(b)
				return err
			}
			f, err := os.OpenFile(out, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
			if err != nil {
				return usageError{fmt.Errorf("%w (the draft never overwrites a model)", err)}
			}
			if _, err := f.Write(b); err != nil {
				f.Close()
				return err
			}
			return f.Close()
		},
	}
	lf.add(cmd)
	cmd.Flags().StringVar(&name, "name", "ai-system", "the system's name")
	cmd.Flags().StringVar(&out, "out", "", "write the draft here (default: standard output); an existing file is never overwritten")
	cmd.Flags().StringVar(&inv, "inventory", "latest", "inventory snapshot whose models, datasets, model servers and MCP servers join the draft (none: leave them out)")
	return cmd
}

func threatCheck(g *globals) *cobra.Command {
	var lf liveFlags
	var format, failOn, out string
	var libs []string
	var record bool
	cmd := &cobra.Command{
		Use:   "check FILE [--format table|json|sarif|html] [--fail-on SEV] [--config modelgate.yaml]",
		Short: "Judge a threat model against the threat library and the deployed state",
		Long: `Apply the threat library (STRIDE per element and flow, and the AI threats of
the OWASP Top 10 for LLM Applications 2025, the OWASP ML Top 10 and MITRE
ATLAS) to every asset and flow of the model, check each mitigation against
what is deployed (the route's guards, the registry model's signature, scan
and gate, the keys' scopes and limits, the audit log's mode and witnesses,
TLS), score what is open (likelihood × impact), and report the flows the
audit log shows that the model does not declare.

Exit status: 0 nothing open at or above --fail-on (default high), 1 open
threats or undeclared flows at or above it, 2 a model that does not parse.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkFormat(format, "table", "json", "sarif", "html"); err != nil {
				return err
			}
			threshold, err := finding.ParseSeverity(failOn)
			if err != nil {
				return usagef("--fail-on: %v", err)
			}
			m, err := loadThreatModel(args[0])
			if err != nil {
				return err
			}
			lib, err := library(libs)
			if err != nil {
				return err
			}
			st, err := lf.gather(cmd.Context(), g)
			if err != nil {
				return err
			}
			res := threat.Check(m, lib, st, time.Now())
			rep := res.Report(args[0])
			w := g.stdout
			if out != "" {
				f, err := os.Create(out)
				if err != nil {
					return usageError{err}
				}
				defer f.Close()
				w = f
			}
			switch format {
			case "json":
				err = writeJSON(w, struct {
					*threat.Result
					Summary finding.Summary `json:"summary"`
				}{res, rep.Summary})
			case "sarif":
				err = finding.WriteSARIF(w, rep, "modelgate", versionString())
			case "html":
				err = diagram.HTML(w, m, res)
			default:
				err = writeThreatTable(w, res, rep)
			}
			if err != nil {
				return err
			}
			if record {
				if err := recordFindings(cmd.Context(), g, "threat-model", args, rep); err != nil {
					return fmt.Errorf("recording the open threats: %w", err)
				}
			}
			if rep.Fails(threshold) {
				return findings{msg: "the threat model has open threats"}
			}
			return nil
		},
	}
	lf.add(cmd)
	cmd.Flags().StringVar(&format, "format", "table", "table, json, sarif or html")
	cmd.Flags().StringVar(&failOn, "fail-on", "high", "fail (exit 1) on open threats of this severity or above")
	cmd.Flags().StringVar(&out, "out", "", "write the report here instead of standard output")
	cmd.Flags().StringSliceVar(&libs, "library", nil, "YAML files of threats that add to or replace the library's")
	cmd.Flags().BoolVar(&record, "record", false, "record the open threats by severity in the audit log (evidence for report kri)")
	return cmd
}

func writeThreatTable(w io.Writer, res *threat.Result, rep *finding.Report) error {
	fmt.Fprintf(w, "%s: %d threats apply: %d open, %d mitigated, %d accepted, %d false positives; %d undeclared flows\n\n",
		res.System, len(res.Threats), res.Open, res.Mitigated, res.Accepted, res.FalsePositive, len(res.Undeclared))
	return finding.WriteTable(w, rep)
}

func threatDiagram(g *globals) *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:   "diagram FILE [--format svg|mermaid|dot]",
		Short: "Draw a threat model's data flows inside its trust boundaries",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkFormat(format, "svg", "mermaid", "dot"); err != nil {
				return err
			}
			m, err := loadThreatModel(args[0])
			if err != nil {
				return err
			}
			switch format {
			case "mermaid":
				return diagram.Mermaid(g.stdout, m)
			case "dot":
				return diagram.DOT(g.stdout, m)
			}
			return diagram.SVG(g.stdout, m, nil)
		},
	}
	cmd.Flags().StringVar(&format, "format", "svg", "svg (laid out by modelgate), mermaid or dot")
	return cmd
}

func threatLibrary(g *globals) *cobra.Command {
	var libs []string
	cmd := &cobra.Command{
		Use:   "library [--library FILE]",
		Short: "List the threat library: ids, titles, OWASP and ATLAS mappings, mitigations",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			lib, err := library(libs)
			if err != nil {
				return err
			}
			return writeJSON(g.stdout, lib.Threats)
		},
	}
	cmd.Flags().StringSliceVar(&libs, "library", nil, "YAML files of threats that add to or replace the library's")
	return cmd
}

// threatModelGate checks, for the promotion gate, the threat model a
// model version refers to: against the library and the deployed state of
// the same data directory (and the gateway configuration, when given).
type threatModelGate struct {
	g     *globals
	flags liveFlags
}

func (t threatModelGate) CheckThreatModel(ctx context.Context, ref string) registry.ThreatModelCheck {
	fi, err := os.Stat(ref)
	if err != nil || !fi.Mode().IsRegular() {
		return registry.ThreatModelCheck{}
	}
	c := registry.ThreatModelCheck{Resolved: true, Open: map[string]int{}}
	m, err := loadThreatModel(ref)
	if err != nil {
		c.Error = err.Error()
		return c
	}
	lib, err := threat.DefaultLibrary()
	if err != nil {
		c.Error = err.Error()
		return c
	}
	st, err := t.flags.gather(ctx, t.g)
	if err != nil {
		c.Error = err.Error()
		return c
	}
	rep := threat.Check(m, lib, st, time.Now()).Report(ref)
	for sev, n := range rep.Summary.BySeverity {
		if s, err := finding.ParseSeverity(sev); err == nil && s >= finding.High && n > 0 {
			c.Open[sev] = n
		}
	}
	c.Passes = len(c.Open) == 0
	return c
}

// estateAssets reads the inventory snapshot the draft takes assets from:
// none when asked for none, or when there is no snapshot yet.
func estateAssets(ctx context.Context, g *globals, ref string, noLive bool) ([]threat.EstateAsset, error) {
	if ref == "none" || noLive {
		return nil, nil
	}
	if all, err := snapshots(ctx, g, false); err != nil || len(all) == 0 {
		if ref == "latest" {
			return nil, nil
		}
		if err == nil {
			err = usagef("--inventory %s: there are no inventory snapshots (modelgate inventory snapshot makes one)", ref)
		}
		return nil, err
	}
	inv, err := loadSnapshot(ctx, g, ref)
	if err != nil {
		return nil, err
	}
	var out []threat.EstateAsset
	for _, a := range inv.Assets {
		e := threat.EstateAsset{Kind: string(a.Kind), Name: a.Name, Path: a.Path}
		if a.Status != nil {
			e.Registered = a.Status.Registered
		}
		for _, c := range a.Columns {
			if len(c.Entities) > 0 {
				e.Personal = true
			}
		}
		out = append(out, e)
	}
	return out, nil
}
