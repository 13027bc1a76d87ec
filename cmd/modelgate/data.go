package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"slices"
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
	"github.com/parquet-go/parquet-go"
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
			} else {
				printValidation(g.stdout, args[0], rep)
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

func printValidation(w io.Writer, path string, rep *contract.Report) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "RESULT\tCOLUMN\tRULE\tOBSERVED\tEXPECTED\tFAILING ROWS (LINE: VALUE)")
	failed := 0
	for _, r := range rep.Results {
		verdict := "pass"
		if !r.Pass {
			verdict = "FAIL"
			failed++
		}
		var sample []string
		for _, f := range r.Sample {
			s := fmt.Sprintf("%d", f.Line)
			if f.Value != "" {
				s += ": " + f.Value
			} else if f.Reason != "" {
				s += ": " + f.Reason
			}
			sample = append(sample, s)
		}
		col := r.Column
		if col == "" {
			col = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", verdict, col, r.Rule, strconvG(r.Observed), r.Expected, strings.Join(sample, "; "))
	}
	tw.Flush()
	fmt.Fprintf(w, "\n%s: %d rows, %d rules, %d failed\n", path, rep.Rows, len(rep.Results), failed)
}

func strconvG(f float64) string {
	if f == float64(int64(f)) {
		return fmt.Sprintf("%d", int64(f))
	}
	return fmt.Sprintf("%.4g", f)
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
			n, err := maskTable(r, args[0], out, actions, m)
			if err != nil {
				return err
			}
			var names []string
			for c, a := range actions {
				names = append(names, c+"="+a)
			}
			sort.Strings(names)
			fmt.Fprintf(g.stdout, "%s: %d rows written to %s; masked: %s\n", args[0], n, out, strings.Join(names, ", "))
			return nil
		},
	}
	cmd.Flags().StringVar(&out, "out", "", "where to write the masked copy")
	cmd.Flags().StringSliceVar(&columns, "columns", nil, "COL=ACTION pairs (redact, hash, generalise, drop, entities)")
	cmd.Flags().BoolVar(&auto, "auto", false, "choose actions from a classification of the columns")
	cmd.Flags().StringVar(&keyEnv, "key-env", "", "environment variable holding the pseudonym key (≥ 16 bytes)")
	return cmd
}

// maskTable writes the masked copy: rows that cannot be read are left out
// and counted as an error, never copied unmasked.
func maskTable(r table.Reader, in, out string, actions map[string]string, m *mask.Masker) (int64, error) {
	cols := r.Columns()
	for c := range actions {
		if !slices.Contains(cols, c) {
			return 0, usagef("%s has no column %q", in, c)
		}
	}
	var keep []int
	var outCols []string
	for i, c := range cols {
		if actions[c] != mask.Drop {
			keep = append(keep, i)
			outCols = append(outCols, c)
		}
	}
	format, _ := table.Format(in)
	f, err := os.Create(out)
	if err != nil {
		return 0, usageError{err}
	}
	defer f.Close()
	comma := ','
	if strings.HasSuffix(strings.ToLower(in), ".tsv") {
		comma = '\t'
	}
	var w table.Writer
	if pr, ok := r.(*table.ParquetReader); ok {
		// Masked columns become strings; the others keep their types.
		var kinds []parquet.Kind
		for _, i := range keep {
			k := pr.Kinds()[i]
			if a := actions[cols[i]]; a != "" {
				k = parquet.ByteArray
			}
			kinds = append(kinds, k)
		}
		w, err = table.NewParquetWriter(f, outCols, kinds)
	} else {
		w, err = table.NewWriter(f, format, outCols, comma)
	}
	if err != nil {
		return 0, err
	}
	vals := make([]table.Value, len(keep))
	var n, broken int64
	err = table.Each(r, func(row *table.Row) error {
		for k, i := range keep {
			v := row.Values[i]
			if a := actions[cols[i]]; a != "" && !v.Null {
				text, err := m.Apply(a, v.Text)
				if err != nil {
					return err
				}
				v = table.Value{Text: text}
			}
			vals[k] = v
		}
		if err := w.Write(vals); err != nil {
			return err
		}
		n++
		return nil
	}, func(*table.RowError) { broken++ })
	if err != nil {
		return n, err
	}
	if err := w.Flush(); err != nil {
		return n, err
	}
	if broken > 0 {
		return n, fmt.Errorf("%d rows of %s could not be read and were left out of %s", broken, in, out)
	}
	return n, f.Close()
}

