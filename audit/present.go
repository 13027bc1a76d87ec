package audit

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
	"github.com/modelgate/modelgate/store"
)

// ParseTime reads a time as a person writes one on a command line: RFC
// 3339, a minute (2006-01-02T15:04), a date (2006-01-02), or an age before
// now (90s, 1h, 7d). The empty string is the zero time.
func ParseTime(s string, now time.Time) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04", time.DateOnly} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	if d, err := ParseAge(s); err == nil {
		return now.Add(-d), nil
	}
	return time.Time{}, fmt.Errorf("%q is not a time (RFC 3339 or 2006-01-02) or an age (1h, 7d)", s)
}

// ParseAge reads a Go duration, or a number of days ("7d", "1.5d").
func ParseAge(s string) (time.Duration, error) {
	if n, ok := strings.CutSuffix(s, "d"); ok {
		v, err := strconv.ParseFloat(n, 64)
		if err != nil || v < 0 {
			return 0, fmt.Errorf("%q is not a number of days", s)
		}
		return time.Duration(v * 24 * float64(time.Hour)), nil
	}
	d, err := time.ParseDuration(s)
	if err == nil && d < 0 {
		return 0, fmt.Errorf("%q is negative", s)
	}
	return d, err
}

// ValidOutcome reports whether s is an outcome a filter can select.
func ValidOutcome(s string) bool { return s == Allowed || s == Denied || s == Failed }

// Event output formats for people and tools (besides the SIEM formats of
// Formatter).
const (
	ListTable = "table"
	ListJSONL = "jsonl"
)

// EventWriter writes events as an aligned table (one line each: index,
// time, action, decision, actor, model, status, request id) or as JSON
// lines (the stored canonical JSON). Call Flush when done.
type EventWriter struct {
	format string
	w      *bufio.Writer
	tw     *tabwriter.Writer
	header bool
}

// NewEventWriter returns a writer in format ListTable or ListJSONL.
func NewEventWriter(w io.Writer, format string) (*EventWriter, error) {
	if format != ListTable && format != ListJSONL {
		return nil, fmt.Errorf("unknown listing format %q (table, jsonl)", format)
	}
	ew := &EventWriter{format: format, w: bufio.NewWriter(w)}
	ew.tw = tabwriter.NewWriter(ew.w, 0, 4, 2, ' ', 0)
	return ew, nil
}

// Write writes one event; data is its stored canonical JSON.
func (p *EventWriter) Write(ev *Event, data []byte) error {
	if p.format == ListJSONL {
		p.w.Write(data)
		return p.w.WriteByte('\n')
	}
	if !p.header {
		fmt.Fprintln(p.tw, "INDEX\tTIME\tACTION\tDECISION\tACTOR\tMODEL\tSTATUS\tREQUEST")
		p.header = true
	}
	status := ""
	if ev.HTTP != nil {
		status = strconv.Itoa(ev.HTTP.Status)
	}
	_, err := fmt.Fprintf(p.tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", ev.Index, ev.Time.UTC().Format("2006-01-02 15:04:05.000"),
		ev.Action, decisionText(ev), actorText(ev), ev.Resource.Model, status, ev.RequestID)
	return err
}

// Flush writes out what is buffered.
func (p *EventWriter) Flush() error {
	if err := p.tw.Flush(); err != nil {
		return err
	}
	return p.w.Flush()
}

func decisionText(ev *Event) string {
	if ev.Decision.Reason != "" {
		return ev.Decision.Outcome + " (" + ev.Decision.Reason + ")"
	}
	return ev.Decision.Outcome
}

func actorText(ev *Event) string {
	if ev.Actor.ID != "" {
		return ev.Actor.ID
	}
	return ev.Actor.Kind
}

// WriteDetail writes one event for a person to read: every field, then
// the captured request and response bodies, or what happened to them
// (kept as digests only, or erased).
func WriteDetail(w io.Writer, ev *Event, leaf *store.AuditLeaf) error {
	b, err := json.Marshal(ev, jsontext.Multiline(true), jsontext.WithIndent("  "))
	if err != nil {
		return err
	}
	bw := bufio.NewWriter(w)
	fmt.Fprintf(bw, "event %d\n%s\n", ev.Index, b)
	for _, p := range []struct {
		name string
		ref  *PayloadRef
		blob *store.AuditBlob
	}{{"request", ev.Payloads.Input, leaf.Input}, {"response", ev.Payloads.Output, leaf.Output}} {
		switch {
		case p.ref == nil:
			fmt.Fprintf(bw, "\n%s: not captured\n", p.name)
		case p.blob == nil:
			fmt.Fprintf(bw, "\n%s: erased (%d bytes, sha256 %s)\n", p.name, p.ref.Size, p.ref.SHA256)
		case p.blob.Data == nil:
			fmt.Fprintf(bw, "\n%s: kept as its digest only (%d bytes, sha256 %s)\n", p.name, p.ref.Size, p.ref.SHA256)
		default:
			fmt.Fprintf(bw, "\n%s (%s, %d bytes):\n%s\n", p.name, p.ref.Mode, len(p.blob.Data), p.blob.Data)
		}
	}
	return bw.Flush()
}

// MarshalProof renders a proof as indented JSON, ending in a newline.
func MarshalProof(p *Proof) ([]byte, error) {
	b, err := json.Marshal(p, jsontext.Multiline(true))
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

// ErrNotAProof is wrapped by ParseProof's errors.
var ErrNotAProof = errors.New("not an audit proof")

// ParseProof reads a proof written by MarshalProof. It checks the shape
// only; VerifyProof checks the proof.
func ParseProof(b []byte) (*Proof, error) {
	var p Proof
	if err := json.Unmarshal(b, &p, json.RejectUnknownMembers(true)); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNotAProof, err)
	}
	if len(p.Event) == 0 || p.Checkpoint == "" || p.TreeSize <= 0 {
		return nil, fmt.Errorf("%w: event, tree_size and checkpoint are required", ErrNotAProof)
	}
	return &p, nil
}
