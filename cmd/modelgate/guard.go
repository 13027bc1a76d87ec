package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/modelgate/modelgate/config"
	"github.com/modelgate/modelgate/gateway/guarding"
	"github.com/modelgate/modelgate/guard"
	"github.com/modelgate/modelgate/guard/injection"
	"github.com/spf13/cobra"
)

func newGuard(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "guard", Short: "Try the runtime guards on a text"}
	cmd.AddCommand(guardTest(g), guardEval(g))
	return cmd
}

func guardTest(g *globals) *cobra.Command {
	var configPath, route, pipeline, format, context string
	var output bool
	cmd := &cobra.Command{
		Use:   `test [--config FILE] [--route MODEL | --pipeline NAME] [--output] "text" | -`,
		Short: "Show what a guard pipeline would do to a text",
		Long: `Run a guard pipeline on a text, as the gateway would on a user message
(or, with --output, on a model's answer), and show each guard's verdict,
what it found and the text that would go on. "-" reads the text from
standard input. Without --config the built-in standard pipeline runs (the
one the demo uses). Exit 0 when the text would pass, 1 when it is blocked.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if format != "table" && format != "json" {
				return usagef("--format must be table or json, got %q", format)
			}
			text := args[0]
			if text == "-" {
				b, err := io.ReadAll(io.LimitReader(os.Stdin, 16<<20))
				if err != nil {
					return err
				}
				text = string(b)
			}
			name, p, err := pickPipeline(configPath, route, pipeline)
			if err != nil {
				return err
			}
			prof, err := guarding.Compile(name, p.pipeline, p.hashKey)
			if err != nil {
				return err
			}
			stage, pl := "input", prof.Input
			if output {
				stage, pl = "output", prof.Output
			}
			ctx, err := injection.ParseContext(context)
			if err != nil {
				return usagef("--context: %v", err)
			}
			role := "user"
			if ctx == injection.Document {
				role = "tool" // a tool result: what the gateway reads as data
			}
			texts := guard.NewTexts([]guard.Segment{{Path: "/messages/0/content", Role: role, Text: text}})
			if output {
				texts[0].Role = "assistant"
			}
			orig := text
			out := pl.Run(cmd.Context(), texts, &guard.Vault{Key: p.hashKey})
			rep := guardReport{Pipeline: name, Stage: stage, Verdict: out.Verdict().String(), Text: texts[0].Text}
			if d, err := injection.New(); err == nil {
				e := d.ExplainIn(orig, ctx)
				rep.Injection = &e
			}
			for _, r := range out.Results {
				gr := guardReportResult{Name: r.Guard, Verdict: r.Verdict.String(), Score: r.Score, DurationUS: r.Duration.Microseconds()}
				if r.Err != nil {
					gr.Error = r.Err.Error()
				}
				for _, f := range r.Findings {
					gr.Findings = append(gr.Findings, guardReportFinding{Entity: f.Entity, Action: f.Action.String(), Score: f.Score, Start: f.Start, End: f.End})
				}
				rep.Guards = append(rep.Guards, gr)
			}
			if format == "json" {
				if err := writeIndentedJSON(g.stdout, rep); err != nil {
					return err
				}
			} else {
				printGuardReport(g.stdout, rep, orig)
			}
			if out.Blocked != nil {
				return findings{msg: "blocked by the " + out.Blocked.Guard + " guard"}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&configPath, "config", "", "configuration file (default: the built-in standard pipeline)")
	cmd.Flags().StringVar(&route, "route", "", "use the pipeline of this route (model name) in --config")
	cmd.Flags().StringVar(&pipeline, "pipeline", "", "use this pipeline of --config")
	cmd.Flags().BoolVar(&output, "output", false, "run the output guards, as on a model's answer")
	cmd.Flags().StringVar(&context, "context", "user", "read the text as a user's prompt (user) or as data: a retrieved document or tool result (document)")
	cmd.Flags().StringVar(&format, "format", "table", "table or json")
	return cmd
}

type chosenPipeline struct {
	pipeline *config.GuardPipeline
	hashKey  []byte
}

// pickPipeline finds the pipeline to run: a route's, a named one, the
// configured default, or the built-in standard one.
func pickPipeline(configPath, route, name string) (string, chosenPipeline, error) {
	if route != "" && name != "" {
		return "", chosenPipeline{}, usagef("give --route or --pipeline, not both")
	}
	var (
		cfg *config.Config
		err error
	)
	if configPath == "" {
		if route != "" {
			return "", chosenPipeline{}, usagef("--route needs --config")
		}
		cfg, err = config.Parse("built-in standard pipeline", []byte(config.StandardGuards))
	} else {
		// Only the pipelines matter here: the credentials and TLS files a
		// production file names need not exist on the machine testing it.
		cfg, err = config.LoadWith(configPath, config.Options{Offline: true})
	}
	if err != nil {
		return "", chosenPipeline{}, err
	}
	if route != "" {
		found := false
		for _, r := range cfg.Routes {
			if r.Model == route {
				name, found = r.Guards, true
			}
		}
		if !found {
			return "", chosenPipeline{}, usagef("no route for model %q in %s", route, configPath)
		}
	}
	if name == "" {
		name = cfg.Guards.Default
	}
	if name == "" || name == "none" {
		return "", chosenPipeline{}, usagef("no guard pipeline applies (the route or default names none); pick one with --pipeline")
	}
	p := cfg.Guards.Pipelines[name]
	if p == nil {
		return "", chosenPipeline{}, usagef("no guard pipeline named %q", name)
	}
	return name, chosenPipeline{pipeline: p, hashKey: cfg.Guards.HashKey}, nil
}

type guardReport struct {
	Pipeline string              `json:"pipeline"`
	Stage    string              `json:"stage"`
	Verdict  string              `json:"verdict"`
	Text     string              `json:"text"`
	Guards   []guardReportResult `json:"guards"`
	// Injection explains the built-in injection detector's score of the
	// text as given, whether or not the pipeline runs it.
	Injection *injection.Explanation `json:"injection,omitempty"`
}

type guardReportResult struct {
	Name       string               `json:"name"`
	Verdict    string               `json:"verdict"`
	Score      float64              `json:"score,omitempty"`
	DurationUS int64                `json:"duration_us"`
	Error      string               `json:"error,omitempty"`
	Findings   []guardReportFinding `json:"findings,omitempty"`
}

// guardReportFinding locates a finding by byte offsets in the text as
// that guard saw it (after the guards before it).
type guardReportFinding struct {
	Entity string  `json:"entity"`
	Action string  `json:"action"`
	Score  float64 `json:"score"`
	Start  int     `json:"start"`
	End    int     `json:"end"`
}

func printGuardReport(w io.Writer, rep guardReport, orig string) {
	fmt.Fprintf(w, "pipeline %s, %s guards\n\n", rep.Pipeline, rep.Stage)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "GUARD\tVERDICT\tFOUND\tTIME")
	for _, g := range rep.Guards {
		var found []string
		counts := map[string]int{}
		for _, f := range g.Findings {
			if counts[f.Entity] == 0 {
				found = append(found, f.Entity)
			}
			counts[f.Entity]++
		}
		for i, e := range found {
			found[i] = fmt.Sprintf("%s×%d (%s)", e, counts[e], actionOf(g.Findings, e))
		}
		verdict := g.Verdict
		if g.Error != "" {
			verdict += " (error: " + g.Error + ")"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%dµs\n", g.Name, verdict, strings.Join(found, ", "), g.DurationUS)
	}
	tw.Flush()
	if e := rep.Injection; e != nil {
		fmt.Fprintf(w, "\ninjection score %.2f as %s (rules %.2f, model %.2f, surprise %.1f; blocks from %.2f by default)\n", e.Score, e.Context, e.RulesScore, e.ModelScore, e.Surprise, injection.DefaultThreshold)
		if e.Window != "" {
			fmt.Fprintf(w, "  most suspicious passage (%.2f): %q\n", e.WindowScore, e.Window)
		}
		for _, h := range e.Rules {
			dec := ""
			if h.Decoded != "" {
				dec = ", hidden in " + h.Decoded
			}
			fmt.Fprintf(w, "  rule   %s/%s %.2f%s\n", h.Family, h.Rule, h.Weight, dec)
		}
		var words []string
		for _, f := range e.Features {
			words = append(words, fmt.Sprintf("%q %+.2f", f.Text, f.Weight))
		}
		if len(words) > 0 {
			fmt.Fprintf(w, "  words  %s\n", strings.Join(words, ", "))
		}
	}
	fmt.Fprintf(w, "\nresult  %s\n", rep.Verdict)
	switch {
	case rep.Verdict == "block":
		fmt.Fprintln(w, "text    (not sent)")
	case rep.Text != orig:
		fmt.Fprintf(w, "text    %s\n", rep.Text)
	default:
		fmt.Fprintln(w, "text    (unchanged)")
	}
}

func actionOf(fs []guardReportFinding, entity string) string {
	for _, f := range fs {
		if f.Entity == entity {
			return f.Action
		}
	}
	return ""
}

func guardEval(g *globals) *cobra.Command {
	var data, format, modelPath, context string
	var threshold float64
	cmd := &cobra.Command{
		Use:   "eval --data FILE.jsonl [--threshold T] [--context user|document] [--model FILE] [--format table|json]",
		Short: "Measure the prompt-injection detector on labelled data",
		Long: `Score every text of a JSON-lines file ({"text": "...", "label": 0|1}, label 1
for an injection or jailbreak, and an optional "slice") with the
prompt-injection detector, and print n, precision, recall, f1 and false
positive rate at the threshold, the ROC AUC, the recall at 0.1%, 1% and 5%
false positive rate, the p50/p99 time per text, points of the ROC curve,
and, when the data has slices, each slice's recall or false alarm rate.
--context document reads every text as data (a retrieved document or a
tool result); --model uses a model from guard/injection/train instead of
the embedded one.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if data == "" {
				return usagef("--data is required")
			}
			if format != "table" && format != "json" {
				return usagef("--format must be table or json, got %q", format)
			}
			if threshold <= 0 || threshold > 1 {
				return usagef("--threshold must be in (0, 1], got %v", threshold)
			}
			ctx, err := injection.ParseContext(context)
			if err != nil {
				return usagef("--context: %v", err)
			}
			examples, err := readExamples(data)
			if err != nil {
				return err
			}
			d, err := injection.New()
			if err != nil {
				return err
			}
			if modelPath != "" {
				b, err := os.ReadFile(modelPath)
				if err != nil {
					return usageError{err}
				}
				m := new(injection.Model)
				if err := m.UnmarshalBinary(b); err != nil {
					return usagef("%s: %v", modelPath, err)
				}
				d.Model = m
			}
			m := injection.Evaluate(func(s string) float64 { return d.ScoreIn(s, ctx) }, examples, threshold)
			if format == "json" {
				return json.NewEncoder(g.stdout).Encode(m)
			}
			printEval(g.stdout, m, ctx)
			return nil
		},
	}
	cmd.Flags().StringVar(&data, "data", "", "labelled JSON lines")
	cmd.Flags().Float64Var(&threshold, "threshold", injection.DefaultThreshold, "score from which a text counts as an injection")
	cmd.Flags().StringVar(&context, "context", "user", "read every text as a prompt (user) or as data (document)")
	cmd.Flags().StringVar(&modelPath, "model", "", "model file (default: the embedded model)")
	cmd.Flags().StringVar(&format, "format", "table", "table or json")
	return cmd
}

