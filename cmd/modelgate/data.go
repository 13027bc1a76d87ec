package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/modelgate/modelgate/datacheck/classify"
	"github.com/modelgate/modelgate/datacheck/contract"
	"github.com/modelgate/modelgate/datacheck/drift"
	"github.com/modelgate/modelgate/datacheck/mask"
	"github.com/modelgate/modelgate/datacheck/outlier"
	"github.com/modelgate/modelgate/datacheck/profile"
	"github.com/modelgate/modelgate/datacheck/table"
	"github.com/spf13/cobra"
)

func newData(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "data", Short: "Check training and evaluation data"}
	cmd.AddCommand(dataValidate(g), dataScan(g), dataMask(g), dataProfile(g), dataDrift(g), dataOutliers(g))
	return cmd
}

// openTable opens a data file by its extension; a file that cannot be
// opened as data is a usage error.
func openTable(path string) (table.Reader, error) {
	r, err := table.Open(path)
	if err != nil {
		return nil, usageError{err}
	}
	return r, nil
}

func dataValidate(g *globals) *cobra.Command {
	var contractPath, format string
	cmd := &cobra.Command{
		Use:   "validate --contract CONTRACT.yaml DATA [--format table|json]",
		Short: "Check data against a data contract (ODCS v3)",
		Long: `Stream a CSV, TSV or JSON-lines file through the rules of a data contract in
the Open Data Contract Standard v3: types, required, unique, pattern, valid
values, ranges, and the quality metrics nullValues, missingValues,
invalidValues, duplicateValues and rowCount. Each rule reports pass or
fail, the observed value and a sample of failing rows with their line
numbers; lines that cannot be read are a failing rule of their own.

Exit status: 0 every rule passes, 1 a rule fails, 2 bad usage, contract or file.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if contractPath == "" {
				return usagef("--contract is required")
			}
			if format != "table" && format != "json" {
				return usagef("--format must be table or json, got %q", format)
			}
			c, err := contract.Load(contractPath)
			if err != nil {
				return usageError{err}
			}
			r, err := openTable(args[0])
			if err != nil {
				return err
			}
			defer r.Close()
			rep, err := contract.Validate(c, r)
			if err != nil {
				return fmt.Errorf("%s: %w", args[0], err)
			}
			if format == "json" {
				if err := writeIndentedJSON(g.stdout, rep); err != nil {
					return err
				}
			} else if err := rep.WriteText(g.stdout, args[0]); err != nil {
				return err
			}
			if !rep.Pass {
				return findings{msg: "the data breaks its contract"}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&contractPath, "contract", "", "data contract (ODCS v3 YAML)")
	cmd.Flags().StringVar(&format, "format", "table", "table or json")
	return cmd
}

func dataScan(g *globals) *cobra.Command {
	var format string
	var maxRows int64
	cmd := &cobra.Command{
		Use:   "scan DATA [--format table|json] [--max-rows N]",
		Short: "Find personal data and credentials in a dataset, column by column",
		Long: `Read a CSV, TSV or JSON-lines file and report, per column, the share of
values matching each personal-data and credential entity (the detectors of
the runtime guards), a verdict per column (credential, pii or none) and the
dataset's classification. Values are never printed: examples are line
numbers.

Exit status: 0 nothing found, 1 personal data or credentials found, 2 bad usage or file.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if format != "table" && format != "json" {
				return usagef("--format must be table or json, got %q", format)
			}
			r, err := openTable(args[0])
			if err != nil {
				return err
			}
			defer r.Close()
			rep, err := classify.Scan(r, maxRows)
			if err != nil {
				return fmt.Errorf("%s: %w", args[0], err)
			}
			if format == "json" {
				if err := writeIndentedJSON(g.stdout, rep); err != nil {
					return err
				}
			} else {
				tw := tabwriter.NewWriter(g.stdout, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "COLUMN\tVERDICT\tVALUES\tENTITIES (SHARE OF VALUES)\tEXAMPLE LINES")
				for _, c := range rep.Columns {
					var es []string
					for e, share := range c.Entities {
						es = append(es, fmt.Sprintf("%s %.1f%%", e, 100*share))
					}
					sort.Strings(es)
					var ls []string
					for _, l := range c.Lines {
						ls = append(ls, fmt.Sprint(l))
					}
					fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\n", c.Name, c.Verdict, c.Values, strings.Join(es, ", "), strings.Join(ls, ", "))
				}
				tw.Flush()
				fmt.Fprintf(g.stdout, "\n%s: %d rows scanned, %d unreadable; classification: %s\n", args[0], rep.Rows, rep.RowErrors, rep.Verdict)
			}
			if rep.Verdict != classify.VerdictNone {
				return findings{msg: "the data holds " + rep.Verdict}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&format, "format", "table", "table or json")
	cmd.Flags().Int64Var(&maxRows, "max-rows", 0, "scan at most this many rows (0: all)")
	return cmd
}

func dataMask(g *globals) *cobra.Command {
	var out, keyEnv string
	var columns []string
	var auto bool
	cmd := &cobra.Command{
		Use:   "mask DATA --out OUT [--columns COL=ACTION,...] [--auto] [--key-env NAME]",
		Short: "De-identify a dataset column by column",
		Long: `Write a copy of a CSV, TSV or JSON-lines file with columns masked, in the
same format. Actions: redact (REDACTED), hash (a keyed HMAC-SHA-256
pseudonym, the same for the same value in every file masked with the same
key; the key comes from --key-env), generalise (dates to their year,
postcodes to their district), drop (remove the column), entities (redact
the personal data and credentials found inside the text).

--auto classifies the columns first (as data scan does) and chooses:
credential columns are redacted; columns whose values are personal data
(an email, a phone number) are hashed, or redacted without a key; columns
of text that mentions personal data get entities. --columns overrides --auto for the columns it names.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if out == "" {
				return usagef("--out is required")
			}
			if len(columns) == 0 && !auto {
				return usagef("give --columns COL=ACTION,... or --auto")
			}
			m := &mask.Masker{}
			if keyEnv != "" {
				if m.Key = []byte(os.Getenv(keyEnv)); len(m.Key) < 16 {
					return usagef("environment variable %s must hold a key of at least 16 bytes", keyEnv)
				}
			}
			actions := map[string]string{}
			if auto {
				r, err := openTable(args[0])
				if err != nil {
					return err
				}
				rep, err := classify.Scan(r, 10000)
				r.Close()
				if err != nil {
					return err
				}
				for _, c := range rep.Columns {
					switch {
					case c.Verdict == classify.VerdictCredential:
						actions[c.Name] = mask.Redact
					case c.Verdict == classify.VerdictPII && c.Whole >= 0.5 && m.Key != nil:
						actions[c.Name] = mask.Hash
					case c.Verdict == classify.VerdictPII && c.Whole >= 0.5:
						actions[c.Name] = mask.Redact
					case len(c.Entities) > 0:
						actions[c.Name] = mask.Entities
					}
				}
			}
			for _, spec := range columns {
				col, action, ok := strings.Cut(spec, "=")
				if !ok || !mask.Valid(action) {
					return usagef("--columns %q: want COL=ACTION with ACTION one of redact, hash, generalise, drop, entities", spec)
				}
				if action == mask.Hash && m.Key == nil {
					return usagef("the hash action needs --key-env")
				}
				actions[col] = action
			}
			r, err := openTable(args[0])
			if err != nil {
				return err
			}
			defer r.Close()
			res, err := mask.File(r, args[0], out, actions, m)
			if errors.Is(err, mask.ErrNoColumn) {
				return usageError{err}
			}
			if err != nil {
				return err
			}
			n := res.Rows
			var names []string
			for c, a := range actions {
				names = append(names, c+"="+a)
			}
			sort.Strings(names)
			fmt.Fprintf(g.stdout, "%s: %d rows written to %s; masked: %s\n", args[0], n, out, strings.Join(names, ", "))
			if res.Unreadable != nil {
				profile.WriteUnreadable(g.stdout, res.Unreadable)
				return fmt.Errorf("%d rows of %s could not be read and were left out of %s", res.Unreadable.Count, args[0], out)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&out, "out", "", "where to write the masked copy")
	cmd.Flags().StringSliceVar(&columns, "columns", nil, "COL=ACTION pairs (redact, hash, generalise, drop, entities)")
	cmd.Flags().BoolVar(&auto, "auto", false, "choose actions from a classification of the columns")
	cmd.Flags().StringVar(&keyEnv, "key-env", "", "environment variable holding the pseudonym key (≥ 16 bytes)")
	return cmd
}

func writeIndentedJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// profileFile profiles a data file; a file that cannot be opened as data
// is a usage error.
// profileFile profiles a data file, or with a text column the text
// features of that column.
func profileFile(path, textColumn string) (*profile.Profile, error) {
	var p *profile.Profile
	var err error
	if textColumn != "" {
		p, err = profile.TextFile(path, textColumn)
	} else {
		p, err = profile.File(path)
	}
	if errors.Is(err, table.ErrFormat) || errors.Is(err, os.ErrNotExist) || errors.Is(err, profile.ErrNoColumn) {
		return nil, usageError{err}
	}
	return p, err
}

// loadProfile reads a baseline written by data profile.
func loadProfile(path string) (*profile.Profile, error) {
	p, err := profile.Load(path)
	if err != nil {
		return nil, usageError{err}
	}
	return p, nil
}

func dataProfile(g *globals) *cobra.Command {
	var out, text string
	cmd := &cobra.Command{
		Use:   "profile DATA --out BASELINE.json [--text COLUMN]",
		Short: "Summarise a dataset as a baseline for drift checks",
		Long: `Profile a CSV, TSV or JSON-lines file column by column: kind, count,
nulls, distinct values (HyperLogLog), quantiles (t-digest), a histogram,
categories and their counts, and a uniform sample of numeric values. The
profile keeps what "data drift" needs, so the reference data is not needed
when drift is checked.

--text COLUMN profiles the text features of a column of prompts instead
(length, words, character classes, script, share of English function
words): the baseline of a chat route's live drift watch
(monitoring.drift in the gateway's configuration).`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if out == "" {
				return usagef("--out is required")
			}
			p, err := profileFile(args[0], text)
			if err != nil {
				return err
			}
			b, err := json.Marshal(p)
			if err != nil {
				return err
			}
			if err := os.WriteFile(out, b, 0o644); err != nil {
				return usageError{err}
			}
			fmt.Fprintf(g.stdout, "%s: %d rows, %d columns profiled into %s\n", args[0], p.Rows, len(p.Columns), out)
			return profile.WriteUnreadable(g.stdout, p.Unreadable)
		},
	}
	cmd.Flags().StringVar(&out, "out", "", "where to write the profile (JSON)")
	cmd.Flags().StringVar(&text, "text", "", "profile the text features of this column of prompts")
	return cmd
}

