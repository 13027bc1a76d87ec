package main

import (
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/modelgate/modelgate/admin"
	"github.com/modelgate/modelgate/audit"
	"github.com/modelgate/modelgate/registry"
	"github.com/modelgate/modelgate/server"
	"github.com/spf13/cobra"
)

func newModels(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "models",
		Short: "Register models and move them through their stages",
		Long: `The model registry: every version of a model with the digests of its files,
what the scanner found, its card, signature, datasets and risk tier, and
its stage: candidate → staging → production → retired, or quarantined.
Promotion to production runs the policy gate (modelgate gate). The
registry lives in the data directory (--data-dir); every change is an
audit event.`,
	}
	cmd.AddCommand(modelsRegister(g), modelsList(g), modelsShow(g), modelsHistory(g), modelsPromote(g),
		modelsQuarantine(g), modelsGolden(g), modelsRollback(g), modelsTrust(g))
	return cmd
}

func addTrustFlags(cmd *cobra.Command, f *registryFlags) {
	cmd.Flags().StringSliceVar(&f.pubkeys, "pubkey", nil, "also trust this public key (PEM) for signatures")
	cmd.Flags().StringSliceVar(&f.certs, "cert-chain", nil, "also trust these root certificates (PEM)")
}

func addPolicyFlag(cmd *cobra.Command, f *registryFlags) {
	f.gate = true
	cmd.Flags().StringVar(&f.policyDir, "policy", "", "directory of .rego policies that add to or replace the default bundle")
	cmd.Flags().StringVar(&f.gatewayConfig, "gateway-config", "", "the gateway's modelgate.yaml: its guards and audit settings are evidence for the model's threat model")
}

func modelsRegister(g *globals) *cobra.Command {
	var (
		req     registry.ModelRequest
		metrics []string
		f       registryFlags
	)
	cmd := &cobra.Command{
		Use:   "register NAME --version V --path FILE|DIR [--card CARD.md] [--dataset NAME@VER ...] [--risk-tier low|medium|high]",
		Short: "Register a model version: hash, scan, verify its signature, read its card",
		Long: `Register a version of a model as a candidate. Every file is hashed (in
parallel, large files in 1 GB shards as OpenSSF model signing does) and
scanned with the model scanner; the signature beside the model (model.sig,
or FILE.sig) is verified against the trusted keys (modelgate models
trust, or --pubkey); the card's completeness and metrics are recorded; the
datasets it was trained on must be registered already.`,
		Example: `  modelgate models register fraud-detector --version 3 --path ./fraud-v3 \
      --card ./fraud-v3/README.md --dataset transactions@2026-10 --risk-tier high --threat-model ./fraud-v3/threatmodel.yaml`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			req.Name = args[0]
			if req.Version == "" || req.Path == "" {
				return usagef("--version and --path are required")
			}
			var err error
			if req.Metrics, err = parseMetrics(metrics); err != nil {
				return err
			}
			reg, done, err := openRegistry(cmd.Context(), g, &f)
			if err != nil {
				return err
			}
			defer done()
			m, err := reg.RegisterModel(cmd.Context(), req)
			if err != nil {
				return registryError(err)
			}
			fmt.Fprintf(g.stdout, "registered %s as a candidate\n  manifest  %s (%d files)\n  scan      %s\n  signature %s\n",
				m.Ref(), m.Manifest.Digest, len(m.Manifest.Files), scanWord(m.Scan), sigWord(m.Signature))
			if m.Signature.Error != "" {
				fmt.Fprintf(g.stdout, "            %s\n", m.Signature.Error)
			}
			if m.CardScore != nil {
				fmt.Fprintf(g.stdout, "  card      %.0f%% complete\n", 100*m.CardScore.Complete)
			} else {
				fmt.Fprintln(g.stdout, "  card      none")
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&req.Version, "version", "", "version (letters, digits, - _ . +)")
	cmd.Flags().StringVar(&req.Path, "path", "", "the model: a file or a directory")
	cmd.Flags().StringVar(&req.CardPath, "card", "", "model card (Markdown with front matter, or JSON)")
	cmd.Flags().StringSliceVar(&req.Datasets, "dataset", nil, "a registered dataset it was trained or evaluated on (NAME@VERSION)")
	cmd.Flags().StringVar(&req.RiskTier, "risk-tier", "medium", "low, medium or high")
	cmd.Flags().StringVar(&req.ThreatModel, "threat-model", "", "reference to the system's threat model")
	cmd.Flags().StringSliceVar(&metrics, "metric", nil, "an evaluation metric NAME=VALUE (adds to the card's)")
	addTrustFlags(cmd, &f)
	return cmd
}

func modelsList(g *globals) *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:   "list [NAME] [--format table|json]",
		Short: "List model versions",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkFormat(format, "table", "json"); err != nil {
				return err
			}
			reg, done, err := openExistingRegistry(cmd.Context(), g, nil)
			if err != nil {
				return err
			}
			defer done()
			name := ""
			if len(args) == 1 {
				name = args[0]
			}
			ms, err := reg.Store.ListModels(cmd.Context(), name)
			if err != nil {
				return err
			}
			if format == "json" {
				if ms == nil {
					ms = []*registry.Model{}
				}
				return writeIndentedJSON(g.stdout, ms)
			}
			tw := tabwriter.NewWriter(g.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "MODEL\tVERSION\tSTAGE\tGATE\tSIGNATURE\tSCAN\tRISK\tREGISTERED")
			for _, m := range ms {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", m.Name, m.Version, stageOf(m), gateWord(m),
					sigWord(m.Signature), scanWord(m.Scan), m.RiskTier, m.CreatedAt.Format(time.DateTime))
			}
			return tw.Flush()
		},
	}
	cmd.Flags().StringVar(&format, "format", "table", "table or json")
	return cmd
}

