package main

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/modelgate/modelgate/redteam"
	"github.com/modelgate/modelgate/redteam/classifier"
	"github.com/spf13/cobra"
)

var classifierAttacks = []string{"hopskipjump", "simba", "membership", "extraction"}

// clfFlags point the classifier attacks at a target.
type clfFlags struct {
	attacks                      []string
	budget, count                int
	samples, members, nonMembers string
	labelColumn                  string
	epsilon                      float64
	maxWait                      time.Duration
	seed                         uint64
}

func (f *clfFlags) register(cmd *cobra.Command, budgetFlag string) {
	cmd.Flags().StringSliceVar(&f.attacks, "attack", classifierAttacks, "attacks to run: hopskipjump, simba, membership, extraction")
	cmd.Flags().IntVar(&f.budget, budgetFlag, 10000, "queries each attack may spend (all samples together)")
	cmd.Flags().IntVar(&f.count, "count", 10, "how many samples the evasion attacks attack")
	cmd.Flags().StringVar(&f.samples, "samples", "", "CSV of inputs like the model's traffic (a header row; numeric feature columns, an optional label column): the inputs to evade, the feature ranges, the extraction's query distribution")
	cmd.Flags().StringVar(&f.members, "members", "", "CSV of records the model was trained on, with labels (membership inference)")
	cmd.Flags().StringVar(&f.nonMembers, "non-members", "", "CSV of records it was not trained on, with labels (membership inference)")
	cmd.Flags().StringVar(&f.labelColumn, "label-column", "label", "the CSV column holding the true class")
	cmd.Flags().Float64Var(&f.epsilon, "epsilon", 0.2, "the largest L2 perturbation, on features scaled to [0,1] by their ranges, that counts as an evasion")
	cmd.Flags().DurationVar(&f.maxWait, "max-wait", time.Minute, "how long each attack waits out rate limits in all before it stops")
	cmd.Flags().Uint64Var(&f.seed, "seed", 1, "seed of the attacks' random choices")
}

// clfData is what the CSV files hold.
type clfData struct {
	samples             [][]float64
	members, nonMembers []classifier.Labeled
	bounds              classifier.Bounds
}

func (f *clfFlags) load() (*clfData, error) {
	for _, a := range f.attacks {
		if !slices.Contains(classifierAttacks, a) {
			return nil, usagef("--attack: unknown attack %q (want %s)", a, strings.Join(classifierAttacks, ", "))
		}
	}
	if f.budget < 2 || f.count < 1 || f.epsilon <= 0 {
		return nil, usagef("the budget must be at least 2, --count at least 1 and --epsilon above 0")
	}
	d := &clfData{}
	var all [][]float64
	if f.samples != "" {
		rows, _, err := readRecords(f.samples, f.labelColumn, false)
		if err != nil {
			return nil, err
		}
		d.samples, all = rows, rows
	}
	if slices.Contains(f.attacks, "membership") {
		if f.members == "" || f.nonMembers == "" {
			return nil, usagef("membership inference needs --members and --non-members (or leave it out of --attack)")
		}
		for _, set := range []struct {
			path string
			to   *[]classifier.Labeled
		}{{f.members, &d.members}, {f.nonMembers, &d.nonMembers}} {
			rows, labels, err := readRecords(set.path, f.labelColumn, true)
			if err != nil {
				return nil, err
			}
			for i, x := range rows {
				*set.to = append(*set.to, classifier.Labeled{X: x, Y: labels[i]})
			}
			all = append(all, rows...)
		}
	}
	if d.samples == nil {
		for _, m := range d.members {
			d.samples = append(d.samples, m.X)
		}
	}
	if len(all) == 0 {
		return nil, usagef("--samples is required: the attacks need inputs to start from and the features' ranges")
	}
	var err error
	if d.bounds, err = classifier.BoundsOf(all); err != nil {
		return nil, usageError{err}
	}
	return d, nil
}

