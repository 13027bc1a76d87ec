package gateway

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"time"
)

// maxEventBytes bounds one server-sent event, so an upstream that never
// ends an event cannot make the gateway buffer without limit.
const maxEventBytes = 1 << 20

var errEventTooLarge = errors.New("event too large")

// relayStream passes a server-sent event stream to the client event by
// event: each event is read whole, given to the output filters, written
// and flushed before the next is read. Nothing is buffered beyond one event
// unless a filter holds events back. If the client goes away the request
// context ends, which cancels the upstream call.
func (g *Gateway) relayStream(x *Exchange, resp *http.Response, start time.Time) {
	if !g.startStream(x, resp.StatusCode) {
		return
	}
	h := x.W.Header()
	copyResponseHeaders(h, resp.Header)
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no") // tell nginx-style proxies in front not to buffer
	x.W.WriteHeader(resp.StatusCode)
	flusher := x.W.(http.Flusher)
	flusher.Flush()

	var filters []StreamFilter
	for _, f := range g.opts.Hooks.Output {
		if sf := f.FilterStream(x); sf != nil {
			filters = append(filters, sf)
		}
	}
	s := &relay{x: x, start: start, flusher: flusher}
	if f := formatOf(x.Endpoint); f != nil {
		s.follower = f.follow()
	}
	s.account = x.upstreamOK && s.follower != nil
	s.capture = g.opts.Recorder != nil && g.opts.Recorder.CaptureStream(x)

	br := bufio.NewReaderSize(resp.Body, 16<<10)
	var buf []byte
	for {
		ev, err := readEvent(br, buf[:0])
		buf = ev
		if len(ev) > 0 {
			if s.follower != nil {
				s.follower.observe(EventData(ev))
			}
			if s.capture {
				s.keep(&x.UpstreamBody, ev)
			}
			out, ferr := filterEvent(filters, ev)
			if ferr != nil {
				g.streamFailed(s, ferr)
				return
			}
			if !s.send(out) {
				s.finish()
				return // the client is gone
			}
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			g.streamFailed(s, err)
			return
		}
	}
	for i, f := range filters {
		held, err := f.End()
		if err == nil && i+1 < len(filters) {
			held, err = filterEvents(filters[i+1:], held)
		}
		if err != nil {
			g.streamFailed(s, err)
			return
		}
		s.send(held)
	}
	s.finish()
}

// relay is one stream being relayed.
type relay struct {
	x        *Exchange
	start    time.Time
	flusher  http.Flusher
	follower streamFollower // nil for an API whose answers the gateway does not read
	account  bool           // take the usage from the stream
	capture  bool           // keep the stream for the audit log
}

// keep appends an event to a capture, up to the route's response limit.
func (s *relay) keep(dst *[]byte, ev []byte) {
	if len(*dst)+len(ev)+2 > int(s.x.upstream.maxResponse) {
		s.x.CaptureTruncated = true
		return
	}
	*dst = append(append(*dst, ev...), eventEnd(ev)...)
}

// send writes events to the client and flushes them; false means the
// client is gone.
func (s *relay) send(events [][]byte) bool {
	for _, ev := range events {
		if s.follower != nil {
			ev = s.follower.outgoing(ev)
		}
		if s.capture {
			s.keep(&s.x.ResponseBody, ev)
		}
		if _, err := s.x.W.Write(ev); err != nil {
			return false
		}
		if _, err := s.x.W.Write(eventEnd(ev)); err != nil {
			return false
		}
	}
	s.flusher.Flush()
	return true
}

func (s *relay) finish() {
	s.x.UpstreamLatency = time.Since(s.start)
	if s.account {
		s.x.Usage = s.follower.usage(s.x.Usage)
	}
}

// streamFailed ends a stream whose status line is already sent: the only
// way left to tell the client is in the stream, in its API's terms. An
// answer an output guard withheld ends as that API ends an answer its own
// content filter stopped; anything else ends with an error event.
func (g *Gateway) streamFailed(s *relay, err error) {
	x := s.x
	var (
		r              *Refusal
		typ, code, msg string
	)
	switch {
	case errors.As(err, &r):
		x.Denial = &Denial{Status: r.Status, Type: r.Type, Code: r.Code, Message: r.Message, Blocked: r.Blocked}
		typ, code, msg = r.Type, r.Code, r.Message
	case errors.Is(err, errEventTooLarge):
		typ, code, msg = TypeUpstream, "bad_upstream_response", "the model server sent an event larger than the gateway accepts"
	case x.R.Context().Err() != nil && !errors.Is(x.R.Context().Err(), context.DeadlineExceeded):
		s.finish()
		return // the client is gone
	default:
		g.log.Warn("upstream stream failed", "request_id", x.ID, "model", x.Model, "err", err)
		typ, code, msg = TypeUpstream, "upstream_stream_error", "the model server's stream broke off"
	}
	var end [][]byte
	switch {
	case s.follower == nil:
		end = [][]byte{DataEvent(x.appendError(nil, typ, code, msg))}
	case r != nil && r.Filter != nil:
		end = s.follower.filteredEnd(x, r)
	default:
		end = s.follower.errorEnd(x, typ, code, msg)
	}
	s.send(end)
	s.finish()
}

// eventEnd returns the blank line that ends an event, in the event's own
// line-ending style.
func eventEnd(ev []byte) []byte {
	if bytes.HasSuffix(ev, []byte("\r\n")) {
		return []byte("\r\n")
	}
	if !bytes.HasSuffix(ev, []byte("\n")) {
		return []byte("\n\n") // a final event the upstream did not terminate
	}
	return []byte("\n")
}

func filterEvent(filters []StreamFilter, ev []byte) ([][]byte, error) {
	if len(filters) == 0 {
		return [][]byte{ev}, nil
	}
	return filterEvents(filters, [][]byte{ev})
}

func filterEvents(filters []StreamFilter, events [][]byte) ([][]byte, error) {
	for _, f := range filters {
		var next [][]byte
		for _, ev := range events {
			out, err := f.Event(ev)
			if err != nil {
				return nil, err
			}
			next = append(next, out...)
		}
		events = next
	}
	return events, nil
}

// readEvent reads lines up to and excluding the blank line that ends an
// event. At the end of the stream it returns what it has with io.EOF.
func readEvent(br *bufio.Reader, buf []byte) ([]byte, error) {
	midLine := false // the last read ended inside a line longer than the buffer
	for {
		line, err := br.ReadSlice('\n')
		if len(buf)+len(line) > maxEventBytes {
			return nil, errEventTooLarge
		}
		if err == bufio.ErrBufferFull {
			buf = append(buf, line...)
			midLine = true
			continue
		}
		blank := !midLine && (len(line) == 1 && line[0] == '\n' || len(line) == 2 && line[0] == '\r' && line[1] == '\n')
		midLine = false
		if blank {
			if len(buf) == 0 {
				continue // stray blank lines between events
			}
			return buf, nil
		}
		buf = append(buf, line...)
		if err != nil {
			return buf, err
		}
	}
}
