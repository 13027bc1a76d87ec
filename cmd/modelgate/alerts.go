package main

import (
	"context"
	"fmt"
	"os"
	"slices"
	"text/tabwriter"
	"time"

	"github.com/modelgate/modelgate/audit"
	"github.com/modelgate/modelgate/monitor"
	"github.com/modelgate/modelgate/store"
	"github.com/spf13/cobra"
)

func newAlerts(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "alerts", Short: "List, show and acknowledge the monitor's alerts (kept in the audit log)"}
	cmd.AddCommand(alertsList(g), alertsShow(g), alertsAck(g), alertsRules(g))
	return cmd
}

// alertState is an alert with what was done about it.
type alertState struct {
	monitor.Alert
	Index   int64     `json:"audit_index"`
	Raised  time.Time `json:"raised"`
	Status  string    `json:"status"` // open or acknowledged
	AckedBy string    `json:"acked_by,omitempty"`
	AckedAt time.Time `json:"acked_at,omitzero"`
	Note    string    `json:"note,omitempty"`
}

// readAlerts reads every alert and acknowledgement since a time, oldest
// first.
func readAlerts(ctx context.Context, g *globals, since time.Time) ([]*alertState, error) {
	db, err := auditFiles(ctx, g)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	var (
		out  []*alertState
		byID = map[string]*alertState{}
	)
	err = audit.Query(ctx, db, audit.Filter{Action: "alert.", Since: since}, func(ev *audit.Event, _ *store.AuditLeaf) error {
		switch ev.Action {
		case monitor.ActionAlertRaised:
			a, err := monitor.AlertOf(ev)
			if err != nil {
				return err
			}
			s := &alertState{Alert: a, Index: ev.Index, Raised: ev.Time, Status: "open"}
			byID[a.ID] = s
			out = append(out, s)
		case monitor.ActionAlertAck:
			if s := byID[ev.Resource.ID]; s != nil {
				s.Status, s.AckedBy, s.AckedAt, s.Note = "acknowledged", ev.Actor.ID, ev.Time, ev.Details["note"]
			}
		}
		return nil
	})
	return out, err
}

func alertsList(g *globals) *cobra.Command {
	var (
		format string
		all    bool
		since  time.Duration
	)
	cmd := &cobra.Command{
		Use:   "list [--all] [--since 24h] [--format table|json]",
		Short: "List open alerts (with --all, acknowledged ones too), newest first",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkFormat(format, "table", "json"); err != nil {
				return err
			}
			var from time.Time
			if since > 0 {
				from = time.Now().Add(-since)
			}
			alerts, err := readAlerts(cmd.Context(), g, from)
			if err != nil {
				return err
			}
			if !all {
				alerts = slices.DeleteFunc(alerts, func(a *alertState) bool { return a.Status != "open" })
			}
			slices.Reverse(alerts)
			if format == "json" {
				if alerts == nil {
					alerts = []*alertState{}
				}
				return writeJSON(g.stdout, alerts)
			}
			if len(alerts) == 0 {
				_, err := fmt.Fprintln(g.stdout, "no alerts")
				return err
			}
			tw := tabwriter.NewWriter(g.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tRAISED\tSEVERITY\tRULE\tSUBJECT\tSTATUS\tDETAIL")
			for _, a := range alerts {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s %s\t%s\t%s\n", a.ID, a.Raised.Local().Format(time.DateTime), a.Severity, a.Rule, a.By, a.Subject, a.Status, a.Detail)
			}
			return tw.Flush()
		},
	}
	cmd.Flags().StringVar(&format, "format", "table", "table or json")
	cmd.Flags().BoolVar(&all, "all", false, "also list acknowledged alerts")
	cmd.Flags().DurationVar(&since, "since", 0, "only alerts raised within this long (e.g. 24h); 0: all")
	return cmd
}

func findAlert(ctx context.Context, g *globals, id string) (*alertState, error) {
	alerts, err := readAlerts(ctx, g, time.Time{})
	if err != nil {
		return nil, err
	}
	i := slices.IndexFunc(alerts, func(a *alertState) bool { return a.ID == id })
	if i < 0 {
		return nil, usagef("no alert %q in the audit log (see modelgate alerts list --all)", id)
	}
	return alerts[i], nil
}