func modelsShow(g *globals) *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:   "show NAME@VERSION [--format table|json]",
		Short: "Show everything the registry knows about a version",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkFormat(format, "table", "json"); err != nil {
				return err
			}
			reg, done, err := openExistingRegistry(cmd.Context(), g, nil)
			if err != nil {
				return err
			}
			defer done()
			m, err := lookupModel(cmd.Context(), reg, args[0])
			if err != nil {
				return err
			}
			if format == "json" {
				return writeIndentedJSON(g.stdout, m)
			}
			w := g.stdout
			fmt.Fprintf(w, "%s\n  stage       %s\n  path        %s\n  risk tier   %s\n", m.Ref(), stageOf(m), m.Path, m.RiskTier)
			if m.Reason != "" {
				fmt.Fprintf(w, "  reason      %s\n", m.Reason)
			}
			fmt.Fprintf(w, "  manifest    %s\n  signature   %s", m.Manifest.Digest, sigWord(m.Signature))
			if m.Signature.Error != "" {
				fmt.Fprintf(w, " (%s)", m.Signature.Error)
			}
			fmt.Fprintf(w, "\n  scan        %s\n", scanWord(m.Scan))
			if m.CardScore != nil {
				fmt.Fprintf(w, "  card        %.0f%% complete", 100*m.CardScore.Complete)
				if len(m.CardScore.Missing) > 0 {
					fmt.Fprintf(w, ", missing %s", strings.Join(m.CardScore.Missing, ", "))
				}
				fmt.Fprintln(w)
			}
			if m.ThreatModel != "" {
				fmt.Fprintf(w, "  threat model %s\n", m.ThreatModel)
			}
			if len(m.Datasets) > 0 {
				fmt.Fprintf(w, "  datasets    %s\n", strings.Join(m.Datasets, ", "))
			}
			for _, k := range slices.Sorted(maps.Keys(m.Metrics)) {
				fmt.Fprintf(w, "  metric      %s = %g\n", k, m.Metrics[k])
			}
			if m.Gate != nil {
				fmt.Fprintf(w, "  gate        %s at %s\n", gateWord(m), m.Gate.At.Format(time.RFC3339))
				for _, v := range m.Gate.Violations {
					fmt.Fprintf(w, "              - %s\n", v)
				}
			}
			fmt.Fprintln(w, "  files")
			for _, f := range m.Manifest.Files {
				d := f.SHA256
				if d == "" {
					d = fmt.Sprintf("%d shards", len(f.Shards))
				}
				fmt.Fprintf(w, "    %-40s %-12s %12d  %s\n", f.Name, f.Format, f.Size, d)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&format, "format", "table", "table or json")
	return cmd
}

