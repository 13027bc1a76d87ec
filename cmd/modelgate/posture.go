package main

import (
	"github.com/modelgate/modelgate/finding"
	"github.com/modelgate/modelgate/posture"
	"github.com/spf13/cobra"
)

func newPosture(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "posture", Short: "Check AI infrastructure configuration against the AI rule pack"}
	cmd.AddCommand(postureScan(g))
	return cmd
}

func postureScan(g *globals) *cobra.Command {
	var format, failOn, rules string
	cmd := &cobra.Command{
		Use:   "scan PATH... [--format table|json|sarif] [--fail-on SEV] [--rules DIR]",
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
			if err := checkFormat(format, "table", "json", "sarif"); err != nil {
				return err
			}
			threshold, err := finding.ParseSeverity(failOn)
			if err != nil {
				return usagef("--fail-on: %v", err)
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
			switch format {
			case "json":
				err = writeJSON(g.stdout, rep)
			case "sarif":
				err = finding.WriteSARIF(g.stdout, rep, "modelgate", versionString())
			default:
				err = finding.WriteTable(g.stdout, rep)
			}
			if err != nil {
				return err
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
	return cmd
}
