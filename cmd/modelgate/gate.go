package main

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/modelgate/modelgate/finding"
	"github.com/modelgate/modelgate/policy"
	"github.com/modelgate/modelgate/registry"
	"github.com/spf13/cobra"
)

func newGate(g *globals) *cobra.Command {
	var (
		format string
		f      registryFlags
	)
	cmd := &cobra.Command{
		Use:   "gate NAME@VERSION [--policy DIR] [--format table|json|sarif]",
		Short: "Decide with the OPA policy gate whether a registered model may go to production",
		Long: `Evaluate the promotion gate on a registered model version as its files are
now: the model is hashed again and its signature verified, then the
policies decide. The default policy bundle is built in (see docs/policy.md);
--policy adds .rego files from a directory, and a file named like a
default module (gate.rego) replaces it. The decision is kept with the
version and recorded in the audit log; the version's stage is unchanged.

Exit status: 0 allowed, 1 denied (every violated rule is listed), 2 bad
usage, unknown version or broken policy.`,
		Example: `  modelgate gate fraud-detector@3
  modelgate gate fraud-detector@3 --policy ./policies --format sarif > gate.sarif`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkFormat(format, "table", "json", "sarif"); err != nil {
				return err
			}
			reg, done, err := openExistingRegistry(cmd.Context(), g, &f)
			if err != nil {
				return err
			}
			defer done()
			m, d, err := reg.GateCheck(cmd.Context(), args[0])
			if err != nil {
				return registryError(err)
			}
			switch format {
			case "json":
				err = writeIndentedJSON(g.stdout, map[string]any{"model": m.Name, "version": m.Version, "allow": d.Allow,
					"violations": d.Violations, "denials": d.Denials, "policies": reg.Policies, "manifest_digest": m.Manifest.Digest})
			case "sarif":
				err = finding.WriteSARIF(g.stdout, gateReport(m, d.Denials), "modelgate", versionString())
			default:
				verdict := "ALLOW"
				if !d.Allow {
					verdict = "DENY"
				}
				fmt.Fprintf(g.stdout, "%s %s (policies: %s)\n", verdict, m.Ref(), strings.Join(reg.Policies, ", "))
				for _, v := range d.Violations {
					fmt.Fprintf(g.stdout, "  - %s\n", v)
				}
			}
			if err != nil {
				return err
			}
			if !d.Allow {
				return findings{msg: fmt.Sprintf("the gate denies %s: %d violation(s)", m.Ref(), len(d.Violations))}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&format, "format", "table", "table, json or sarif")
	addPolicyFlag(cmd, &f)
	addTrustFlags(cmd, &f)
	return cmd
}

var nonWord = regexp.MustCompile(`[^a-z0-9]+`)

// gateReport turns denials into findings so that SARIF consumers (code
// scanning) show each one under its rule; a policy's plain message gets an
// id made of its leading words.
func gateReport(m *registry.Model, denials []policy.Denial) *finding.Report {
	f := finding.File{Path: m.Path, Format: "model", Findings: []finding.Finding{}}
	for _, d := range denials {
		id := d.Rule
		if id == "" {
			words := strings.Fields(strings.ToLower(d.Message))
			id = strings.Trim(nonWord.ReplaceAllString(strings.Join(words[:min(4, len(words))], "-"), "-"), "-")
		}
		f.Findings = append(f.Findings, finding.Finding{RuleID: "gate/" + id, Severity: finding.High,
			Title: d.Message, Location: m.Ref()})
	}
	rep := &finding.Report{Files: []finding.File{f}}
	rep.Summarise()
	return rep
}
