package main

import (
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/modelgate/modelgate/finding"
	"github.com/modelgate/modelgate/posture"
	"github.com/spf13/cobra"
)

func newPosture(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "posture", Short: "Check AI infrastructure configuration against the AI rule pack"}
	cmd.AddCommand(postureScan(g), postureRules(g), postureProbe(g))
	return cmd
}

func postureScan(g *globals) *cobra.Command {
	var format, failOn, rules string
	var record bool
	cmd := &cobra.Command{
		Use:   "scan PATH... [--format table|json|sarif] [--fail-on SEV] [--rules DIR] [--record]",
		Short: "Judge Dockerfiles, Kubernetes manifests, compose files and Terraform",
		Long: `Read Dockerfiles (with BuildKit's parser), Kubernetes manifests (multi-document
YAML, rendered Helm or Kustomize output), compose files and Terraform, and
judge them together with the embedded AI rule pack (Rego): containers that
run as root or keep privileges, unpinned base images, credentials in ENV or
ARG, model-server ports exposed outside the cluster, model and data
buckets without encryption, public access block or versioning (their
settings may be in other resources or files). --rules DIR adds .rego files
(package modelgate.posture, adding to deny) or replaces embedded ones by
name. docs/posture.md lists every rule.

Exit status: 0 nothing at or above --fail-on (default medium), 1
findings, 2 bad usage or a file that does not parse.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			threshold, err := reportOptions(format, failOn)
			if err != nil {
				return err
			}
			docs, err := posture.Load(args)
			if err != nil {
				return usageError{err}
			}
			e, err := posture.NewEngine(cmd.Context(), rules)
			if err != nil {
				return usageError{err}
			}
			rep, err := e.Evaluate(cmd.Context(), docs)
			if err != nil {
				return err
			}
			ruleset := postureRuleset{PackDigest: e.PackDigest, Digest: e.Digest, Modules: e.Modules, UserRules: rules}
			switch format {
			case "json":
				err = writeJSON(g.stdout, struct {
					*finding.Report
					Rules postureRuleset `json:"rules"`
				}{rep, ruleset})
			case "sarif":
				err = finding.WriteSARIF(g.stdout, rep, "modelgate", versionString())
			default:
				if err = finding.WriteTable(g.stdout, rep); err == nil {
					err = ruleset.writeLine(g.stdout)
				}
			}
			if err != nil {
				return err
			}
			if record {
				if err := recordFindings(cmd.Context(), g, "posture", args, rep); err != nil {
					return fmt.Errorf("recording the findings: %w", err)
				}
			}
			if rep.Fails(threshold) {
				return findings{msg: "the configuration breaks the rules"}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&format, "format", "table", "table, json or sarif")
	cmd.Flags().StringVar(&failOn, "fail-on", "medium", "fail (exit 1) on findings of this severity or above")
	cmd.Flags().StringVar(&rules, "rules", "", "directory of .rego files that add to or replace the embedded rules")
	cmd.Flags().BoolVar(&record, "record", false, "record the findings by severity in the audit log (evidence for report kri)")
	return cmd
}

// postureRuleset records which rules judged: the embedded pack's pinned
// digest and, when user rules were given, the digest of the set in use.
type postureRuleset struct {
	PackDigest string   `json:"pack_digest"`
	Digest     string   `json:"digest"`
	Modules    []string `json:"modules"`
	UserRules  string   `json:"user_rules,omitempty"`
}

func (r postureRuleset) writeLine(w io.Writer) error {
	if r.UserRules == "" {
		_, err := fmt.Fprintf(w, "rules: embedded pack sha256:%s\n", r.PackDigest)
		return err
	}
	_, err := fmt.Fprintf(w, "rules: embedded pack sha256:%s with %s: sha256:%s\n", r.PackDigest, r.UserRules, r.Digest)
	return err
}

func postureRules(g *globals) *cobra.Command {
	var format, rules string
	cmd := &cobra.Command{
		Use:   "rules [--format table|json] [--rules DIR]",
		Short: "List the posture rules with their severity, title and references",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkFormat(format, "table", "json"); err != nil {
				return err
			}
			e, err := posture.NewEngine(cmd.Context(), rules)
			if err != nil {
				return usageError{err}
			}
			list, err := e.Rules(cmd.Context())
			if err != nil {
				return err
			}
			if format == "json" {
				return writeJSON(g.stdout, list)
			}
			tw := tabwriter.NewWriter(g.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "RULE\tSEVERITY\tTITLE")
			for _, r := range list {
				fmt.Fprintf(tw, "%s\t%s\t%s\n", r.ID, r.Severity, r.Title)
			}
			if err := tw.Flush(); err != nil {
				return err
			}
			return postureRuleset{PackDigest: e.PackDigest, Digest: e.Digest, UserRules: rules}.writeLine(g.stdout)
		},
	}
	cmd.Flags().StringVar(&format, "format", "table", "table or json")
	cmd.Flags().StringVar(&rules, "rules", "", "directory of .rego files that add to or replace the embedded rules")
	return cmd
}
