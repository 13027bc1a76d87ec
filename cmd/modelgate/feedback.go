package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/modelgate/modelgate/audit"
	"github.com/modelgate/modelgate/gateway/auditing"
	"github.com/modelgate/modelgate/guard"
	"github.com/modelgate/modelgate/guard/pii"
	"github.com/modelgate/modelgate/store"
	"github.com/spf13/cobra"
)

func newFeedback(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "feedback", Short: "Read the feedback users sent on answers (POST /v1/feedback)"}
	cmd.AddCommand(feedbackList(g), feedbackExport(g))
	return cmd
}

// feedbackEntry is the latest feedback of one submitter on one answer.
type feedbackEntry struct {
	Time      time.Time `json:"time"`
	RequestID string    `json:"request_id"`
	Model     string    `json:"model"`
	Version   string    `json:"model_version"`
	Rating    int       `json:"rating"`
	Category  string    `json:"category,omitempty"`
	Comment   string    `json:"comment,omitempty"` // personal data masked
	By        string    `json:"by"`
	Via       string    `json:"via"`
	// Prompt is the request's input, masked, when the log captured it.
	Prompt string `json:"prompt,omitempty"`
	Index  int64  `json:"audit_index"`
}

// versionRate is the negative-feedback rate of one model version.
type versionRate struct {
	Version  string  `json:"model_version"`
	Requests int     `json:"requests"`
	Feedback int     `json:"feedback"`
	Negative int     `json:"negative"`
	Rate     float64 `json:"negative_per_1000_requests"`
}

