package main

import (
	"fmt"
	"strings"

	"github.com/modelgate/modelgate/registry/card"
	"github.com/spf13/cobra"
)

func newCard(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "card", Short: "Work with model cards"}
	var format string
	check := &cobra.Command{
		Use:   "check CARD [--format table|json]",
		Short: "Score a model card's completeness",
		Long: `Read a model card (Hugging Face Markdown with YAML front matter, or JSON)
and check it against the fields a review needs: intended use, out-of-scope
use, training data, evaluation results, bias, risks and limitations, an
owner to contact, and a license. Template placeholders ("[More Information
Needed]", comments) do not count.

Exit status: 0 complete, 1 fields missing, 2 bad usage or file.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if format != "table" && format != "json" {
				return usagef("--format must be table or json, got %q", format)
			}
			c, err := card.Load(args[0])
			if err != nil {
				return usageError{err}
			}
			s := c.Check()
			if format == "json" {
				if err := writeIndentedJSON(g.stdout, map[string]any{"card": args[0], "score": s, "metrics": c.Metrics}); err != nil {
					return err
				}
			} else {
				for _, f := range card.Profile {
					mark := "present"
					if c.Fields[f] == "" {
						mark = "MISSING"
					}
					fmt.Fprintf(g.stdout, "%-8s %s\n", mark, strings.ReplaceAll(f, "_", " "))
				}
				fmt.Fprintf(g.stdout, "\n%s: %.0f%% complete\n", args[0], 100*s.Complete)
			}
			if len(s.Missing) > 0 {
				return findings{msg: "the model card misses " + strings.Join(s.Missing, ", ")}
			}
			return nil
		},
	}
	check.Flags().StringVar(&format, "format", "table", "table or json")
	cmd.AddCommand(check)
	return cmd
}
