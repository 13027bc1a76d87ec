package main

import (
	"fmt"
	"io"
	"slices"
	"text/tabwriter"

	"github.com/modelgate/modelgate/redteam"
	"github.com/modelgate/modelgate/redteam/classifier"
	"github.com/spf13/cobra"
)

func redteamPurple(g *globals) *cobra.Command {
	var (
		f                    llmFlags
		c                    clfFlags
		off, on, format, out string
		clfTarget            string
		clfOff, clfOn        string
		clfOffKey, clfOnKey  string
		record               bool
	)
	cmd := &cobra.Command{
		Use:   "purple --target URL --off ROUTE --on ROUTE [--classifier-off NAME --classifier-on NAME --samples CSV] [--format table|json|html]",
		Short: "Run the same attacks with the controls off and on and report the resilience gap",
		Long: `A purple-team exercise: play the probe suite against a route without the
controls (--off, e.g. a route with guards: none) and one with them (--on),
and, when classifier routes are given, run the classifier attacks against
both (the --on route with output controls, its key with rate limits). The
report gives, per category and per business impact (data breach, fraud
loss, brand damage, service cost), the share of attacks that worked each
way: the resilience gap. Both runs are recorded in the audit log unless
--record=false.

Exit status: 0 done, 2 bad usage, 3 a target could not be attacked.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkFormat(format, "table", "json", "html"); err != nil {
				return err
			}
			if off == "" || on == "" {
				return usagef("--off and --on name the routes without and with the controls")
			}
			ps, err := f.probes()
			if err != nil {
				return err
			}
			runs := map[string]*redteam.Run{}
			for _, model := range []string{off, on} {
				r, err := f.runner(model)
				if err != nil {
					return err
				}
				run := redteam.NewRun(f.suite, f.target, model)
				if err := play(cmd.Context(), r, ps, run, nil); err != nil {
					return fmt.Errorf("%s: %w", model, err)
				}
				run.Finish(nil, 0)
				if record {
					if err := recordRun(cmd.Context(), g, run); err != nil {
						return err
					}
				}
				runs[model] = run
			}
			p := redteam.ComparePurple(runs[off], runs[on])
			var clf [2]*clfResult
			if clfOff != "" || clfOn != "" {
				if clfOff == "" || clfOn == "" || clfTarget == "" {
					return usagef("classifier attacks need --classifier-target, --classifier-off and --classifier-on")
				}
				d, err := c.load()
				if err != nil {
					return err
				}
				// The route without controls is also the reference the
				// copy made through the one with them is measured on.
				var reference classifier.Oracle
				for i, t := range []struct{ model, keyEnv string }{{clfOff, clfOffKey}, {clfOn, clfOnKey}} {
					key, err := envKey(t.keyEnv, "classifier key")
					if err != nil {
						return err
					}
					var k *classifier.KServe
					if clf[i], k, err = c.attack(cmd.Context(), d, clfTarget, t.model, key, reference); err != nil {
						return err
					}
					reference = k
				}
				offRows, onRows := classifierMeasures(clf[0]), classifierMeasures(clf[1])
				p.Classifier = mergeRows(offRows, onRows)
			}
			w, closeOut, err := output(g, out)
			if err != nil {
				return err
			}
			switch format {
			case "json":
				err = writeJSON(w, map[string]any{"purple": p, "off": runs[off], "on": runs[on], "classifier_off": clf[0], "classifier_on": clf[1]})
			case "html":
				err = redteam.WriteHTML(w, redteam.HTMLReport{Title: "Purple team: " + off + " against " + on, Runs: []*redteam.Run{runs[off], runs[on]}, Purple: p})
			default:
				err = writePurpleTable(w, p)
			}
			if cerr := closeOut(); err == nil {
				err = cerr
			}
			return err
		},
	}
	f.register(cmd)
	c.register(cmd, "query-budget")
	cmd.Flags().StringVar(&off, "off", "", "the chat route without the controls")
	cmd.Flags().StringVar(&on, "on", "", "the chat route with the controls")
	cmd.Flags().StringVar(&clfTarget, "classifier-target", "", "the KServe v2 server root (the gateway's http://host:port)")
	cmd.Flags().StringVar(&clfOff, "classifier-off", "", "the classifier route without the controls")
	cmd.Flags().StringVar(&clfOn, "classifier-on", "", "the classifier route with the controls")
	cmd.Flags().StringVar(&clfOffKey, "classifier-off-key-env", "", "environment variable with the key for --classifier-off")
	cmd.Flags().StringVar(&clfOnKey, "classifier-on-key-env", "", "environment variable with the key for --classifier-on (a rate-limited one, to measure the limit)")
	cmd.Flags().StringVar(&format, "format", "table", "table, json or html")
	cmd.Flags().StringVar(&out, "out", "", "write the report here instead of standard output")
	cmd.Flags().BoolVar(&record, "record", true, "record both runs in the audit log of --data-dir")
	return cmd
}

// mergeRows pairs the measures of the run without controls with those of
// the run with them.
func mergeRows(off, on []redteam.ClassifierRow) []redteam.ClassifierRow {
	onBy := map[string]string{}
	for _, r := range on {
		onBy[r.Attack+"\x00"+r.Measure] = r.Off
	}
	seen := map[string]bool{}
	var out []redteam.ClassifierRow
	for _, r := range off {
		k := r.Attack + "\x00" + r.Measure
		seen[k] = true
		v, ok := onBy[k]
		if !ok {
			v = "—"
		}
		out = append(out, redteam.ClassifierRow{Attack: r.Attack, Measure: r.Measure, Off: r.Off, On: v})
	}
	for _, r := range on {
		if !seen[r.Attack+"\x00"+r.Measure] {
			out = append(out, redteam.ClassifierRow{Attack: r.Attack, Measure: r.Measure, Off: "—", On: r.Off})
		}
	}
	// Each attack's rows together, in the order the attacks run; the
	// rate-limit row (not an attack) last.
	rank := func(attack string) int {
		if i := slices.Index(classifierAttacks, attack); i >= 0 {
			return i
		}
		return len(classifierAttacks)
	}
	slices.SortStableFunc(out, func(a, b redteam.ClassifierRow) int { return rank(a.Attack) - rank(b.Attack) })
	return out
}

func writePurpleTable(w io.Writer, p *redteam.Purple) error {
	fmt.Fprintf(w, "resilience gap: %s (controls off) against %s (controls on)\n\n", p.Off.Model, p.On.Model)
	// Each table has its own columns.
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "IMPACT\tATTEMPTS\tWORKED OFF\tWORKED ON")
	for _, i := range p.Impacts {
		fmt.Fprintf(tw, "%s\t%d\t%.0f%%\t%.0f%%\n", i.Impact, i.Attempts, i.Off*100, i.On*100)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(w)
	tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "CATEGORY\tOWASP\tWORKED OFF\tWORKED ON\tCLOSED\tBLOCKED")
	for _, gp := range p.Gaps {
		fmt.Fprintf(tw, "%s\t%s\t%.0f%%\t%.0f%%\t%.0f%%\t%d\n", gp.Category, gp.OWASP, gp.Off*100, gp.On*100, gp.Closed*100, gp.Blocked)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(p.Classifier) > 0 {
		fmt.Fprintln(w)
		tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "CLASSIFIER ATTACK\tMEASURE\tCONTROLS OFF\tCONTROLS ON")
		for _, r := range p.Classifier {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", r.Attack, r.Measure, r.Off, r.On)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	_, err := fmt.Fprintln(w, "OWASP ids are from the OWASP Top 10 for LLM Applications, 2025 edition.")
	return err
}