// readRecords reads a CSV of numeric features with a header row; the
// label column, when present, is the true class (required when
// needLabels).
func readRecords(path, labelColumn string, needLabels bool) ([][]float64, []int, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, nil, usageError{err}
	}
	defer fh.Close()
	r := csv.NewReader(fh)
	head, err := r.Read()
	if err != nil {
		return nil, nil, usagef("%s: no header row: %v", path, err)
	}
	label := slices.Index(head, labelColumn)
	if needLabels && label < 0 {
		return nil, nil, usagef("%s: no %q column with the true class", path, labelColumn)
	}
	var (
		rows   [][]float64
		labels []int
	)
	for line := 2; ; line++ {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, nil, usagef("%s: %v", path, err)
		}
		var x []float64
		for i, v := range rec {
			n, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			if err != nil || math.IsNaN(n) || math.IsInf(n, 0) {
				return nil, nil, usagef("%s:%d: column %q: %q is not a finite number", path, line, head[i], v)
			}
			if i == label {
				if n != math.Trunc(n) || n < 0 || n > 1e6 {
					return nil, nil, usagef("%s:%d: the label %q is not a class number", path, line, v)
				}
				labels = append(labels, int(n))
				continue
			}
			x = append(x, n)
		}
		rows = append(rows, x)
		if len(rows) > 1_000_000 {
			return nil, nil, usagef("%s: more than a million rows", path)
		}
	}
	if len(rows) == 0 {
		return nil, nil, usagef("%s: no rows", path)
	}
	return rows, labels, nil
}

// clfResult is every attack's outcome against one target.
type clfResult struct {
	Target     string                       `json:"target"`
	Model      string                       `json:"model"`
	HSJ        *classifier.EvasionResult    `json:"hopskipjump,omitempty"`
	SimBA      *classifier.EvasionResult    `json:"simba,omitempty"`
	Membership *classifier.MembershipResult `json:"membership,omitempty"`
	Extraction *classifier.ExtractionResult `json:"extraction,omitempty"`
	// Stopped names the attacks a rate limit stopped before they could
	// report anything.
	Stopped   map[string]string `json:"stopped,omitempty"`
	Requests  int               `json:"http_requests"`
	Throttled int               `json:"throttled"`
	Waited    time.Duration     `json:"waited_ns"`
}

// attack runs the chosen attacks against one model. reference, when not
// nil, is the same model without controls: the extraction's copy is
// measured against it.
func (f *clfFlags) attack(ctx context.Context, d *clfData, target, model, key string, reference classifier.Oracle) (*clfResult, *classifier.KServe, error) {
	k := &classifier.KServe{URL: target, Model: model, Key: key, MaxWait: f.maxWait}
	meta, err := k.Describe(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", model, err)
	}
	if meta.Features > 0 && meta.Features != len(d.bounds.Lo) {
		return nil, nil, usagef("%s takes %d features; the CSV rows have %d", model, meta.Features, len(d.bounds.Lo))
	}
	res := &clfResult{Target: target, Model: model}
	samples := d.samples[:min(f.count, len(d.samples))]
	opt := classifier.EvasionOptions{Budget: f.budget, Epsilon: f.epsilon, Seed: f.seed}
	for _, a := range f.attacks {
		k.NewAttack()
		switch a {
		case "hopskipjump":
			res.HSJ, err = classifier.HopSkipJump(ctx, k, samples, d.bounds, opt)
		case "simba":
			res.SimBA, err = classifier.SimBA(ctx, k, samples, d.bounds, opt)
		case "membership":
			res.Membership, err = classifier.Membership(ctx, k, d.members, d.nonMembers, d.bounds, classifier.MembershipOptions{Seed: f.seed})
		case "extraction":
			res.Extraction, err = classifier.Extract(ctx, k, d.bounds, classifier.ExtractionOptions{Budget: f.budget, Samples: d.samples, Seed: f.seed, Reference: reference})
		}
		if errors.Is(err, classifier.ErrThrottled) {
			if res.Stopped == nil {
				res.Stopped = map[string]string{}
			}
			res.Stopped[a], err = "stopped by the rate limit before it could measure anything", nil
		}
		if err != nil {
			return nil, nil, fmt.Errorf("%s against %s: %w", a, model, err)
		}
	}
	res.Requests, res.Throttled, res.Waited = k.Requests, k.Throttled, k.Waited
	return res, k, nil
}

