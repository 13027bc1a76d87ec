package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/netip"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"

	"github.com/modelgate/modelgate/access"
	"github.com/modelgate/modelgate/admin"
	"github.com/modelgate/modelgate/audit"
	"github.com/modelgate/modelgate/incident"
	"github.com/modelgate/modelgate/store"
	"github.com/spf13/cobra"
)

func newIncident(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "incident",
		Short: "Open an incident, isolate, roll back, write the evidence, close it: every step in the audit log",
	}
	cmd.AddCommand(incidentOpen(g), incidentIsolate(g), incidentRollback(g), incidentEvidence(g), incidentNote(g), incidentClose(g), incidentShow(g), incidentList(g), incidentPlaybook(g))
	return cmd
}

func cliAuditActor() audit.Actor { return audit.Actor{Kind: audit.ActorAdmin, ID: cliActor()} }

// readIncidents folds the log's incident events into incidents.
func readIncidents(ctx context.Context, g *globals) (*incident.Timeline, error) {
	db, err := auditFiles(ctx, g)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	t := &incident.Timeline{}
	err = audit.Query(ctx, db, audit.Filter{Action: "incident."}, func(ev *audit.Event, _ *store.AuditLeaf) error {
		t.Add(ev)
		return nil
	})
	return t, err
}

// openIncident returns an incident that is still open.
func openIncident(ctx context.Context, g *globals, id string) (*incident.Incident, error) {
	t, err := readIncidents(ctx, g)
	if err != nil {
		return nil, err
	}
	inc, err := t.Get(id)
	if err != nil {
		return nil, usageError{err}
	}
	if inc.Status != "open" {
		return nil, usagef("incident %s was closed at %s", id, inc.Closed.Local().Format(time.DateTime))
	}
	return inc, nil
}

// step records a response step in the log, after it was taken (or tried).
func step(ctx context.Context, g *globals, l *audit.Log, id, kind, target, result string, failed bool) error {
	if err := l.Append(ctx, incident.StepEvent(id, kind, target, result, failed, cliAuditActor())); err != nil {
		return fmt.Errorf("recording the step: %w", err)
	}
	mark := "done"
	if failed {
		mark = "FAILED"
	}
	_, err := fmt.Fprintf(g.stdout, "%-6s %s %s: %s\n", mark, kind, target, result)
	return err
}

func incidentOpen(g *globals) *cobra.Command {
	var (
		title, severity string
		alerts          []string
	)
	cmd := &cobra.Command{
		Use:   "open --title TEXT [--severity high] [--alert ID...]",
		Short: "Open an incident, linking the alerts that raised it",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if title == "" {
				return usagef("--title is required")
			}
			if !slices.Contains([]string{"low", "medium", "high", "critical"}, severity) {
				return usagef("--severity must be low, medium, high or critical, got %q", severity)
			}
			for _, a := range alerts {
				if _, err := findAlert(cmd.Context(), g, a); err != nil {
					return err
				}
			}
			_, l, done, err := openLocal(cmd.Context(), g)
			if err != nil {
				return err
			}
			defer done()
			id := incident.NewID(time.Now())
			if err := l.Append(cmd.Context(), incident.OpenEvent(id, title, severity, alerts, cliAuditActor())); err != nil {
				return err
			}
			_, err = fmt.Fprintf(g.stdout, "Opened %s: %s\n", id, title)
			return err
		},
	}
	cmd.Flags().StringVar(&title, "title", "", "what happened")
	cmd.Flags().StringVar(&severity, "severity", "high", "low, medium, high or critical")
	cmd.Flags().StringSliceVar(&alerts, "alert", nil, "an alert that raised it (repeat)")
	return cmd
}

