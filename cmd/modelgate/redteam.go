package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/modelgate/modelgate/audit"
	"github.com/modelgate/modelgate/finding"
	"github.com/modelgate/modelgate/redteam"
	"github.com/spf13/cobra"
)

const actionRedteamRun = "redteam.run"

func newRedteam(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "redteam", Short: "Attack your own models through the gateway: LLM probes, classifier attacks, purple-team comparisons"}
	cmd.AddCommand(redteamRun(g), redteamProbes(g), redteamClassifier(g), redteamPurple(g))
	return cmd
}

// llmFlags are the flags that point an LLM run at a target.
type llmFlags struct {
	target, model, keyEnv, suite string
	categories                   []string
	budget, concurrency          int
	rate                         float64
	judgeURL, judgeModel         string
	judgeKeyEnv                  string
}

func (f *llmFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.target, "target", "", "the OpenAI-compatible API base, ending before /chat/completions (the gateway's http://host:port/v1)")
	cmd.Flags().StringVar(&f.keyEnv, "key-env", "", "environment variable holding the API key to send")
	cmd.Flags().StringVar(&f.suite, "suite", "default", `"default" (the embedded library) or a YAML file of probes`)
	cmd.Flags().StringSliceVar(&f.categories, "category", nil, "play only these categories (repeat or comma-separate)")
	cmd.Flags().IntVar(&f.budget, "budget", 0, "play at most this many probes, spread over the categories (0: all)")
	cmd.Flags().IntVar(&f.concurrency, "concurrency", 4, "probes played at once")
	cmd.Flags().Float64Var(&f.rate, "rate", 0, "most probes started a second (0: no limit)")
	cmd.Flags().StringVar(&f.judgeURL, "judge-url", "", "an OpenAI-compatible API base whose model gives a second opinion on answers judged resisted (off unless set; the answers are sent there)")
	cmd.Flags().StringVar(&f.judgeModel, "judge-model", "", "the judge's model")
	cmd.Flags().StringVar(&f.judgeKeyEnv, "judge-key-env", "", "environment variable holding the judge's API key")
}

func envKey(name, flag string) (string, error) {
	if name == "" {
		return "", nil
	}
	v, ok := os.LookupEnv(name)
	if !ok || v == "" {
		return "", usagef("%s: environment variable %s is not set", flag, name)
	}
	return v, nil
}

// probes loads the suite and keeps the categories and budget asked for.
func (f *llmFlags) probes() ([]redteam.Probe, error) {
	var (
		ps  []redteam.Probe
		err error
	)
	if f.suite == "default" {
		ps, err = redteam.Library()
	} else {
		var b []byte
		if b, err = os.ReadFile(f.suite); err != nil {
			return nil, usageError{fmt.Errorf("--suite: %w", err)}
		}
		if ps, err = redteam.ParseProbes(f.suite, b); err != nil {
			return nil, usageError{err}
		}
	}
	if err != nil {
		return nil, err
	}
	for _, c := range f.categories {
		if _, ok := redteam.CategoryOf(c); !ok {
			return nil, usagef("--category: unknown category %q (see modelgate redteam probes)", c)
		}
	}
	if len(f.categories) > 0 {
		ps = slices.DeleteFunc(ps, func(p redteam.Probe) bool { return !slices.Contains(f.categories, p.Category) })
	}
	if f.budget < 0 {
		return nil, usagef("--budget must not be negative")
	}
	if f.budget > 0 && f.budget < len(ps) {
		ps = spread(ps, f.budget)
	}
	if len(ps) == 0 {
		return nil, usagef("no probes to play")
	}
	return ps, nil
}

// spread takes n probes round-robin over the categories, so that a small
// budget still touches every category.
func spread(ps []redteam.Probe, n int) []redteam.Probe {
	by := map[string][]redteam.Probe{}
	var order []string
	for _, p := range ps {
		if by[p.Category] == nil {
			order = append(order, p.Category)
		}
		by[p.Category] = append(by[p.Category], p)
	}
	var out []redteam.Probe
	for i := 0; len(out) < n; i++ {
		for _, c := range order {
			if i < len(by[c]) && len(out) < n {
				out = append(out, by[c][i])
			}
		}
	}
	return out
}

