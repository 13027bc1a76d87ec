package main

import (
	"errors"
	"fmt"

	"github.com/modelgate/modelgate/config"
	"github.com/spf13/cobra"
)

func newConfig(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "config",
		Short: "Check configuration files",
	}
	cmd.AddCommand(configCheck(g))
	return cmd
}

func configCheck(g *globals) *cobra.Command {
	var (
		offline, plaintext bool
		format             string
	)
	cmd := &cobra.Command{
		Use:   "check FILE",
		Short: "Validate a configuration file and report every problem at once",
		Long: `Validate a configuration file as serve would, and report every problem at
once, each with its line and key. Exit 0 when it is valid, 2 when not.

--offline checks the file alone, as in CI or on a laptop: the environment
variables (credentials, DSNs, hash keys) and files (TLS certificates,
credential files, classifier weights) it names need not exist here.`,
		Example: `  modelgate config check modelgate.yaml
  modelgate config check --offline deploy/prod.yaml`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if format != "text" && format != "json" {
				return usagef("--format must be text or json, got %q", format)
			}
			cfg, err := config.LoadWith(args[0], config.Options{Offline: offline, InsecurePlaintext: plaintext})
			var ce *config.Error
			if err != nil && !errors.As(err, &ce) {
				return err // the file could not be read
			}
			if format == "json" {
				report := configReport{File: args[0], Valid: err == nil, Offline: offline, Problems: []config.Problem{}}
				if ce != nil {
					report.Problems = ce.Problems
				}
				if werr := writeJSON(g.stdout, report); werr != nil {
					return werr
				}
				return err
			}
			if err != nil {
				return err
			}
			note := ""
			if offline {
				note = " (offline: the environment variables and files it names were not checked)"
			}
			fmt.Fprintf(g.stdout, "%s: valid: %d route(s), %d guard pipeline(s), audit %s%s\n",
				args[0], len(cfg.Routes), len(cfg.Guards.Pipelines), cfg.Audit.Mode, note)
			return nil
		},
	}
	cmd.Flags().BoolVar(&offline, "offline", false, "do not require the environment variables and files the file names")
	cmd.Flags().BoolVar(&plaintext, "insecure-plaintext", false, "as serve --insecure-plaintext: allow plaintext listeners other machines can reach")
	cmd.Flags().StringVar(&format, "format", "text", "text or json")
	return cmd
}

// configReport is config check's JSON output.
type configReport struct {
	File     string           `json:"file"`
	Valid    bool             `json:"valid"`
	Offline  bool             `json:"offline"`
	Problems []config.Problem `json:"problems"`
}