// readFeedback reads the latest feedback of each submitter on each answer
// since a time, fills in the model version of feedback sent with a key
// from the request's own event, and counts requests per version.
func readFeedback(ctx context.Context, g *globals, since time.Time, prompts bool) ([]*feedbackEntry, []versionRate, error) {
	db, err := auditFiles(ctx, g)
	if err != nil {
		return nil, nil, err
	}
	defer db.Close()
	latest := map[string]*feedbackEntry{}
	var order []string
	err = audit.Query(ctx, db, audit.Filter{Action: auditing.ActionFeedback, Since: since, WithPayloads: true}, func(ev *audit.Event, l *store.AuditLeaf) error {
		by := ev.Actor.ID
		if ev.Details["via"] == "token" {
			by = "token:" + ev.Actor.ID
		}
		e := &feedbackEntry{Time: ev.Time, RequestID: ev.Details["request_id"], Model: ev.Resource.Model, Version: ev.Resource.ModelVersion,
			Category: ev.Details["category"], By: by, Via: ev.Details["via"], Index: ev.Index}
		e.Rating, _ = strconv.Atoi(ev.Details["rating"])
		if l.Input != nil && l.Input.Data != nil {
			var body struct {
				Comment string `json:"comment"`
			}
			if json.Unmarshal(l.Input.Data, &body) == nil {
				e.Comment = maskPII(body.Comment)
			}
		}
		k := e.RequestID + "\x00" + by
		if latest[k] == nil {
			order = append(order, k)
		}
		latest[k] = e
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	byRequest := map[string][]*feedbackEntry{}
	for _, e := range latest {
		byRequest[e.RequestID] = append(byRequest[e.RequestID], e)
	}
	requests := map[string]int{}
	err = audit.Query(ctx, db, audit.Filter{Action: "inference.", Since: since.Add(-24 * time.Hour), WithPayloads: prompts}, func(ev *audit.Event, l *store.AuditLeaf) error {
		if ev.Action == audit.ActionInvoke && !ev.Time.Before(since) {
			requests[ev.Resource.Model+"@"+ev.Resource.ModelVersion]++
		}
		for _, e := range byRequest[ev.RequestID] {
			if e.Model == "" {
				e.Model, e.Version = ev.Resource.Model, ev.Resource.ModelVersion
			}
			if prompts && l.Input != nil && l.Input.Data != nil {
				e.Prompt = maskPII(string(l.Input.Data))
			}
		}
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	var out []*feedbackEntry
	rates := map[string]*versionRate{}
	for _, k := range order {
		e := latest[k]
		out = append(out, e)
		v := e.Model + "@" + e.Version
		r := rates[v]
		if r == nil {
			r = &versionRate{Version: v, Requests: requests[v]}
			rates[v] = r
		}
		r.Feedback++
		if e.Rating < 0 {
			r.Negative++
		}
	}
	var rs []versionRate
	for _, r := range rates {
		if r.Requests > 0 {
			r.Rate = float64(int(float64(r.Negative)/float64(r.Requests)*1e6)) / 1000
		}
		rs = append(rs, *r)
	}
	slices.SortFunc(rs, func(a, b versionRate) int { return b.Negative - a.Negative })
	return out, rs, nil
}

// maskPII replaces the personal data the PII guard finds with its kind.
func maskPII(s string) string {
	if s == "" {
		return s
	}
	t := &guard.Text{Segment: guard.Segment{Text: s, Kind: guard.Prose}}
	var fs []guard.Finding
	pii.Detector{}.Detect(t, func(f guard.Finding) { fs = append(fs, f) })
	slices.SortFunc(fs, func(a, b guard.Finding) int { return b.Start - a.Start })
	end := len(s) + 1
	for _, f := range fs {
		if f.End > end || f.Start < 0 || f.End > len(s) || f.Start >= f.End {
			continue // overlaps one already masked
		}
		s = s[:f.Start] + "[" + f.Entity + "]" + s[f.End:]
		end = f.Start
	}
	return s
}

func feedbackList(g *globals) *cobra.Command {
	var (
		format string
		since  time.Duration
	)
	cmd := &cobra.Command{
		Use:   "list [--since 168h] [--format table|json]",
		Short: "List feedback (the latest of each submitter on each answer), personal data masked, with the negative rate per model version",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkFormat(format, "table", "json"); err != nil {
				return err
			}
			entries, rates, err := readFeedback(cmd.Context(), g, time.Now().Add(-since), false)
			if err != nil {
				return err
			}
			if format == "json" {
				return writeJSON(g.stdout, map[string]any{"feedback": orEmpty(entries), "versions": orEmpty(rates)})
			}
			return writeFeedbackTable(g.stdout, entries, rates)
		},
	}
	cmd.Flags().StringVar(&format, "format", "table", "table or json")
	cmd.Flags().DurationVar(&since, "since", 7*24*time.Hour, "feedback sent within this long")
	return cmd
}

func orEmpty[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

func writeFeedbackTable(w io.Writer, entries []*feedbackEntry, rates []versionRate) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "MODEL VERSION\tREQUESTS\tFEEDBACK\tNEGATIVE\tNEGATIVE PER 1,000 REQUESTS")
	for _, r := range rates {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%.3g\n", r.Version, r.Requests, r.Feedback, r.Negative, r.Rate)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(w)
	tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "TIME\tREQUEST\tMODEL VERSION\tRATING\tCATEGORY\tBY\tCOMMENT")
	for _, e := range entries {
		comment := e.Comment
		if len(comment) > 60 {
			comment = comment[:57] + "..."
		}
		fmt.Fprintf(tw, "%s\t%s\t%s@%s\t%+d\t%s\t%s\t%s\n", e.Time.Local().Format(time.DateTime), e.RequestID, e.Model, e.Version, e.Rating, e.Category, e.By, comment)
	}
	return tw.Flush()
}

func feedbackExport(g *globals) *cobra.Command {
	var (
		out      string
		since    time.Duration
		negative bool
	)
	cmd := &cobra.Command{
		Use:   "export --out FILE [--negative] [--since 720h]",
		Short: "Export feedback as JSON lines (with the prompt, when captured), personal data masked: for retraining and red-team seeds",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if out == "" {
				return usagef("--out is required")
			}
			entries, _, err := readFeedback(cmd.Context(), g, time.Now().Add(-since), true)
			if err != nil {
				return err
			}
			w, closeOut, err := output(g, out)
			if err != nil {
				return err
			}
			n := 0
			for _, e := range entries {
				if negative && e.Rating >= 0 {
					continue
				}
				b, err := json.Marshal(e)
				if err != nil {
					return err
				}
				if _, err := w.Write(append(b, '\n')); err != nil {
					return err
				}
				n++
			}
			if err := closeOut(); err != nil {
				return err
			}
			_, err = fmt.Fprintf(g.stderr, "Exported %d feedback entries to %s.\n", n, out)
			return err
		},
	}
	cmd.Flags().StringVar(&out, "out", "", "the JSON-lines file to write")
	cmd.Flags().DurationVar(&since, "since", 30*24*time.Hour, "feedback sent within this long")
	cmd.Flags().BoolVar(&negative, "negative", false, "only negative feedback (red-team seeds)")
	return cmd
}
