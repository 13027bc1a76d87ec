package main

import (
	"log/slog"

	"github.com/modelgate/modelgate/config"
	"github.com/modelgate/modelgate/server"
	"github.com/spf13/cobra"
)

func newServe(g *globals) *cobra.Command {
	var (
		configPath string
		plaintext  bool
	)
	cmd := &cobra.Command{
		Use:   "serve --config modelgate.yaml",
		Short: "Run the gateway and its admin API",
		Long: `Run the gateway (data plane) and the admin API (control plane), each on its own
listener, until SIGINT or SIGTERM; then drain requests in flight and stop.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if configPath == "" {
				return usagef("--config is required (see docs/gateway.md for the file format)")
			}
			cfg, err := config.LoadWith(configPath, config.Options{InsecurePlaintext: plaintext})
			if err != nil {
				return err
			}
			if cmd.Flags().Changed("data-dir") {
				cfg.DataDir = g.dataDir
			}
			cfg.InsecurePlaintext = cfg.InsecurePlaintext || plaintext
			log := slog.New(cfg.Log.Handler(g.stderr))
			s, err := server.New(cmd.Context(), cfg, server.Options{Logger: log})
			if err != nil {
				return err
			}
			if keys, err := s.Store().ListKeys(cmd.Context()); err == nil && len(keys) == 0 {
				where := "--data-dir " + cfg.DataDir
				if cfg.Store.Driver == "postgres" {
					where = "--postgres-dsn-env " + cfg.Store.DSNEnv
				}
				log.Warn("no API keys exist yet; create one with: modelgate keys create --name NAME --scopes inference:invoke --models '*' " + where)
			}
			return s.Run(cmd.Context())
		},
	}
	cmd.Flags().StringVar(&configPath, "config", "", "configuration file")
	cmd.Flags().BoolVar(&plaintext, "insecure-plaintext", false, "allow plaintext HTTP on a listener reachable from other machines (when TLS ends in front)")
	return cmd
}