func incidentIsolate(g *globals) *cobra.Command {
	var keys, ips, models []string
	var reason string
	cmd := &cobra.Command{
		Use:   "isolate ID [--key ID...] [--ip CIDR...] [--model NAME@VERSION...]",
		Short: "Revoke keys, deny addresses and quarantine model versions, on every replica of the store",
		Long: `Take what an incident touches out of service: revoke API keys, add deny rules
for addresses or ranges, and quarantine model versions (gateways answer 503
with the reason). Each change goes to the store every replica reads (the
data directory, or PostgreSQL with --postgres-dsn-env), is recorded as the
admin change it is, and as a step of the incident. A step that fails is
recorded as failed, and the others still run.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			inc, err := openIncident(ctx, g, args[0])
			if err != nil {
				return err
			}
			if len(keys)+len(ips)+len(models) == 0 {
				return usagef("nothing to isolate: give --key, --ip or --model")
			}
			why := "incident " + inc.ID + ": " + inc.Title
			if reason != "" {
				why = reason
			}
			st, l, done, err := openLocal(ctx, g)
			if err != nil {
				return err
			}
			defer done()
			recorder := &admin.AuditLog{Log: l}
			local := admin.Local{Store: st, Recorder: recorder, Actor: admin.Change{Actor: cliActor()}}
			failures := 0
			for _, k := range keys {
				id, err := access.KeyIDFromString(k)
				result := ""
				if err == nil {
					var v *admin.KeyView
					if v, err = local.RevokeKey(ctx, id); err == nil {
						result = "revoked " + v.Name + " at " + v.RevokedAt.Format(time.RFC3339)
					}
				}
				if err != nil {
					failures++
					result = err.Error()
				}
				if err := step(ctx, g, l, inc.ID, incident.StepRevokeKey, k, result, result == "" || err != nil); err != nil {
					return err
				}
			}
			for _, cidr := range ips {
				rule, err := admin.NewIPRule(ctx, st, admin.IPRuleRequest{CIDR: cidr, Action: store.IPDeny, Comment: why})
				result := ""
				if err == nil {
					err = recorder.RecordChange(ctx, admin.Change{Actor: cliActor(), Action: admin.ActionIPCreate, Target: rule.ID,
						Details: map[string]string{"cidr": rule.CIDR, "action": rule.Action}, Outcome: audit.Allowed})
				}
				if err == nil {
					err = st.CreateIPRule(ctx, rule)
				}
				if err != nil {
					failures++
					result = err.Error()
				} else {
					result = "denied " + rule.CIDR + " (rule " + rule.ID + ")"
				}
				if err := step(ctx, g, l, inc.ID, incident.StepDenyIP, cidr, result, err != nil); err != nil {
					return err
				}
			}
			if len(models) > 0 {
				reg, rdone, err := openExistingRegistry(ctx, g, nil)
				if err != nil {
					return err
				}
				defer rdone()
				for _, ref := range models {
					result := ""
					m, err := reg.Quarantine(ctx, ref, why)
					if err != nil {
						failures++
						result = err.Error()
					} else {
						result = "quarantined " + m.Ref() + " (" + m.Manifest.Digest + ")"
					}
					if err := step(ctx, g, l, inc.ID, incident.StepQuarantine, ref, result, err != nil); err != nil {
						return err
					}
				}
			}
			if failures > 0 {
				return fmt.Errorf("%d of %d isolation steps failed (recorded in the incident)", failures, len(keys)+len(ips)+len(models))
			}
			return nil
		},
	}
	cmd.Flags().StringSliceVar(&keys, "key", nil, "an API key id to revoke (repeat)")
	cmd.Flags().StringSliceVar(&ips, "ip", nil, "an address or CIDR range to deny (repeat)")
	cmd.Flags().StringSliceVar(&models, "model", nil, "a model version to quarantine, NAME@VERSION (repeat)")
	cmd.Flags().StringVar(&reason, "reason", "", "the reason shown to callers of a quarantined model (default: the incident's id and title)")
	return cmd
}

func incidentRollback(g *globals) *cobra.Command {
	var f registryFlags
	cmd := &cobra.Command{
		Use:   "rollback ID --model NAME",
		Short: "Put a model's golden version back in production, as a step of the incident",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			model, _ := cmd.Flags().GetString("model")
			if model == "" {
				return usagef("--model is required")
			}
			inc, err := openIncident(ctx, g, args[0])
			if err != nil {
				return err
			}
			reg, done, err := openExistingRegistry(ctx, g, &f)
			if err != nil {
				return err
			}
			defer done()
			_, l, ldone, err := openLocal(ctx, g)
			if err != nil {
				return err
			}
			defer ldone()
			m, rerr := reg.Rollback(ctx, model)
			result := ""
			if rerr != nil {
				result = rerr.Error()
			} else {
				result = m.Ref() + " is in production (" + m.Manifest.Digest + ")"
			}
			if err := step(ctx, g, l, inc.ID, incident.StepRollback, model, result, rerr != nil); err != nil {
				return err
			}
			if rerr != nil {
				return registryError(rerr)
			}
			return nil
		},
	}
	cmd.Flags().String("model", "", "the registry model to roll back")
	addPolicyFlag(cmd, &f)
	addTrustFlags(cmd, &f)
	return cmd
}

func incidentClose(g *globals) *cobra.Command {
	var resolution string
	cmd := &cobra.Command{
		Use:   "close ID --resolution TEXT",
		Short: "Close an incident with its resolution",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if resolution == "" {
				return usagef("--resolution is required: what was found and done")
			}
			inc, err := appendToIncident(cmd.Context(), g, args[0], func(id string) *audit.Event {
				return incident.CloseEvent(id, resolution, cliAuditActor())
			})
			if err != nil {
				return err
			}
			_, err = fmt.Fprintf(g.stdout, "Closed %s.\n", inc.ID)
			return err
		},
	}
	cmd.Flags().StringVar(&resolution, "resolution", "", "what was found and done")
	return cmd
}

// appendToIncident records an event on an open incident's timeline.
func appendToIncident(ctx context.Context, g *globals, ref string, event func(id string) *audit.Event) (*incident.Incident, error) {
	inc, err := openIncident(ctx, g, ref)
	if err != nil {
		return nil, err
	}
	_, l, done, err := openLocal(ctx, g)
	if err != nil {
		return nil, err
	}
	defer done()
	return inc, l.Append(ctx, event(inc.ID))
}

func incidentNote(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "note ID TEXT",
		Short: "Add a responder's note to an incident's timeline",
		Long: `Record what a responder found or decided, in the audit log, on the
incident's timeline: who wrote it and when are the event's.`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			text := strings.TrimSpace(args[1])
			if text == "" || len(text) > 4000 {
				return usagef("the note must be 1 to 4,000 characters")
			}
			inc, err := appendToIncident(cmd.Context(), g, args[0], func(id string) *audit.Event {
				return incident.StepEvent(id, incident.StepNote, "", text, false, cliAuditActor())
			})
			if err != nil {
				return err
			}
			_, err = fmt.Fprintf(g.stdout, "Noted on %s.\n", inc.ID)
			return err
		},
	}
	return cmd
}

func incidentShow(g *globals) *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:   "show ID [--format table|json]",
		Short: "Show an incident's timeline: its alerts and every step",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkFormat(format, "table", "json"); err != nil {
				return err
			}
			t, err := readIncidents(cmd.Context(), g)
			if err != nil {
				return err
			}
			inc, err := t.Get(args[0])
			if err != nil {
				return usageError{err}
			}
			if format == "json" {
				return writeJSON(g.stdout, inc)
			}
			w := g.stdout
			fmt.Fprintf(w, "incident  %s (%s, %s)\ntitle     %s\nopened    %s by %s (audit event %d)\n", inc.ID, inc.Severity, inc.Status, inc.Title,
				inc.Opened.Local().Format(time.DateTime), inc.OpenedBy, inc.OpenIndex)
			if inc.Status == "closed" {
				fmt.Fprintf(w, "closed    %s: %s\n", inc.Closed.Local().Format(time.DateTime), inc.Resolution)
			}
			for _, a := range inc.Alerts {
				fmt.Fprintf(w, "alert     %s\n", a)
			}
			fmt.Fprintln(w, "\ntimeline:")
			tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "TIME\tEVENT\tBY\tSTEP\tTARGET\tRESULT")
			for _, s := range inc.Steps {
				fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\t%s\n", s.Time.Local().Format(time.DateTime), s.Index, s.By, s.Kind, s.Target, s.Result)
			}
			return tw.Flush()
		},
	}
	cmd.Flags().StringVar(&format, "format", "table", "table or json")
	return cmd
}

func incidentList(g *globals) *cobra.Command {
	var all bool
	cmd := &cobra.Command{
		Use:   "list [--all]",
		Short: "List open incidents (with --all, closed ones too)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			t, err := readIncidents(cmd.Context(), g)
			if err != nil {
				return err
			}
			tw := tabwriter.NewWriter(g.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tOPENED\tSEVERITY\tSTATUS\tSTEPS\tTITLE")
			for _, inc := range t.Incidents() {
				if all || inc.Status == "open" {
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\n", inc.ID, inc.Opened.Local().Format(time.DateTime), inc.Severity, inc.Status, len(inc.Steps), inc.Title)
				}
			}
			return tw.Flush()
		},
	}
	cmd.Flags().BoolVar(&all, "all", false, "also list closed incidents")
	return cmd
}

func incidentEvidence(g *globals) *cobra.Command {
	var (
		out, config string
		before      time.Duration
	)
	cmd := &cobra.Command{
		Use:   "evidence ID --out FILE [--before 24h] [--config modelgate.yaml]",
		Short: "Write a bundle of the incident's evidence that `audit verify-bundle` checks offline",
		Long: `Write the evidence of an incident as one file: the incident's own events, its
alerts and the events behind them, and every event of the keys it revoked
and the addresses it denied from --before its opening until now, each with
its inclusion proof in one signed checkpoint, and a consistency proof from
the first checkpoint signed after the incident opened to that one (the log
was not rewritten meanwhile). The configuration's digest (--config) and
the digests of the model versions it quarantined or restored are added as
context. Writing it is recorded as a step of the incident.

modelgate audit verify-bundle FILE --pubkey KEY checks it with nothing but
the log's public key.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			if out == "" {
				return usagef("--out is required")
			}
			t, err := readIncidents(ctx, g)
			if err != nil {
				return err
			}
			inc, err := t.Get(args[0])
			if err != nil {
				return usageError{err}
			}
			l, db, err := openWriter(ctx, g)
			if err != nil {
				return err
			}
			defer db.Close()
			defer l.Close()
			indexes, context, err := incidentEventIndexes(ctx, g, db, inc, before)
			if err != nil {
				return err
			}
			if config != "" {
				b, err := os.ReadFile(config)
				if err != nil {
					return usageError{err}
				}
				sum := sha256.Sum256(b)
				context["config_sha256"] = hex.EncodeToString(sum[:])
			}
			// The step is recorded first, so the bundle holds it too.
			if err := l.Append(ctx, incident.StepEvent(inc.ID, incident.StepEvidence, out, fmt.Sprintf("%d events", len(indexes)+1), false, cliAuditActor())); err != nil {
				return err
			}
			cp, err := l.Checkpoint(ctx)
			if err != nil {
				return err
			}
			indexes = append(indexes, cp.Tree.N-1) // the evidence step just recorded
			var earlier []byte
			cps, err := db.AuditCheckpoints(ctx)
			if err != nil {
				return err
			}
			for _, c := range cps {
				if c.Size > inc.OpenIndex && c.Size < cp.Tree.N {
					earlier = c.Note
					break
				}
			}
			b, err := audit.BuildBundle(ctx, db, l.Verifier(), inc.ID, indexes, earlier)
			if err != nil {
				return err
			}
			b.Context = context
			b.Context["log"] = l.Verifier().Name()
			raw, err := json.Marshal(b, jsontext.Multiline(true))
			if err != nil {
				return err
			}
			if err := os.WriteFile(out, append(raw, '\n'), 0o600); err != nil {
				return usageError{err}
			}
			_, err = fmt.Fprintf(g.stdout, "Wrote %s: %d events of %s, proved against the checkpoint of %d events\n", out, len(b.Proofs), inc.ID, cp.Tree.N)
			return err
		},
	}
	cmd.Flags().StringVar(&out, "out", "", "the bundle file to write")
	cmd.Flags().StringVar(&config, "config", "", "the gateway's configuration file, whose digest is added")
	cmd.Flags().DurationVar(&before, "before", 24*time.Hour, "include the isolated keys' and addresses' events from this long before the incident opened")
	return cmd
}

