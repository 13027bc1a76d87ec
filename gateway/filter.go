package gateway

import "bytes"

// Middleware wraps the handling of a request. Call next to continue; return
// without calling it (after x.Refuse) to stop.
type Middleware func(next Handler) Handler

// Handler handles one exchange.
type Handler func(x *Exchange)

// Hooks are where later stages plug into the data plane.
type Hooks struct {
	// Observe wrap everything after the request id and client address are
	// known, so they see every request, refused ones included, and read the
	// finished Exchange when next returns. The audit log plugs in here.
	Observe []Middleware
	// Input run once the caller is authenticated, authorised and within its
	// limits and the request body is parsed, just before the upstream call.
	// Input guards plug in here: they read x.Segments, may replace x.Body,
	// and may refuse.
	Input []Middleware
	// Output see every upstream response before the client does, streamed
	// ones event by event.
	Output []ResponseFilter
}

// ResponseFilter inspects, and may rewrite or stop, an upstream response.
type ResponseFilter interface {
	// FilterBody filters a complete (non-streamed) response body. Returning
	// a *Refusal replaces the response with that error.
	FilterBody(x *Exchange, status int, body []byte) ([]byte, error)
	// FilterStream returns a filter for one streamed response, or nil to
	// let it pass untouched.
	FilterStream(x *Exchange) StreamFilter
}

// StreamFilter filters one server-sent event stream. An event is the raw
// block of lines the upstream sent, without the blank line that ends it.
type StreamFilter interface {
	// Event receives the next upstream event and returns the events to send
	// to the client now: the same one, a rewritten one, none (held back, for
	// a filter that needs to see more text before deciding), or several. An
	// error ends the stream with an error event.
	Event(ev []byte) ([][]byte, error)
	// End is called when the upstream stream ends and returns any events
	// still held back.
	End() ([][]byte, error)
}

// EventData returns the data of an SSE event: the values of its data lines
// joined by newlines, as the SSE specification defines.
func EventData(ev []byte) []byte {
	var out []byte
	n := 0
	for line := range bytes.Lines(ev) {
		line = bytes.TrimRight(line, "\r\n")
		v, ok := bytes.CutPrefix(line, []byte("data:"))
		if !ok {
			continue
		}
		v, _ = bytes.CutPrefix(v, []byte(" "))
		if n > 0 {
			out = append(out, '\n')
		}
		out = append(out, v...)
		n++
	}
	return out
}

// DataEvent returns an event carrying data, split into data lines.
func DataEvent(data []byte) []byte {
	var out []byte
	for line := range bytes.Lines(data) {
		out = append(out, "data: "...)
		out = append(out, bytes.TrimRight(line, "\r\n")...)
		out = append(out, '\n')
	}
	if len(data) == 0 {
		out = append(out, "data: \n"...)
	}
	return out
}

// WithData returns ev with its data lines replaced by data, keeping its
// other lines (event:, id:, comments) where they were, so that a rewritten
// event of a typed stream (the Responses and Messages APIs name every
// event) keeps its name.
func WithData(ev, data []byte) []byte {
	out := make([]byte, 0, len(ev)+len(data)/8)
	wrote := false
	for line := range bytes.Lines(ev) {
		if bytes.HasPrefix(line, []byte("data:")) {
			if !wrote {
				out = append(out, DataEvent(data)...)
				wrote = true
			}
			continue
		}
		out = append(out, line...)
		if !bytes.HasSuffix(line, []byte("\n")) {
			out = append(out, '\n')
		}
	}
	if !wrote {
		out = append(out, DataEvent(data)...)
	}
	return out
}

// EventName returns the value of an event's "event:" line, or "".
func EventName(ev []byte) []byte {
	for line := range bytes.Lines(ev) {
		if v, ok := bytes.CutPrefix(line, []byte("event:")); ok {
			v, _ = bytes.CutPrefix(v, []byte(" "))
			return bytes.TrimRight(v, "\r\n")
		}
	}
	return nil
}

func chain(h Handler, mws []Middleware) Handler {
	for i := len(mws) - 1; i >= 0; i-- {
		h = mws[i](h)
	}
	return h
}