// loadProfile reads a baseline written by data profile.
func loadProfile(path string) (*profile.Profile, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, usageError{err}
	}
	p := new(profile.Profile)
	if err := json.Unmarshal(b, p); err != nil || p.Version != 1 {
		return nil, usagef("%s is not a profile written by data profile (%v)", path, err)
	}
	return p, nil
}

func writeIndentedJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func profileFile(path string) (*profile.Profile, error) {
	r, err := openTable(path)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	p, err := profile.Build(r)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return p, nil
}

func dataProfile(g *globals) *cobra.Command {
	var out string
	cmd := &cobra.Command{
		Use:   "profile DATA --out BASELINE.json",
		Short: "Summarise a dataset as a baseline for drift checks",
		Long: `Profile a CSV, TSV or JSON-lines file column by column: kind, count,
nulls, distinct values (HyperLogLog), quantiles (t-digest), a histogram,
categories and their counts, and a uniform sample of numeric values. The
profile keeps what "data drift" needs, so the reference data is not needed
when drift is checked.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if out == "" {
				return usagef("--out is required")
			}
			p, err := profileFile(args[0])
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
			return nil
		},
	}
	cmd.Flags().StringVar(&out, "out", "", "where to write the profile (JSON)")
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
			cur, err := profileFile(args[0])
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
				if err := writeDriftHTML(g.stdout, ref, cur, rep); err != nil {
					return err
				}
			default:
				tw := tabwriter.NewWriter(g.stdout, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "COLUMN\tMETHOD\tSTATISTIC\tTHRESHOLD\tDRIFT")
				for _, c := range rep.Columns {
					d := "no"
					if c.Drift {
						d = "DRIFT"
					}
					if c.Note != "" {
						d += " (" + c.Note + ")"
					}
					fmt.Fprintf(tw, "%s\t%s\t%.4g\t%g\t%s\n", c.Column, c.Method, c.Statistic, c.Threshold, d)
				}
				tw.Flush()
				fmt.Fprintf(g.stdout, "\n%d of %d columns drifted (%.0f%%): dataset drift %v\n", rep.Drifted, rep.Compared, 100*rep.Share, rep.DatasetDrift)
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
			p, err := profileFile(args[0])
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
			} else {
				fmt.Fprintf(g.stdout, "%s: %d rows; numeric columns: %s\n\nmost anomalous rows (Isolation Forest score; above 0.6 is unusual):\n", args[0], rep.Rows, strings.Join(rep.Numeric, ", "))
				for _, t := range rep.Top {
					fmt.Fprintf(g.stdout, "  line %-8d %.3f\n", t.Line, t.Score)
				}
				fmt.Fprintln(g.stdout, "\nvalues beyond a robust z-score of 3.5:")
				for _, c := range rep.Columns {
					fmt.Fprintf(g.stdout, "  %-20s %d (worst: line %d, z %.3g)\n", c.Column, c.Count, c.Worst.Line, c.Worst.Score)
				}
				pz := rep.Poisoning
				fmt.Fprintf(g.stdout, "\npoisoning signs: exact duplicates %.2f%%, near duplicates %.2f%%", 100*pz.ExactDuplicates, 100*pz.NearDuplicates)
				if base != nil {
					fmt.Fprintf(g.stdout, ", far outside the baseline %.2f%%", 100*pz.FarOutside)
				}
				if pz.Label != "" {
					fmt.Fprintf(g.stdout, ", label %s shift %.3f", pz.Label, pz.LabelShift)
				}
				fmt.Fprintln(g.stdout)
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