func modelsHistory(g *globals) *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:   "history NAME [--format table|json]",
		Short: "Show a model's history: registrations, promotions, gate decisions, quarantines, rollbacks",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkFormat(format, "table", "json"); err != nil {
				return err
			}
			if err := registry.ValidName("model name", args[0]); err != nil {
				return usageError{err}
			}
			reg, done, err := openExistingRegistry(cmd.Context(), g, nil)
			if err != nil {
				return err
			}
			defer done()
			hist, err := reg.Store.History(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			if format == "json" {
				if hist == nil {
					hist = []registry.Event{}
				}
				return writeIndentedJSON(g.stdout, hist)
			}
			tw := tabwriter.NewWriter(g.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "TIME\tVERSION\tACTION\tOUTCOME\tFROM\tTO\tACTOR\tREASON")
			for _, e := range hist {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", e.At.Format(time.RFC3339), e.Version, e.Action, e.Result(),
					orDash(string(e.From)), orDash(string(e.To)), e.Actor, e.Reason)
			}
			return tw.Flush()
		},
	}
	cmd.Flags().StringVar(&format, "format", "table", "table or json")
	return cmd
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func modelsPromote(g *globals) *cobra.Command {
	var (
		to string
		f  registryFlags
	)
	cmd := &cobra.Command{
		Use:   "promote NAME@VERSION --to staging|production|candidate|retired [--policy DIR]",
		Short: "Move a version to another stage; to production only through the gate",
		Long: `Move a version along candidate → staging → production → retired. Moving to
production re-hashes the model's files, re-verifies its signature and runs
the policy gate; a denial leaves the version where it was and lists every
violated rule. The version it replaces in production is retired.

Exit status: 0 moved, 1 denied by the gate, 2 bad usage or illegal move.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			stage, err := registry.ParseStage(to)
			if err != nil {
				return usageError{err}
			}
			if stage == registry.Quarantined {
				return usagef("use modelgate models quarantine, which takes a reason")
			}
			reg, done, err := openExistingRegistry(cmd.Context(), g, &f)
			if err != nil {
				return err
			}
			defer done()
			m, err := reg.Promote(cmd.Context(), args[0], stage)
			if err != nil {
				return registryError(err)
			}
			fmt.Fprintf(g.stdout, "%s is now in %s\n", m.Ref(), m.Stage)
			return nil
		},
	}
	cmd.Flags().StringVar(&to, "to", "", "the stage to move to")
	addPolicyFlag(cmd, &f)
	addTrustFlags(cmd, &f)
	return cmd
}

func modelsQuarantine(g *globals) *cobra.Command {
	var reason string
	cmd := &cobra.Command{
		Use:   "quarantine NAME@VERSION --reason TEXT",
		Short: "Take a version out of service at once (gateways answer 503 with the reason)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			reg, done, err := openExistingRegistry(cmd.Context(), g, nil)
			if err != nil {
				return err
			}
			defer done()
			m, err := reg.Quarantine(cmd.Context(), args[0], reason)
			if err != nil {
				return registryError(err)
			}
			fmt.Fprintf(g.stdout, "%s is quarantined: %s\n", m.Ref(), m.Reason)
			return nil
		},
	}
	cmd.Flags().StringVar(&reason, "reason", "", "why (recorded, and shown to callers of a route serving it)")
	return cmd
}

func modelsGolden(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "golden NAME@VERSION",
		Short: "Mark a version that passed the gate as the known-good one rollbacks return to",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			reg, done, err := openExistingRegistry(cmd.Context(), g, nil)
			if err != nil {
				return err
			}
			defer done()
			m, err := reg.SetGolden(cmd.Context(), args[0])
			if err != nil {
				return registryError(err)
			}
			fmt.Fprintf(g.stdout, "%s is the golden version of %s\n", m.Ref(), m.Name)
			return nil
		},
	}
}

func modelsRollback(g *globals) *cobra.Command {
	var f registryFlags
	cmd := &cobra.Command{
		Use:   "rollback NAME [--policy DIR]",
		Short: "Put the golden version (else the previous production one) back in production",
		Long: `Roll a model back: the golden version if it is not serving already, else
the version that most recently left production (neither quarantined). The
restored version passes the gate again, as its files are now; running
gateways switch to it without a restart.

Exit status: 0 rolled back, 1 denied by the gate, 2 nothing to roll back to.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			reg, done, err := openExistingRegistry(cmd.Context(), g, &f)
			if err != nil {
				return err
			}
			defer done()
			m, err := reg.Rollback(cmd.Context(), args[0])
			if err != nil {
				return registryError(err)
			}
			fmt.Fprintf(g.stdout, "%s is now in production\n", m.Ref())
			return nil
		},
	}
	addPolicyFlag(cmd, &f)
	addTrustFlags(cmd, &f)
	return cmd
}

func modelsTrust(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "trust KEY.pem|CA.pem",
		Short: "Trust a public key (or root certificate) for model signatures",
		Long: `Copy a public key (ECDSA, PEM) or root certificates (PEM) into the data
directory's trust store. Signatures are verified against every trusted key
and root when models are registered, gated and promoted.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			t := &registry.Trust{}
			if err := t.Add(args[0]); err != nil {
				return usageError{err}
			}
			b, err := os.ReadFile(args[0])
			if err != nil {
				return usageError{err}
			}
			dir := filepath.Join(g.dataDir, TrustDir)
			if err := os.MkdirAll(dir, 0o700); err != nil {
				return err
			}
			name := filepath.Base(args[0])
			if ext := strings.ToLower(filepath.Ext(name)); ext != ".pem" && ext != ".pub" && ext != ".crt" && ext != ".cer" {
				name += ".pem"
			}
			dst := filepath.Join(dir, name)
			if _, err := os.Stat(dst); err == nil {
				return usagef("%s is already trusted (%s)", name, dst)
			}
			// The trust change is recorded before it is made.
			l, adb, err := server.OpenAudit(cmd.Context(), g.dataDir, audit.Options{})
			if err != nil {
				return err
			}
			defer func() { l.Close(); adb.Close() }()
			rec := &admin.AuditLog{Log: l}
			if err := rec.RecordChange(cmd.Context(), admin.Change{Actor: cliActor(), Action: registry.ActionTrust,
				Target: name, Outcome: admin.ChangeAllowed, Details: map[string]string{"file": dst}}); err != nil {
				return err
			}
			if err := os.WriteFile(dst, b, 0o600); err != nil {
				return err
			}
			fmt.Fprintf(g.stdout, "trusted %s\n", dst)
			return nil
		},
	}
}