// incidentEventIndexes finds the events an incident's evidence holds, and
// the context (model digests) its steps name.
func incidentEventIndexes(ctx context.Context, g *globals, db store.AuditStore, inc *incident.Incident, before time.Duration) ([]int64, map[string]string, error) {
	indexes := []int64{inc.OpenIndex}
	context := map[string]string{}
	keys, ips := map[string]bool{}, map[string]bool{}
	for _, s := range inc.Steps {
		indexes = append(indexes, s.Index)
		switch s.Kind {
		case incident.StepRevokeKey:
			if id, err := access.KeyIDFromString(s.Target); err == nil {
				keys[id] = true
			}
		case incident.StepDenyIP:
			ips[s.Target] = true
		case incident.StepQuarantine, incident.StepRollback:
			context["model."+s.Target] = s.Result
		}
	}
	alerts := map[string]bool{}
	for _, a := range inc.Alerts {
		alerts[a] = true
	}
	err := audit.Query(ctx, db, audit.Filter{Since: inc.Opened.Add(-before)}, func(ev *audit.Event, _ *store.AuditLeaf) error {
		switch {
		case ev.Action == "incident.close" && ev.Resource.ID == inc.ID:
			indexes = append(indexes, ev.Index)
		case ev.Action == "alert.raised" && alerts[ev.Resource.ID]:
			indexes = append(indexes, ev.Index)
			for _, s := range splitComma(ev.Details["events"]) {
				if n, err := strconv.ParseInt(s, 10, 64); err == nil {
					indexes = append(indexes, n)
				}
			}
		case keys[ev.Actor.ID] && (ev.Actor.Kind == audit.ActorAPIKey):
			indexes = append(indexes, ev.Index)
		case ev.Actor.IP != "" && ipMatches(ips, ev.Actor.IP):
			indexes = append(indexes, ev.Index)
		}
		return nil
	})
	return indexes, context, err
}

