package main

import (
	"crypto/x509"
	"fmt"
	"os"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/modelgate/modelgate/config"
	"github.com/modelgate/modelgate/finding"
	"github.com/modelgate/modelgate/posture/probe"
	"github.com/spf13/cobra"
)

func postureProbe(g *globals) *cobra.Command {
	var (
		opts                probe.Options
		format, failOn      string
		keyEnv, cfgPath, ca string
		skip                []string
		expectRPM           int64
	)
	cmd := &cobra.Command{
		Use:   "probe URL... [--allow-host H] [--key-env VAR] [--config modelgate.yaml] [--format table|json|sarif]",
		Short: "Check live model endpoints: TLS, authentication, methods, limits, errors, open admin APIs",
		Long: `Probe model endpoints from the outside, read-only and bounded (at most
--max-requests requests per URL): the TLS versions, suites and certificate
they offer; whether a one-token inference needs credentials; which
methods the inference path accepts; cross-origin access; what malformed
requests reveal; the body size that gets 413; whether a burst meets 429
with Retry-After; and which model-server admin APIs (Ollama, Triton,
TorchServe, Ray, MLflow, Jupyter, Gradio, vLLM metrics) answer without
credentials (--admin-ports also tries their usual ports on the host).

Only loopback addresses are probed unless --allow-host names the host;
this is checked at every connection, so a redirect or a DNS answer cannot
lead elsewhere. The key (read from the environment variable --key-env
names, never a flag) is sent only to checks that need a caller, and only
over TLS that verifies or to loopback.

With --config (a modelgate configuration), the probe also checks that the
endpoint enforces what the file says: limits.max_body_bytes + 1 gets 413,
and rate_limits.key.rpm + 1 requests meet 429 (--expect-rpm for a key
with a rate of its own). The burst sends real one-token inferences.

Exit status: 0 nothing at or above --fail-on (default medium), 1
findings, 2 bad usage or a target outside the allowed scope.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			threshold, err := reportOptions(format, failOn)
			if err != nil {
				return err
			}
			for _, s := range skip {
				if !slices.Contains(probe.Checks, s) {
					return usagef("--skip %s: no such check (want %s)", s, strings.Join(probe.Checks, ", "))
				}
			}
			opts.Skip = skip
			if keyEnv != "" {
				opts.Key = os.Getenv(keyEnv)
				if opts.Key == "" {
					return usagef("--key-env %s: the variable is empty or not set", keyEnv)
				}
			}
			if ca != "" {
				b, err := os.ReadFile(ca)
				if err != nil {
					return usageError{err}
				}
				opts.Roots = x509.NewCertPool()
				if !opts.Roots.AppendCertsFromPEM(b) {
					return usagef("--ca %s: no PEM certificate in it", ca)
				}
			}
			if cfgPath != "" {
				cfg, err := config.LoadWith(cfgPath, config.Options{Offline: true, InsecurePlaintext: true})
				if err != nil {
					return usageError{err}
				}
				opts.Expect.MaxBodyBytes = cfg.Limits.MaxBodyBytes
				if opts.Expect.MaxBodyBytes == 0 {
					opts.Expect.MaxBodyBytes = 1 << 20 // the gateway's default
				}
				opts.Expect.RPM = cfg.RateLimits.Key.RPM
				if opts.Model == "" && len(cfg.Routes) > 0 {
					opts.Model = cfg.Routes[0].Model
				}
			}
			if expectRPM > 0 {
				opts.Expect.RPM = expectRPM
			}
			var results []*probe.Result
			for _, target := range args {
				res, err := probe.Run(cmd.Context(), target, opts)
				if err != nil {
					return usageError{err}
				}
				results = append(results, res)
			}
			rep := probe.Report(results)
			switch format {
			case "json":
				err = writeJSON(g.stdout, struct {
					Results []*probe.Result `json:"results"`
					*finding.Report
				}{results, rep})
			case "sarif":
				err = finding.WriteSARIF(g.stdout, rep, "modelgate", versionString())
			default:
				err = writeProbeTable(g, results, rep)
			}
			if err != nil {
				return err
			}
			if rep.Fails(threshold) {
				return findings{msg: "the endpoints break the rules"}
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringSliceVar(&opts.AllowHosts, "allow-host", nil, "a host (name or address) beyond loopback that may be probed; repeat for more")
	f.StringVar(&keyEnv, "key-env", "", "environment variable holding an API key for the checks that need a caller")
	f.StringVar(&cfgPath, "config", "", "the endpoint's modelgate configuration: check that it is enforced")
	f.Int64Var(&expectRPM, "expect-rpm", 0, "the key's requests per minute, when it has a rate of its own")
	f.StringVar(&opts.Model, "model", "", "model named in the one-token request (default: the config's first route, or \"probe\")")
	f.StringVar(&opts.Path, "path", "/v1/chat/completions", "inference path")
	f.StringVar(&ca, "ca", "", "PEM file of the CA that issued the endpoint's certificate (default: the system's roots)")
	f.BoolVar(&opts.AdminPorts, "admin-ports", false, "also look for admin APIs on the host's usual model-server ports")
	f.StringSliceVar(&skip, "skip", nil, "checks to leave out: "+strings.Join(probe.Checks, ", "))
	f.IntVar(&opts.MaxRequests, "max-requests", 400, "requests per URL at most")
	f.IntVar(&opts.Burst, "burst", 100, "requests of the rate-limit check when no rate is expected")
	f.Int64Var(&opts.MaxBody, "max-body", 32<<20, "largest body the size check sends")
	f.DurationVar(&opts.Timeout, "timeout", 0, "per request (default 10s)")
	f.StringVar(&format, "format", "table", "table, json or sarif")
	f.StringVar(&failOn, "fail-on", "medium", "fail (exit 1) on findings of this severity or above")
	return cmd
}

// writeProbeTable prints each URL's checks, then the findings.
func writeProbeTable(g *globals, results []*probe.Result, rep *finding.Report) error {
	tw := tabwriter.NewWriter(g.stdout, 0, 4, 2, ' ', 0)
	for _, res := range results {
		fmt.Fprintf(tw, "%s (%d requests)\n", res.URL, res.Requests)
		for _, c := range res.Checks {
			fmt.Fprintf(tw, "  %s\t%s\t%s\n", c.Name, c.Status, c.Detail)
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(g.stdout)
	return finding.WriteTable(g.stdout, rep)
}
