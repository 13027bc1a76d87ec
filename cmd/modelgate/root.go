package main

import (
	"io"
	"strings"

	"github.com/modelgate/modelgate/config"
	"github.com/spf13/cobra"
)

// globals are the flags every command shares.
type globals struct {
	dataDir string
	stdout  io.Writer
	stderr  io.Writer
}

func newRoot(stdout, stderr io.Writer) *cobra.Command {
	g := &globals{stdout: stdout, stderr: stderr}
	root := &cobra.Command{
		Use:   "modelgate",
		Short: "Security and governance for AI systems: a gateway in front of your models, and the tools to run it",
		Long: `modelgate puts an authenticated, rate-limited gateway in front of model servers
(OpenAI-compatible and KServe v2) and manages who may call which model.

Start with:  modelgate demo`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.PersistentFlags().StringVar(&g.dataDir, "data-dir", config.DefaultDataDir, "data directory (keys, routes, state)")
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error { return usageError{err} })
	root.AddCommand(newServe(g), newDemo(g), newKeys(g), newAudit(g), newVersion(g))
	return root
}

// isCobraUsage recognises cobra's own argument errors, which it does not
// route through the flag error function.
func isCobraUsage(err error) bool {
	msg := err.Error()
	for _, s := range []string{"unknown command", "accepts ", "requires at least", "requires at most", "required flag", "unknown flag", "unknown shorthand"} {
		if strings.Contains(msg, s) {
			return true
		}
	}
	return false
}