func ipMatches(rules map[string]bool, ip string) bool {
	for r := range rules {
		p, err := access.ParseCIDR(r)
		if err != nil {
			continue
		}
		if a, err := parseAddr(ip); err == nil && p.Contains(a) {
			return true
		}
	}
	return false
}

func parseAddr(s string) (netip.Addr, error) {
	a, err := netip.ParseAddr(s)
	return a.Unmap(), err
}

func splitComma(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, ",")
}

func incidentPlaybook(g *globals) *cobra.Command {
	var (
		file  string
		apply bool
	)
	cmd := &cobra.Command{
		Use:   "playbook ALERT --file PLAYBOOKS.yaml [--apply]",
		Short: "Answer an alert with the playbook that matches it: a plan by default, the steps with --apply",
		Long: `Find the first playbook in the file that answers the alert's rule (and
severity), and print its plan: the incident it would open and each step
with its target filled from the alert ({{subject}}, {{rule}}, {{alert}}).
Nothing changes without --apply; with it, the incident is opened, linked
to the alert, and each step is taken as the incident commands take it,
recorded in the audit log as it goes.

A playbook file:

  - name: stolen-key
    rules: [MON-NEW-NETWORK, MON-VOLUME]
    severity: medium
    title: "Key {{subject}} used like a stolen key"
    steps:
      - {action: revoke_key, target: "{{subject}}"}
      - {action: evidence, target: "evidence-{{alert}}.json"}

Actions: revoke_key, deny_ip, quarantine (NAME@VERSION), rollback (NAME),
evidence (a file).`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if file == "" {
				return usagef("--file is required")
			}
			b, err := os.ReadFile(file)
			if err != nil {
				return usageError{err}
			}
			books, err := incident.ParsePlaybooks(file, b)
			if err != nil {
				return usageError{err}
			}
			a, err := findAlert(cmd.Context(), g, args[0])
			if err != nil {
				return err
			}
			p, ok := incident.Match(books, a.Rule, a.Severity)
			if !ok {
				_, err := fmt.Fprintf(g.stdout, "no playbook in %s answers %s (%s)\n", file, a.Rule, a.Severity)
				return err
			}
			title := incident.Expand(p.Title, a.ID, a.Rule, a.Subject)
			if title == "" {
				title = a.Title + ": " + a.By + " " + a.Subject
			}
			fmt.Fprintf(g.stdout, "playbook %s answers %s (%s %s)\n", p.Name, a.ID, a.By, a.Subject)
			if !apply {
				fmt.Fprintf(g.stdout, "plan (nothing done; --apply to do it):\n  open incident %q, linked to %s\n", title, a.ID)
				for _, s := range p.Steps {
					fmt.Fprintf(g.stdout, "  %s %s\n", s.Action, incident.Expand(s.Target, a.ID, a.Rule, a.Subject))
				}
				return nil
			}
			// Each step runs as its command does, with this invocation's
			// data directory or shared store.
			global := []string{"--data-dir", g.dataDir}
			if g.postgresEnv != "" {
				global = append(global, "--postgres-dsn-env", g.postgresEnv)
			}
			sub := func(args ...string) (int, string) {
				var out bytes.Buffer
				code := run(cmd.Context(), append(args, global...), &out, g.stderr)
				return code, out.String()
			}
			code, out := sub("incident", "open", "--title", title, "--severity", a.Severity, "--alert", a.ID)
			fmt.Fprint(g.stdout, out)
			id := regexp.MustCompile(`INC-\d{8}-[0-9a-f]{6}`).FindString(out)
			if code != exitOK || id == "" {
				return fmt.Errorf("the incident could not be opened")
			}
			failed := 0
			for _, s := range p.Steps {
				target := incident.Expand(s.Target, a.ID, a.Rule, a.Subject)
				var args []string
				switch s.Action {
				case incident.StepRevokeKey:
					args = []string{"incident", "isolate", id, "--key", target}
				case incident.StepDenyIP:
					args = []string{"incident", "isolate", id, "--ip", target}
				case incident.StepQuarantine:
					args = []string{"incident", "isolate", id, "--model", target}
				case incident.StepRollback:
					args = []string{"incident", "rollback", id, "--model", target}
				case incident.StepEvidence:
					args = []string{"incident", "evidence", id, "--out", target}
				}
				code, out := sub(args...)
				fmt.Fprint(g.stdout, out)
				if code != exitOK {
					failed++
				}
			}
			if failed > 0 {
				return fmt.Errorf("%d of %d steps of playbook %s failed (see incident %s)", failed, len(p.Steps), p.Name, id)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&file, "file", "", "the playbooks (YAML)")
	cmd.Flags().BoolVar(&apply, "apply", false, "take the steps (default: print the plan)")
	return cmd
}