func printEval(w io.Writer, m injection.Metrics, ctx injection.Context) {
	fmt.Fprintf(w, "n                   %d\ncontext             %s\nthreshold           %.4f\nprecision           %.4f\nrecall              %.4f\nf1                  %.4f\nfpr                 %.4f\nauc                 %.4f\nrecall at 0.1%% fpr  %.4f\nrecall at 1%% fpr    %.4f\nrecall at 5%% fpr    %.4f\np50                 %.0f µs\np99                 %.0f µs\n",
		m.N, ctx, m.Threshold, m.Precision, m.Recall, m.F1, m.FPR, m.AUC, m.RecallAt01PctFPR, m.RecallAt1PctFPR, m.RecallAt5PctFPR, m.P50US, m.P99US)
	if len(m.Slices) > 0 {
		fmt.Fprintln(w, "\nslice                     label      n  flagged")
		for _, s := range m.Slices {
			what := "recall"
			if s.Label == 0 {
				what = "fpr"
			}
			fmt.Fprintf(w, "%-25s %5d %6d  %.3f %s\n", s.Slice, s.Label, s.N, s.Rate, what)
		}
	}
	fmt.Fprintln(w, "\nroc: threshold → fpr, tpr")
	for _, p := range m.ROC {
		fmt.Fprintf(w, "  %.4f → %.3f, %.3f\n", p.Threshold, p.FPR, p.TPR)
	}
}

// readExamples reads labelled JSON lines, naming the line of any problem.
func readExamples(path string) ([]injection.Example, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, usageError{err}
	}
	defer f.Close()
	var out []injection.Example
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	for line := 1; sc.Scan(); line++ {
		if len(bytes.TrimSpace(sc.Bytes())) == 0 {
			continue
		}
		var e struct {
			Text  *string `json:"text"`
			Label *int    `json:"label"`
			Slice string  `json:"slice"`
		}
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			return nil, usagef("%s:%d: %v", path, line, err)
		}
		if e.Text == nil || e.Label == nil || (*e.Label != 0 && *e.Label != 1) {
			return nil, usagef("%s:%d: each line needs \"text\" and \"label\" (0 or 1)", path, line)
		}
		out = append(out, injection.Example{Text: *e.Text, Label: *e.Label, Slice: e.Slice})
	}
	if err := sc.Err(); err != nil {
		return nil, usagef("%s: %v", path, err)
	}
	if len(out) == 0 {
		return nil, usagef("%s holds no examples", path)
	}
	return out, nil
}