func dataDrift(g *globals) *cobra.Command {
	var baseline, format string
	var methods []string
	cmd := &cobra.Command{
		Use:   "drift --baseline BASELINE.json DATA [--format table|json|html] [--method COL=METHOD ...]",
		Short: "Test a dataset for drift against a baseline profile",
		Long: `Compare a dataset with a baseline from "data profile", column by column,
with Evidently's defaults: for a reference of at most 1,000 rows the
Kolmogorov-Smirnov test (numeric, more than 5 values), chi-square
(categorical, or numeric with 3-5 values) or a two-proportion z-test
(binary), drift when p < 0.05; for larger references the Wasserstein
distance over the reference's standard deviation (numeric) or the
Jensen-Shannon distance (categorical), drift at 0.1. --method chooses per
column: ks, chisquare, z, wasserstein, jensenshannon or psi. The dataset
drifts when half its columns do.

Exit status: 0 no dataset drift, 1 dataset drift, 2 bad usage or file.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if baseline == "" {
				return usagef("--baseline is required")
			}
			if format != "table" && format != "json" && format != "html" {
				return usagef("--format must be table, json or html, got %q", format)
			}
			chosen := map[string]string{}
			for _, m := range methods {
				col, method, ok := strings.Cut(m, "=")
				if !ok {
					return usagef("--method %q: want COL=METHOD", m)
				}
				chosen[col] = method
			}
			ref, err := loadProfile(baseline)
			if err != nil {
				return err
			}
			cur, err := profileFile(args[0], ref.Source) // a baseline of text features is compared with the same column's
			if err != nil {
				return err
			}
			rep, err := drift.Compare(ref, cur, chosen)
			if err != nil {
				return usageError{err}
			}
			switch format {
			case "json":
				if err := writeIndentedJSON(g.stdout, rep); err != nil {
					return err
				}
			case "html":
				if err := drift.WriteHTML(g.stdout, ref, cur, rep); err != nil {
					return err
				}
			default:
				if err := rep.WriteTable(g.stdout, cur); err != nil {
					return err
				}
			}
			if rep.DatasetDrift {
				return findings{msg: "the dataset drifted from its baseline"}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&baseline, "baseline", "", "profile written by data profile")
	cmd.Flags().StringVar(&format, "format", "table", "table, json or html")
	cmd.Flags().StringSliceVar(&methods, "method", nil, "COL=METHOD (ks, chisquare, z, wasserstein, jensenshannon, psi)")
	return cmd
}

// Poisoning thresholds: beyond these the outliers command exits 1.
const (
	maxDuplicateRate = 0.01
	maxFarOutside    = 0.01
	maxLabelShift    = 0.1
)

func dataOutliers(g *globals) *cobra.Command {
	var baseline, label, format string
	var top int
	cmd := &cobra.Command{
		Use:   "outliers DATA [--baseline BASELINE.json] [--label COL] [--top N] [--format table|json]",
		Short: "Find anomalous rows and signs of poisoning",
		Long: `Score every row of a dataset with an Isolation Forest (100 trees, 256
samples) over its numeric columns and list the most anomalous; count each
numeric column's values beyond a robust z-score of 3.5 (median and MAD);
and report the signs of poisoning: the rate of exact and near-duplicate
rows, and, against a baseline from "data profile", the share of rows far
outside it and the shift of the label's distribution (Jensen-Shannon).

Exit status: 0 no sign of poisoning; 1 duplicates or far-outside rows above
1%, or a label shift of 0.1 or more; 2 bad usage or file.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if format != "table" && format != "json" {
				return usagef("--format must be table or json, got %q", format)
			}
			var base *profile.Profile
			if baseline != "" {
				var err error
				if base, err = loadProfile(baseline); err != nil {
					return err
				}
			}
			p, err := profileFile(args[0], "")
			if err != nil {
				return err
			}
			r, err := openTable(args[0])
			if err != nil {
				return err
			}
			defer r.Close()
			rep, err := outlier.Analyse(r, p, base, label, top)
			if err != nil {
				return fmt.Errorf("%s: %w", args[0], err)
			}
			if format == "json" {
				if err := writeIndentedJSON(g.stdout, rep); err != nil {
					return err
				}
			} else if err := rep.WriteText(g.stdout, args[0], base != nil); err != nil {
				return err
			}
			pz := rep.Poisoning
			if pz.ExactDuplicates > maxDuplicateRate || pz.FarOutside > maxFarOutside || pz.LabelShift >= maxLabelShift {
				return findings{msg: "the data shows signs of poisoning"}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&baseline, "baseline", "", "profile of trusted data (from data profile)")
	cmd.Flags().StringVar(&label, "label", "", "the label column, to compare its distribution with the baseline's")
	cmd.Flags().IntVar(&top, "top", 10, "how many anomalous rows to list")
	cmd.Flags().StringVar(&format, "format", "table", "table or json")
	return cmd
}
