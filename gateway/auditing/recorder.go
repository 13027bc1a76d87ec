// Package auditing records the gateway's exchanges in the audit log: the
// adapter between the data plane (gateway) and the log (audit), which
// knows nothing of audit.HTTP.
package auditing

import (
	"context"
	"strconv"
	"time"

	"github.com/modelgate/modelgate/access"
	"github.com/modelgate/modelgate/audit"
	"github.com/modelgate/modelgate/gateway"
	"github.com/modelgate/modelgate/store"
)

// Recorder records gateway exchanges in the log; it implements
// gateway.Recorder.
type Recorder struct {
	Log *audit.Log
	// Capture is the default for routes that set none; zero fields mean
	// hash.
	Capture store.Capture
}

var _ gateway.Recorder = (*Recorder)(nil)

// Admit refuses streams while a fail-closed log cannot write.
func (r *Recorder) Admit(*gateway.Exchange) error {
	if r.Log.Mode() == audit.FailClosed {
		return r.Log.Healthy()
	}
	return nil
}

// Record writes the exchange's event: durably before a release in
// fail-closed mode, in the background otherwise.
func (r *Recorder) Record(x *gateway.Exchange, release bool) error {
	ev, payloads := r.event(x)
	if release && r.Log.Mode() == audit.FailClosed {
		// The caller has gone if its context ended; the event must still
		// be written before anything is released.
		return r.Log.Append(context.WithoutCancel(x.Context()), ev, payloads...)
	}
	return r.Log.Submit(ev, payloads...)
}

// StreamStart records that a stream begins: durably before it returns in
// fail-closed mode, so that no byte of a stream reaches the caller before
// its start is on record; in the background otherwise.
func (r *Recorder) StreamStart(x *gateway.Exchange) error {
	ev, _ := r.event(x)
	ev.Action = audit.ActionStreamStart
	ev.Decision = audit.Decision{Outcome: audit.Allowed}
	ev.Usage, ev.LatencyUS = nil, 0
	if r.Log.Mode() == audit.FailClosed {
		return r.Log.Append(context.WithoutCancel(x.Context()), ev)
	}
	return r.Log.Submit(ev)
}

// CaptureStream reports whether a stream's output is captured.
func (r *Recorder) CaptureStream(x *gateway.Exchange) bool {
	_, out := r.modes(x)
	return out != audit.CaptureNone
}

func (r *Recorder) modes(x *gateway.Exchange) (in, out string) {
	in, out = r.Capture.Input, r.Capture.Output
	if x.Route != nil && x.Route.Capture != nil {
		if x.Route.Capture.Input != "" {
			in = x.Route.Capture.Input
		}
		if x.Route.Capture.Output != "" {
			out = x.Route.Capture.Output
		}
	}
	if in == "" {
		in = audit.CaptureHash
	}
	if out == "" {
		out = audit.CaptureHash
	}
	return in, out
}

