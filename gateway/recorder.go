package gateway

import (
	"net/http"
	"time"
)

// Recorder keeps a durable record of every exchange: the audit log plugs
// in here. The gateway calls Record exactly once per request.
type Recorder interface {
	// Admit is asked before a streamed request goes upstream: when
	// records cannot be written now the gateway refuses streams up front
	// with 503.
	Admit(x *Exchange) error
	// StreamStart records that a stream is about to begin, once the
	// upstream has answered and before the first byte goes to the caller.
	// A stream's full record can be written only when it ends; its start
	// must be on record before anything is released, so that a crash
	// mid-stream leaves evidence (the next start records the end as
	// missing). An error withholds the stream (503).
	StreamStart(x *Exchange) error
	// Record writes the exchange's record. With release true the gateway
	// is about to send a response it allows: Record must return only once
	// the record is durable, and an error withholds the response (503)
	// and the exchange is recorded again, as refused. With release false
	// (refusals, and streams once they end) the response is already out.
	Record(x *Exchange, release bool) error
	// CaptureStream reports whether a stream's bytes must be kept for the
	// record (its output is captured).
	CaptureStream(x *Exchange) bool
}

// GuardResult is what one guard decided about a request or response.
type GuardResult struct {
	Name     string
	Stage    string // input or output
	Verdict  string // allow, flag, redact, block
	Score    float64
	Duration time.Duration
	// Entities counts the findings acted on by entity type; never values.
	Entities map[string]int64
	// Error says why the guard could not decide, if it could not.
	Error string
}

// release records an exchange the gateway is about to answer with status,
// and refuses it instead when the record cannot be made durable.
func (g *Gateway) release(x *Exchange, status int) bool {
	if g.opts.Recorder == nil {
		return true
	}
	x.Status = status // the record carries the status about to be sent
	err := g.opts.Recorder.Record(x, true)
	if err == nil {
		x.recorded = true
		return true
	}
	g.log.Error("audit log unavailable: response withheld", "request_id", x.ID, "err", err)
	x.Status = 0
	x.Refuse(refusal(http.StatusServiceUnavailable, TypeServer, "audit_unavailable",
		"the audit log cannot record this request right now, so it was not served; try again shortly"))
	return false
}

// admitStream refuses a stream while records cannot be written.
func (g *Gateway) admitStream(x *Exchange) bool {
	if g.opts.Recorder == nil || !x.Stream {
		return true
	}
	if err := g.opts.Recorder.Admit(x); err != nil {
		g.log.Error("audit log unavailable: stream refused", "request_id", x.ID, "err", err)
		x.Refuse(refusal(http.StatusServiceUnavailable, TypeServer, "audit_unavailable",
			"the audit log cannot record streams right now; try again shortly"))
		return false
	}
	return true
}

// startStream records a stream's start, and refuses the stream when it
// cannot. Nothing has been sent to the caller yet.
func (g *Gateway) startStream(x *Exchange, status int) bool {
	if g.opts.Recorder == nil {
		return true
	}
	x.Status = status
	err := g.opts.Recorder.StreamStart(x)
	x.Status = 0
	if err == nil {
		return true
	}
	g.log.Error("audit log unavailable: stream withheld", "request_id", x.ID, "err", err)
	x.Refuse(refusal(http.StatusServiceUnavailable, TypeServer, "audit_unavailable",
		"the audit log cannot record this stream right now, so it was not served; try again shortly"))
	return false
}

// recordRest records an exchange that release did not.
func (g *Gateway) recordRest(x *Exchange) {
	if g.opts.Recorder == nil || x.recorded {
		return
	}
	x.recorded = true
	if err := g.opts.Recorder.Record(x, false); err != nil {
		g.log.Error("audit log: request not recorded", "request_id", x.ID, "status", x.Status, "err", err)
	}
}