func alertsShow(g *globals) *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:   "show ID [--format table|json]",
		Short: "Show an alert, the events behind it, and its inclusion proof checked against the log's checkpoint",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkFormat(format, "table", "json"); err != nil {
				return err
			}
			a, err := findAlert(cmd.Context(), g, args[0])
			if err != nil {
				return err
			}
			l, db, err := openWriter(cmd.Context(), g)
			if err != nil {
				return err
			}
			defer db.Close()
			defer l.Close()
			var events []*audit.Event
			for _, i := range a.Events {
				leaf, err := db.AuditLeaf(cmd.Context(), i)
				if err != nil {
					return fmt.Errorf("event %d behind the alert: %w", i, err)
				}
				ev, err := audit.ParseEvent(leaf.Data)
				if err != nil {
					return fmt.Errorf("event %d behind the alert: %w", i, err)
				}
				events = append(events, ev)
			}
			// A checkpoint that covers the alert, then its proof against it.
			if _, err := l.Checkpoint(cmd.Context()); err != nil {
				return fmt.Errorf("checkpoint: %w", err)
			}
			p, err := audit.BuildProof(cmd.Context(), db, l.Verifier(), a.Index)
			if err != nil {
				return fmt.Errorf("the alert's inclusion proof: %w", err)
			}
			if _, err = audit.VerifyProof(p, l.Verifier()); err != nil {
				return findings{msg: fmt.Sprintf("the alert's inclusion proof does not verify: %v", err)}
			}
			proof := fmt.Sprintf("verified: event %d is in the log of %d events signed by %s", a.Index, p.TreeSize, l.Verifier().Name())
			if format == "json" {
				return writeJSON(g.stdout, map[string]any{"alert": a, "events": events, "proof": proof})
			}
			w := g.stdout
			fmt.Fprintf(w, "alert     %s (%s)\nrule      %s: %s\nsubject   %s %s\nraised    %s (audit event %d)\nobserved  %s\ndetail    %s\nstatus    %s",
				a.ID, a.Severity, a.Rule, a.Title, a.By, a.Subject, a.Raised.Local().Format(time.DateTime), a.Index, a.Time.Local().Format(time.DateTime), a.Detail, a.Status)
			if a.AckedBy != "" {
				fmt.Fprintf(w, " by %s at %s", a.AckedBy, a.AckedAt.Local().Format(time.DateTime))
				if a.Note != "" {
					fmt.Fprintf(w, ": %s", a.Note)
				}
			}
			fmt.Fprintf(w, "\nproof     %s\n\nevents behind it:\n", proof)
			tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "INDEX\tTIME\tACTION\tACTOR\tIP\tMODEL\tDECISION")
			for _, ev := range events {
				fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s %s\n", ev.Index, ev.Time.Local().Format(time.DateTime), ev.Action, ev.Actor.ID, ev.Actor.IP, ev.Resource.Model, ev.Decision.Outcome, ev.Decision.Reason)
			}
			return tw.Flush()
		},
	}
	cmd.Flags().StringVar(&format, "format", "table", "table or json")
	return cmd
}

func alertsAck(g *globals) *cobra.Command {
	var note string
	cmd := &cobra.Command{
		Use:   "ack ID [--note TEXT]",
		Short: "Acknowledge an alert (recorded in the audit log)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			a, err := findAlert(cmd.Context(), g, args[0])
			if err != nil {
				return err
			}
			if a.Status != "open" {
				return usagef("alert %s was acknowledged by %s at %s", a.ID, a.AckedBy, a.AckedAt.Local().Format(time.DateTime))
			}
			_, l, done, err := openLocal(cmd.Context(), g)
			if err != nil {
				return err
			}
			defer done()
			ev := &audit.Event{Time: time.Now().UTC(), Actor: audit.Actor{Kind: audit.ActorAdmin, ID: cliActor()}, Action: monitor.ActionAlertAck,
				Resource: audit.Resource{ID: a.ID}, Decision: audit.Decision{Outcome: audit.Allowed}, Details: map[string]string{"rule": a.Rule, "note": note}}
			if err := l.Append(cmd.Context(), ev); err != nil {
				return err
			}
			_, err = fmt.Fprintf(g.stdout, "Acknowledged %s.\n", a.ID)
			return err
		},
	}
	cmd.Flags().StringVar(&note, "note", "", "why, or what was done")
	return cmd
}

func alertsRules(g *globals) *cobra.Command {
	var format, file string
	cmd := &cobra.Command{
		Use:   "rules [--rules-file F] [--format table|json]",
		Short: "List the detection rules in force",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkFormat(format, "table", "json"); err != nil {
				return err
			}
			rules, err := monitor.DefaultRules()
			if err != nil {
				return err
			}
			if file != "" {
				user, err := readRulesFile(file)
				if err != nil {
					return err
				}
				rules = monitor.Merge(rules, user)
			}
			if format == "json" {
				return writeJSON(g.stdout, rules)
			}
			tw := tabwriter.NewWriter(g.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "RULE\tSEVERITY\tKIND\tBY\tWINDOW\tTHRESHOLD\tTITLE")
			for _, r := range rules {
				state := r.Title
				if r.Disabled {
					state += " (disabled)"
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%g\t%s\n", r.ID, r.Severity, r.Kind, r.By, time.Duration(r.Window), r.Threshold, state)
			}
			return tw.Flush()
		},
	}
	cmd.Flags().StringVar(&format, "format", "table", "table or json")
	cmd.Flags().StringVar(&file, "rules-file", "", "a rules file that adds to or replaces the embedded rules (as monitoring.rules_file)")
	return cmd
}

func readRulesFile(path string) ([]monitor.Rule, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, usageError{err}
	}
	rules, err := monitor.ParseRules(path, b)
	if err != nil {
		return nil, usageError{err}
	}
	return rules, nil
}
