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
	// postgresEnv, set by --postgres-dsn-env, names the variable with
	// the DSN of a PostgreSQL store that replicas share: the commands
	// that read or change keys, the registry and the audit log then work
	// on it instead of the data directory's SQLite files.
	postgresEnv string
	stdout      io.Writer
	stderr      io.Writer
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
	root.PersistentFlags().StringVar(&g.postgresEnv, "postgres-dsn-env", "",
		"work on the PostgreSQL store replicas share, whose DSN is in this environment variable, instead of the data directory's (the audit key pair stays in the data directory)")
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error { return usageError{err} })
	root.AddCommand(newServe(g), newDemo(g), newKeys(g), newAudit(g), newGuard(g), newScan(g), newData(g), newKeygen(g), newSign(g), newVerify(g), newCard(g), newModels(g), newDatasets(g), newGate(g), newBOM(g), newInventory(g), newVulnDB(g), newHook(g), newPosture(g), newThreat(g), newRedteam(g), newAlerts(g), newIncident(g), newFeedback(g), newReport(g), newConfig(g), newVersion(g))
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
