package audit

import (
	"context"
	"time"

	"github.com/modelgate/modelgate/access"
	"github.com/modelgate/modelgate/gateway"
	"github.com/modelgate/modelgate/store"
)

// Recorder records gateway exchanges in the log; it implements
// gateway.Recorder.
type Recorder struct {
	Log *Log
	// Capture is the default for routes that set none; zero fields mean
	// hash.
	Capture store.Capture
}

var _ gateway.Recorder = (*Recorder)(nil)

// maxUserAgent bounds the user agent kept in an event.
const maxUserAgent = 256

// Admit refuses streams while a fail-closed log cannot write.
func (r *Recorder) Admit(*gateway.Exchange) error {
	if r.Log.Mode() == FailClosed {
		return r.Log.Healthy()
	}
	return nil
}

// Record writes the exchange's event: durably before a release in
// fail-closed mode, in the background otherwise.
func (r *Recorder) Record(x *gateway.Exchange, release bool) error {
	ev, payloads := r.event(x)
	if release && r.Log.Mode() == FailClosed {
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
	ev.Action = ActionStreamStart
	ev.Decision = Decision{Outcome: Allowed}
	ev.Usage, ev.LatencyUS = nil, 0
	if r.Log.Mode() == FailClosed {
		return r.Log.Append(context.WithoutCancel(x.Context()), ev)
	}
	return r.Log.Submit(ev)
}

// CaptureStream reports whether a stream's output is captured.
func (r *Recorder) CaptureStream(x *gateway.Exchange) bool {
	_, out := r.modes(x)
	return out != CaptureNone
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
		in = CaptureHash
	}
	if out == "" {
		out = CaptureHash
	}
	return in, out
}

// event builds the event for an exchange and the payloads it commits to.
func (r *Recorder) event(x *gateway.Exchange) (*Event, []Payload) {
	ev := &Event{
		Time:      x.Received,
		RequestID: x.ID,
		Actor:     actorOf(x),
		Resource:  Resource{Model: x.Model, ModelVersion: x.ModelVersion, ModelDigest: x.ModelDigest},
		HTTP:      &HTTP{Method: x.R.Method, Path: x.R.URL.Path, Status: x.Status},
		LatencyUS: time.Since(x.Received).Microseconds(),
	}
	if x.Route != nil {
		ev.Resource.Route = x.Route.Model
	}
	ev.Decision = Decision{Outcome: Allowed}
	if d := x.Denial; d != nil {
		ev.Decision = Decision{Outcome: Denied, Reason: d.Code}
		if d.Type == gateway.TypeUpstream || d.Type == gateway.TypeServer {
			ev.Decision.Outcome = Failed
		}
	}
	ev.Action = actionOf(x, ev.Decision.Outcome)
	if x.UpstreamLatency > 0 {
		ev.UpstreamLatencyUS = x.UpstreamLatency.Microseconds()
	}
	if x.Endpoint.Inference() && (x.Usage.PromptTokens > 0 || x.Usage.CompletionTokens > 0) {
		ev.Usage = &Usage{PromptTokens: x.Usage.PromptTokens, CompletionTokens: x.Usage.CompletionTokens, Estimated: x.Usage.Estimated}
	}
	for _, g := range x.Guards {
		ev.Guards = append(ev.Guards, GuardResult{Name: g.Name, Stage: g.Stage, Verdict: g.Verdict, Score: g.Score,
			DurationUS: g.Duration.Microseconds(), Entities: g.Entities, Error: g.Error})
	}
	if x.CaptureTruncated {
		ev.Details = map[string]string{"output_truncated": "true"}
	}

	var payloads []Payload
	in, out := r.modes(x)
	if x.RawBody != nil && in != CaptureNone {
		body := x.RawBody
		if in == CaptureRedacted {
			body = x.Body
		}
		payloads = append(payloads, Payload{Kind: PayloadInput, Mode: in, Data: body})
	}
	if x.Denial == nil && x.UpstreamBody != nil && out != CaptureNone {
		body := x.UpstreamBody
		if out == CaptureRedacted {
			body = x.ResponseBody
		}
		payloads = append(payloads, Payload{Kind: PayloadOutput, Mode: out, Data: body})
	}
	return ev, payloads
}

func actorOf(x *gateway.Exchange) Actor {
	a := Actor{Kind: ActorAnonymous, UserAgent: truncate(x.R.UserAgent(), maxUserAgent)}
	if x.ClientIP.IsValid() {
		a.IP = x.ClientIP.String()
	}
	if p := x.Principal; p != nil {
		a.ID = p.ID
		a.Kind = ActorAPIKey
		if p.Kind == access.KindMTLS {
			a.Kind = ActorMTLS
		}
	}
	return a
}

func actionOf(x *gateway.Exchange, outcome string) string {
	switch x.Endpoint {
	case gateway.EndpointModels, gateway.EndpointModelMetadata:
		return ActionModelsRead
	case gateway.EndpointHealth:
		return ActionHealthCheck
	}
	if outcome == Denied {
		return ActionDenied
	}
	return ActionInvoke
}