// event builds the event for an exchange and the payloads it commits to.
func (r *Recorder) event(x *gateway.Exchange) (*audit.Event, []audit.Payload) {
	ev := &audit.Event{
		Time:      x.Received,
		RequestID: x.ID,
		Actor:     actorOf(x),
		Resource:  audit.Resource{Model: x.Model, ModelVersion: x.ModelVersion, ModelDigest: x.ModelDigest},
		HTTP:      &audit.HTTP{Method: x.R.Method, Path: x.R.URL.Path, Status: x.Status},
		LatencyUS: time.Since(x.Received).Microseconds(),
	}
	if x.Route != nil {
		ev.Resource.Route = x.Route.Model
	}
	ev.Decision = audit.Decision{Outcome: audit.Allowed}
	if d := x.Denial; d != nil {
		ev.Decision = audit.Decision{Outcome: audit.Denied, Reason: d.Code}
		if !d.Blocked && (d.Type == gateway.TypeUpstream || d.Type == gateway.TypeServer) {
			ev.Decision.Outcome = audit.Failed
		}
	}
	ev.Action = actionOf(x, ev.Decision.Outcome)
	if x.UpstreamLatency > 0 {
		ev.UpstreamLatencyUS = x.UpstreamLatency.Microseconds()
	}
	if x.Endpoint.Inference() && (x.Usage.PromptTokens > 0 || x.Usage.CompletionTokens > 0) {
		ev.Usage = &audit.Usage{PromptTokens: x.Usage.PromptTokens, CompletionTokens: x.Usage.CompletionTokens, Estimated: x.Usage.Estimated}
	}
	for _, g := range x.Guards {
		ev.Guards = append(ev.Guards, audit.GuardResult{Name: g.Name, Stage: g.Stage, Verdict: g.Verdict, Score: g.Score,
			DurationUS: g.Duration.Microseconds(), Entities: g.Entities, Error: g.Error})
	}
	if x.CaptureTruncated || len(x.Signals) > 0 {
		ev.Details = make(map[string]string, len(x.Signals)+1)
		for k, v := range x.Signals {
			ev.Details[k] = v
		}
		if x.CaptureTruncated {
			ev.Details["output_truncated"] = "true"
		}
	}
	if fb, ok := gateway.FeedbackOf(x); ok {
		ev.Resource.ID = fb.RequestID
		ev.Details = map[string]string{"request_id": fb.RequestID, "rating": strconv.Itoa(fb.Rating), "category": fb.Category, "via": fb.Via}
		if fb.Rating < 0 {
			ev.Details["negative"] = "true"
		}
		// The feedback itself is kept whole (and erasable, as payloads
		// are): it is what was said, for retraining and red-team seeds.
		return ev, []audit.Payload{{Kind: audit.PayloadInput, Mode: audit.CaptureFull, Data: x.RawBody}}
	}

	var payloads []audit.Payload
	in, out := r.modes(x)
	if x.RawBody != nil && in != audit.CaptureNone {
		body := x.RawBody
		if in == audit.CaptureRedacted {
			body = x.Body
		}
		payloads = append(payloads, audit.Payload{Kind: audit.PayloadInput, Mode: in, Data: body})
	}
	if x.Denial == nil && x.UpstreamBody != nil && out != audit.CaptureNone {
		body := x.UpstreamBody
		if out == audit.CaptureRedacted {
			body = x.ResponseBody
		}
		payloads = append(payloads, audit.Payload{Kind: audit.PayloadOutput, Mode: out, Data: body})
	}
	return ev, payloads
}

func actorOf(x *gateway.Exchange) audit.Actor {
	a := audit.Actor{Kind: audit.ActorAnonymous, UserAgent: audit.TrimUserAgent(x.R.UserAgent())}
	if x.ClientIP.IsValid() {
		a.IP = x.ClientIP.String()
	}
	if p := x.Principal; p != nil {
		a.ID = p.ID
		a.Kind = audit.ActorAPIKey
		if p.Kind == access.KindMTLS {
			a.Kind = audit.ActorMTLS
		}
	}
	return a
}

func actionOf(x *gateway.Exchange, outcome string) string {
	switch x.Endpoint {
	case gateway.EndpointModels, gateway.EndpointModelMetadata:
		return audit.ActionModelsRead
	case gateway.EndpointHealth:
		return audit.ActionHealthCheck
	case gateway.EndpointFeedback:
		switch _, ok := gateway.FeedbackOf(x); {
		case outcome == audit.Denied:
			return ActionFeedbackDenied
		case ok:
			return ActionFeedback
		}
		return ActionFeedbackRepeat
	}
	if outcome == audit.Denied {
		return audit.ActionDenied
	}
	return audit.ActionInvoke
}

// Feedback actions.
const (
	ActionFeedback       = "feedback.submit"
	ActionFeedbackRepeat = "feedback.repeat" // the same feedback again: nothing new
	ActionFeedbackDenied = "feedback.denied"
)