func redteamClassifier(g *globals) *cobra.Command {
	var (
		f                             clfFlags
		target, model, keyEnv, format string
	)
	cmd := &cobra.Command{
		Use:   "classifier --target URL --model NAME --samples CSV [--attack ...] [--budget N] [--format table|json]",
		Short: "Attack a KServe v2 classifier: evasion, membership inference, extraction, each within a query budget",
		Long: `Attack a classifier served over KServe v2 (through the gateway, or directly)
with nothing but queries, each attack within --budget queries:

  hopskipjump  evasion from labels alone (HopSkipJump): success rate at the
               budget, median L2 and L-infinity perturbation, median queries
               to the first success
  simba        evasion following the scores (SimBA); not applicable when the
               endpoint returns labels only
  membership   label-only membership inference, calibrated on --members and
               --non-members, measured on records held out from calibration
  extraction   a copy trained on the model's answers: its agreement with the
               model at budgets up to --budget

Perturbations are measured on features scaled to [0,1] by their ranges in
the CSV files. Rate limits (429 with Retry-After) are waited out for up to
--max-wait in all; then the attack stops and says so.

Exit status: 0 done, 2 bad usage, 3 the target could not be attacked.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkFormat(format, "table", "json"); err != nil {
				return err
			}
			if target == "" || model == "" {
				return usagef("--target and --model are required")
			}
			d, err := f.load()
			if err != nil {
				return err
			}
			key, err := envKey(keyEnv, "--key-env")
			if err != nil {
				return err
			}
			res, _, err := f.attack(cmd.Context(), d, target, model, key, nil)
			if err != nil {
				return err
			}
			if format == "json" {
				return writeJSON(g.stdout, res)
			}
			return writeClassifierTable(g.stdout, res)
		},
	}
	f.register(cmd, "budget")
	cmd.Flags().StringVar(&target, "target", "", "the KServe v2 server root: the gateway's http://host:port")
	cmd.Flags().StringVar(&model, "model", "", "the model to attack")
	cmd.Flags().StringVar(&keyEnv, "key-env", "", "environment variable holding the API key to send")
	cmd.Flags().StringVar(&format, "format", "table", "table or json")
	return cmd
}

func writeClassifierTable(w io.Writer, r *clfResult) error {
	fmt.Fprintf(w, "classifier %s at %s: %d HTTP requests, %d rate-limited, %s waited\n\n", r.Model, r.Target, r.Requests, r.Throttled, r.Waited.Round(time.Millisecond))
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ATTACK\tRESULT")
	for _, row := range classifierMeasures(r) {
		fmt.Fprintf(tw, "%s\t%s: %s\n", row.Attack, row.Measure, row.Off)
	}
	return tw.Flush()
}

// classifierMeasures describes each attack's outcome in a few words, one
// row per measure; Off holds the value.
func classifierMeasures(r *clfResult) []redteam.ClassifierRow {
	var rows []redteam.ClassifierRow
	add := func(attack, measure, value string) {
		rows = append(rows, redteam.ClassifierRow{Attack: attack, Measure: measure, Off: value})
	}
	for _, e := range []*classifier.EvasionResult{r.HSJ, r.SimBA} {
		if e == nil {
			continue
		}
		if !e.Applicable {
			add(e.Attack, "applicable", "no: "+e.Reason)
			continue
		}
		add(e.Attack, fmt.Sprintf("evaded within L2 %.2g", e.Epsilon), fmt.Sprintf("%d of %d samples (%.0f%%)", e.Successes, e.Samples, e.SuccessRate*100))
		add(e.Attack, "median perturbation", fmt.Sprintf("L2 %.3f, L∞ %.3f", e.MedianL2, e.MedianLinf))
		add(e.Attack, "median queries to first success", strconv.Itoa(e.MedianQueriesToSuccess))
		q := fmt.Sprintf("%d of %d in %s", e.Queries, e.Budget, e.Elapsed.Round(time.Millisecond))
		if e.Stopped != "" {
			q += " (" + e.Stopped + ")"
		}
		add(e.Attack, "queries", q)
	}
	if m := r.Membership; m != nil {
		add("membership", "advantage (TPR − FPR) on held-out records", fmt.Sprintf("%.3f (accuracy %.3f, AUC %.3f, %d queries)", m.Advantage, m.Accuracy, m.AUC, m.Queries))
	}
	if e := r.Extraction; e != nil {
		how := "labels"
		if e.UsedScores {
			how = "scores"
		}
		v := fmt.Sprintf("%.1f%% after %d queries (learnt from %s)", e.Agreement*100, e.Queries, how)
		if e.Stopped != "" {
			v += " (" + e.Stopped + ")"
		}
		add("extraction", "copy agrees with the model", v)
		to95 := "not reached"
		if e.QueriesTo95 > 0 {
			to95 = strconv.Itoa(e.QueriesTo95)
		}
		add("extraction", "queries to 95% agreement", to95)
	}
	for _, a := range classifierAttacks {
		if why, ok := r.Stopped[a]; ok {
			add(a, "outcome", why)
		}
	}
	add("rate limits", "throttled answers, time waited", fmt.Sprintf("%d, %s", r.Throttled, r.Waited.Round(time.Millisecond)))
	return rows
}