func (f *llmFlags) runner(model string) (*redteam.Runner, error) {
	if f.target == "" {
		return nil, usagef("--target is required")
	}
	if !strings.HasPrefix(f.target, "http://") && !strings.HasPrefix(f.target, "https://") {
		return nil, usagef("--target must be an http or https URL, got %q", f.target)
	}
	if f.concurrency < 1 || f.concurrency > 64 {
		return nil, usagef("--concurrency must be 1 to 64")
	}
	key, err := envKey(f.keyEnv, "--key-env")
	if err != nil {
		return nil, err
	}
	r := &redteam.Runner{Target: &redteam.Target{URL: f.target, Model: model, Key: key}, Concurrency: f.concurrency, Rate: f.rate}
	if f.judgeURL != "" {
		if f.judgeModel == "" {
			return nil, usagef("--judge-url needs --judge-model")
		}
		jk, err := envKey(f.judgeKeyEnv, "--judge-key-env")
		if err != nil {
			return nil, err
		}
		r.Judge = &redteam.JudgeModel{Target: &redteam.Target{URL: f.judgeURL, Model: f.judgeModel, Key: jk}}
	}
	return r, nil
}

// play runs the probes not yet in run, adding each attempt to the journal
// as it is judged, and keeps the attempts in probe order.
func play(ctx context.Context, r *redteam.Runner, ps []redteam.Probe, run *redteam.Run, j *redteam.Journal) error {
	r.Done = map[string]bool{}
	for _, a := range run.Attempts {
		r.Done[a.Probe] = true
	}
	if j != nil {
		r.OnAttempt = j.Add
	}
	fresh, err := r.Run(ctx, ps, run.Secrets())
	all := append(run.Attempts, fresh...)
	pos := map[string]int{}
	for i, p := range ps {
		pos[p.ID] = i
	}
	slices.SortStableFunc(all, func(a, b redteam.Attempt) int { return pos[a.Probe] - pos[b.Probe] })
	run.Attempts = all
	if err != nil {
		return err
	}
	failed := 0
	for _, a := range all {
		if a.Outcome == redteam.Failed {
			failed++
		}
	}
	if failed == len(all) {
		return fmt.Errorf("the target could not be attacked: all %d attempts failed (first: %s)", failed, all[0].Evidence)
	}
	return nil
}

