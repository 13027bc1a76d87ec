package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/modelgate/modelgate/access"
	"github.com/modelgate/modelgate/config"
	"github.com/modelgate/modelgate/kri"
)

func newReport(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "report", Short: "Reports for people who decide: key risk indicators"}
	cmd.AddCommand(reportKRI(g))
	return cmd
}

// kriFlags are what a KRI report is computed over.
type kriFlags struct {
	since, period        string
	config               string
	perRecord, perBreach float64
	compare, format, out string
}

func reportKRI(g *globals) *cobra.Command {
	var f kriFlags
	cmd := &cobra.Command{
		Use:   "kri [--since 30d] [--format html|json|md] [--out FILE] [--compare EARLIER.json] [--config modelgate.yaml]",
		Short: "Compute key risk indicators from the evidence and report them",
		Long: `Compute key risk indicators from what modelgate has recorded: mean times
to detect and respond (alerts, incidents, drift, revoking abused keys),
the share of models signed, scanned, threat-modelled and behind guarded
routes, the share of model files found that are governed, open critical
and high findings, the red-team pass rate by OWASP LLM category over
time, guard block rates, negative feedback per model version, and an
exposure estimate. Each indicator carries its definition and source.

The HTML report is one self-contained page (inline SVG charts). With
--compare and an earlier JSON report, it says what changed. --config
names the gateway configuration, for which routes have guards.

The exposure estimate prices each dataset holding personal data as one
breach at USD 4.44 million (IBM Cost of a Data Breach Report 2025, the
global average), or, with --cost-per-record, each record of personal
data found at that price.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkFormat(f.format, "html", "json", "md"); err != nil {
				return err
			}
			r, err := f.report(cmd.Context(), g)
			if err != nil {
				return err
			}
			if f.compare != "" {
				b, err := os.ReadFile(f.compare)
				if err != nil {
					return usageError{fmt.Errorf("--compare: %w", err)}
				}
				var before kri.Report
				if err := json.Unmarshal(b, &before); err != nil {
					return usageError{fmt.Errorf("--compare %s: not a JSON KRI report: %w", f.compare, err)}
				}
				r.Changes = kri.Compare(&before, r)
			}
			w, closeOut, err := output(g, f.out)
			if err != nil {
				return err
			}
			switch f.format {
			case "json":
				enc := json.NewEncoder(w)
				enc.SetIndent("", "  ")
				err = enc.Encode(r)
			case "md":
				err = r.WriteMarkdown(w)
			default:
				err = r.WriteHTML(w)
			}
			if cerr := closeOut(); err == nil {
				err = cerr
			}
			return err
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.since, "since", "30d", "the period reported on: 30d, 12w, 24h")
	fl.StringVar(&f.period, "period", "1d", "the step of the trends: 1d or 7d")
	fl.StringVar(&f.config, "config", "", "the gateway configuration (which routes have guards)")
	fl.Float64Var(&f.perRecord, "cost-per-record", 0, "USD per record of personal data at risk (default: one breach per dataset)")
	fl.Float64Var(&f.perBreach, "cost-per-breach", kri.DefaultBreachUSD, "USD per breach")
	fl.StringVar(&f.compare, "compare", "", "an earlier JSON report, to say what changed")
	fl.StringVar(&f.format, "format", "html", "html, json or md")
	fl.StringVar(&f.out, "out", "", "write to this file (default: standard output)")
	return cmd
}

// report gathers the evidence of the data directory (or the shared
// PostgreSQL) and computes the indicators.
func (f *kriFlags) report(ctx context.Context, g *globals) (*kri.Report, error) {
	since, err := access.ParseTTL(f.since)
	if err != nil {
		return nil, usagef("--since %q: %v", f.since, err)
	}
	period, err := access.ParseTTL(f.period)
	if err != nil || period < time.Hour {
		return nil, usagef("--period %q: want a step of an hour or more, such as 1d or 7d", f.period)
	}
	if f.perRecord < 0 || f.perBreach <= 0 {
		return nil, usagef("costs must be positive")
	}
	src := kri.Sources{Now: time.Now(), Period: period, Costs: kri.Costs{PerRecordUSD: f.perRecord, PerBreachUSD: f.perBreach}}
	src.Since = src.Now.Add(-since)
	if f.config != "" {
		cfg, err := config.LoadWith(f.config, config.Options{Offline: true, InsecurePlaintext: true})
		if err != nil {
			return nil, usageError{err}
		}
		src.Config = cfg
	}
	st, _, done, err := openLocal(ctx, g)
	if err != nil {
		return nil, err
	}
	defer done()
	src.Registry = st
	if src.Config != nil {
		if src.Routes, err = st.ListRoutes(ctx); err != nil {
			return nil, err
		}
		if len(src.Routes) == 0 {
			src.Routes = nil // the configuration's routes
		}
	}
	adb, err := auditFiles(ctx, g)
	if err != nil {
		return nil, err
	}
	defer adb.Close()
	src.Audit = adb
	return kri.Gather(ctx, src)
}