func redteamRun(g *globals) *cobra.Command {
	var (
		f                                        llmFlags
		format, out, baseline, writeBase, resume string
		failOn                                   string
		tolerance                                float64
		record                                   bool
	)
	cmd := &cobra.Command{
		Use:   "run --target URL --model ROUTE [--key-env VAR] [--suite NAME|FILE] [--budget N] [--baseline F] [--format table|json|sarif|html]",
		Short: "Play the probe library against a chat model and judge each attempt",
		Long: `Play the embedded probe library (or --suite FILE) against an OpenAI-compatible
chat endpoint, normally a route of the gateway: direct and indirect prompt
injection, system-prompt extraction, jailbreaks, encodings, sensitive-data
disclosure, improper output handling, excessive agency and unbounded
consumption, each category mapped to the OWASP Top 10 for LLM Applications
(2025 edition) and MITRE ATLAS.

Every run plants its own canary in the system prompt and a confidential
record in the context. Each attempt is judged without a judge model:
blocked (a guard stopped it), refused (the model declined), complied (the
canary or record came back, in clear or encoded; dangerous output; a tool
called; a runaway answer) or resisted. --judge-url adds a model's second
opinion on answers judged resisted; nothing is sent anywhere else.

--baseline F compares each category's rate of attacks that worked with a
baseline (written by --write-baseline): a rise beyond --tolerance is a
regression and fails the run. --resume F keeps a journal of attempts and
resumes from it with the same canary. The run is recorded in the audit log
(action redteam.run, the whole run as its payload) unless --record=false.

Exit status: 0 no regression (and no finding at or above --fail-on), 1
regressions or findings, 2 bad usage, 3 the target could not be attacked.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkFormat(format, "table", "json", "sarif", "html"); err != nil {
				return err
			}
			var threshold finding.Severity
			if failOn != "" {
				s, err := finding.ParseSeverity(failOn)
				if err != nil {
					return usagef("--fail-on: %v", err)
				}
				threshold = s
			}
			model, _ := cmd.Flags().GetString("model")
			if model == "" {
				return usagef("--model is required (the route to attack)")
			}
			ps, err := f.probes()
			if err != nil {
				return err
			}
			r, err := f.runner(model)
			if err != nil {
				return err
			}
			var base *redteam.Baseline
			if baseline != "" {
				if base, err = readBaseline(baseline); err != nil {
					return err
				}
			}
			run, j, err := openRun(resume, f.suite, f.target, model)
			if err != nil {
				return err
			}
			if j != nil {
				defer j.Close()
			}
			if err := play(cmd.Context(), r, ps, run, j); err != nil {
				return err
			}
			run.Finish(base, tolerance)
			if writeBase != "" {
				if err := writeBaseline(writeBase, redteam.NewBaseline(run.Suite, run.Rates)); err != nil {
					return err
				}
			}
			if record {
				if err := recordRun(cmd.Context(), g, run); err != nil {
					return err
				}
			}
			rep := redteam.Report(run.Target+"#"+run.Model, run.Attempts, run.Regressions)
			if err := writeRun(g, run, rep, format, out); err != nil {
				return err
			}
			switch {
			case len(run.Regressions) > 0:
				return findings{msg: fmt.Sprintf("%d categories regressed against the baseline", len(run.Regressions))}
			case failOn != "" && rep.Fails(threshold):
				return findings{msg: "attacks worked at or above --fail-on"}
			}
			return nil
		},
	}
	f.register(cmd)
	cmd.Flags().String("model", "", "the model (gateway route) to attack")
	cmd.Flags().StringVar(&format, "format", "table", "table, json, sarif or html")
	cmd.Flags().StringVar(&out, "out", "", "write the report here instead of standard output")
	cmd.Flags().StringVar(&baseline, "baseline", "", "fail on categories whose rate of attacks that worked rose over this baseline")
	cmd.Flags().Float64Var(&tolerance, "tolerance", 0, "how far above the baseline a rate may go (0.05: five points)")
	cmd.Flags().StringVar(&writeBase, "write-baseline", "", "write this run's rates as a baseline file")
	cmd.Flags().StringVar(&resume, "resume", "", "journal file: created if missing, resumed if present")
	cmd.Flags().StringVar(&failOn, "fail-on", "", "also fail (exit 1) when an attack that worked is of this severity or above (medium, high)")
	cmd.Flags().BoolVar(&record, "record", true, "record the run in the audit log of --data-dir")
	return cmd
}

// openRun resumes the run in a journal, or starts a new one (with a
// journal when a path is given).
func openRun(path, suite, target, model string) (*redteam.Run, *redteam.Journal, error) {
	if path == "" {
		return redteam.NewRun(suite, target, model), nil, nil
	}
	run, j, err := redteam.OpenJournal(path)
	switch {
	case errors.Is(err, os.ErrNotExist):
		run = redteam.NewRun(suite, target, model)
		j, err = redteam.CreateJournal(path, run)
		if err != nil {
			return nil, nil, fmt.Errorf("--resume: %w", err)
		}
		return run, j, nil
	case err != nil:
		return nil, nil, usageError{fmt.Errorf("--resume: %w", err)}
	}
	if run.Target != target || run.Model != model || run.Suite != suite {
		j.Close()
		return nil, nil, usagef("--resume: %s is a run of %s against %s#%s, not %s against %s#%s", path, run.Suite, run.Target, run.Model, suite, target, model)
	}
	return run, j, nil
}

func readBaseline(path string) (*redteam.Baseline, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, usageError{fmt.Errorf("--baseline: %w", err)}
	}
	var base redteam.Baseline
	if err := json.Unmarshal(b, &base); err != nil || base.Categories == nil {
		return nil, usagef("--baseline: %s is not a red-team baseline (want {\"suite\":..., \"categories\":{...}})", path)
	}
	return &base, nil
}

func writeBaseline(path string, b *redteam.Baseline) error {
	raw, err := json.MarshalIndent(b, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(raw, '\n'), 0o644)
}

// recordRun appends the run to the audit log: the rates as details, the
// whole run (gzipped JSON) as its payload.
func recordRun(ctx context.Context, g *globals, run *redteam.Run) error {
	raw, err := json.Marshal(run)
	if err != nil {
		return err
	}
	complied := 0
	for _, a := range run.Attempts {
		if a.Outcome == redteam.Complied {
			complied++
		}
	}
	details := map[string]string{"run": run.ID, "suite": run.Suite, "target": run.Target, "model": run.Model,
		"attempts": strconv.Itoa(len(run.Attempts)), "complied": strconv.Itoa(complied),
		"regressions": strconv.Itoa(len(run.Regressions))}
	for cat, r := range run.Rates {
		details["rate."+cat] = strconv.FormatFloat(r.ComplianceRate, 'f', 3, 64)
		if c, ok := redteam.CategoryOf(cat); ok {
			details["owasp."+cat] = c.OWASP // the evidence says what it maps to, for whoever reads it later
		}
	}
	ev := &audit.Event{Time: run.Finished, Actor: audit.Actor{Kind: audit.ActorAdmin, ID: cliActor()},
		Action: actionRedteamRun, Resource: audit.Resource{ID: run.ID, Model: run.Model},
		Decision: audit.Decision{Outcome: audit.Allowed}, Details: details}
	if err := appendDocument(ctx, g, ev, raw); err != nil {
		return fmt.Errorf("recording the run: %w", err)
	}
	return nil
}

// output opens --out, or standard output.
func output(g *globals, out string) (io.Writer, func() error, error) {
	if out == "" {
		return g.stdout, func() error { return nil }, nil
	}
	f, err := os.Create(out)
	if err != nil {
		return nil, nil, usageError{fmt.Errorf("--out: %w", err)}
	}
	return f, f.Close, nil
}

func writeRun(g *globals, run *redteam.Run, rep *finding.Report, format, out string) error {
	w, closeOut, err := output(g, out)
	if err != nil {
		return err
	}
	switch format {
	case "json":
		err = writeJSON(w, run)
	case "sarif":
		err = finding.WriteSARIF(w, rep, "modelgate-redteam", versionString())
	case "html":
		err = redteam.WriteHTML(w, redteam.HTMLReport{Title: "Red-team run against " + run.Model, Runs: []*redteam.Run{run}})
	default:
		err = writeRunTable(w, run)
	}
	if cerr := closeOut(); err == nil {
		err = cerr
	}
	return err
}

func writeRunTable(w io.Writer, run *redteam.Run) error {
	fmt.Fprintf(w, "run %s: %d probes against %s (%s), %s\n\n", run.ID, len(run.Attempts), run.Model, run.Target, run.Finished.Sub(run.Started).Round(time.Millisecond))
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "CATEGORY\tOWASP\tATTEMPTS\tBLOCKED\tREFUSED\tRESISTED\tCOMPLIED\tERRORS\tWORKED")
	for _, c := range redteam.Categories {
		r := run.Rates[c.Name]
		if r == nil {
			continue
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%d\t%d\t%d\t%.0f%%\n", c.Name, c.OWASP, r.Attempts, r.Blocked, r.Refused, r.Resisted, r.Complied, r.Errors, r.ComplianceRate*100)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	var worked []string
	for _, a := range run.Attempts {
		if a.Outcome == redteam.Complied {
			worked = append(worked, fmt.Sprintf("  %s (%s): %s", a.Probe, a.Technique, a.Evidence))
		}
	}
	if len(worked) > 0 {
		fmt.Fprintf(w, "\nattacks that worked:\n%s\n", strings.Join(worked, "\n"))
	}
	for _, r := range run.Regressions {
		fmt.Fprintf(w, "REGRESSION %s: %.0f%% of attacks worked, %.0f%% in the baseline\n", r.Category, r.Now*100, r.Baseline*100)
	}
	for _, m := range run.Missing {
		fmt.Fprintf(w, "not played: baseline category %s\n", m)
	}
	_, err := fmt.Fprintf(w, "OWASP ids are from the OWASP Top 10 for LLM Applications, 2025 edition.\n")
	return err
}

func redteamProbes(g *globals) *cobra.Command {
	var format, suite string
	cmd := &cobra.Command{
		Use:   "probes [--format table|json] [--suite FILE]",
		Short: "List the probe library by category, with OWASP LLM 2025 and ATLAS ids",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkFormat(format, "table", "json"); err != nil {
				return err
			}
			ps, err := (&llmFlags{suite: suite}).probes()
			if err != nil {
				return err
			}
			if format == "json" {
				return writeJSON(g.stdout, map[string]any{"categories": redteam.Categories, "probes": ps})
			}
			tw := tabwriter.NewWriter(g.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "PROBE\tCATEGORY\tOWASP\tATLAS\tGOAL\tTECHNIQUE")
			for _, p := range ps {
				c, _ := redteam.CategoryOf(p.Category)
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", p.ID, p.Category, c.OWASP, strings.Join(c.ATLAS, ","), p.Goal, p.Technique)
			}
			if err := tw.Flush(); err != nil {
				return err
			}
			_, err = fmt.Fprintln(g.stdout, "OWASP ids are from the OWASP Top 10 for LLM Applications, 2025 edition.")
			return err
		},
	}
	cmd.Flags().StringVar(&format, "format", "table", "table or json")
	cmd.Flags().StringVar(&suite, "suite", "default", `"default" or a YAML file of probes`)
	return cmd
}
