package gateway

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"time"

	"github.com/go-json-experiment/json"
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
	var acct streamAccounting
	account := x.upstreamOK && x.Endpoint != EndpointInfer
	capture := g.opts.Recorder != nil && g.opts.Recorder.CaptureStream(x)
	keep := func(dst *[]byte, ev []byte) {
		if len(*dst)+len(ev)+2 > int(x.upstream.maxResponse) {
			x.CaptureTruncated = true
			return
		}
		*dst = append(append(*dst, ev...), eventEnd(ev)...)
	}
	send := func(events [][]byte) bool {
		for _, ev := range events {
			if capture {
				keep(&x.ResponseBody, ev)
			}
			if _, err := x.W.Write(ev); err != nil {
				return false
			}
			if _, err := x.W.Write(eventEnd(ev)); err != nil {
				return false
			}
		}
		flusher.Flush()
		return true
	}

	br := bufio.NewReaderSize(resp.Body, 16<<10)
	var buf []byte
	for {
		ev, err := readEvent(br, buf[:0])
		buf = ev
		if len(ev) > 0 {
			if account {
				acct.observe(ev)
			}
			if capture {
				keep(&x.UpstreamBody, ev)
			}
			out, ferr := filterEvent(filters, ev)
			if ferr != nil {
				g.streamFailed(x, ferr, start, &acct, account)
				return
			}
			if !send(out) {
				g.finishStream(x, start, &acct, account)
				return // the client is gone
			}
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			g.streamFailed(x, err, start, &acct, account)
			return
		}
	}
	for i, f := range filters {
		held, err := f.End()
		if err == nil && i+1 < len(filters) {
			held, err = filterEvents(filters[i+1:], held)
		}
		if err != nil {
			g.streamFailed(x, err, start, &acct, account)
			return
		}
		send(held)
	}
	g.finishStream(x, start, &acct, account)
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

// streamFailed ends a stream whose status line is already sent: the only
// way left to tell the client is an error event, in OpenAI's stream style.
func (g *Gateway) streamFailed(x *Exchange, err error, start time.Time, acct *streamAccounting, account bool) {
	var (
		r   *Refusal
		msg []byte
	)
	switch {
	case errors.As(err, &r):
		x.Denial = &Denial{Status: r.Status, Type: r.Type, Code: r.Code, Message: r.Message}
		msg = appendError(nil, x.ID, r.Type, r.Code, r.Message)
	case errors.Is(err, errEventTooLarge):
		msg = appendError(nil, x.ID, TypeUpstream, "bad_upstream_response", "the model server sent an event larger than the gateway accepts")
	case x.R.Context().Err() != nil && !errors.Is(x.R.Context().Err(), context.DeadlineExceeded):
		g.finishStream(x, start, acct, account)
		return // the client is gone
	default:
		g.log.Warn("upstream stream failed", "request_id", x.ID, "model", x.Model, "err", err)
		msg = appendError(nil, x.ID, TypeUpstream, "upstream_stream_error", "the model server's stream broke off")
	}
	x.W.Write(DataEvent(bytes.TrimRight(msg, "\n")))
	x.W.Write([]byte("\n"))
	x.W.(http.Flusher).Flush()
	g.finishStream(x, start, acct, account)
}

func (g *Gateway) finishStream(x *Exchange, start time.Time, acct *streamAccounting, account bool) {
	x.UpstreamLatency = time.Since(start)
	if account {
		x.Usage = acct.usage(x.Usage)
	}
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

// streamAccounting follows an OpenAI stream for its token usage.
type streamAccounting struct {
	reported  *Usage // the upstream's own count, from a usage chunk
	completed tokenCounter
}

func (a *streamAccounting) observe(ev []byte) {
	data := EventData(ev)
	if len(data) == 0 || data[0] != '{' {
		return // [DONE], comments, keep-alives
	}
	var chunk openAIUsage
	if json.Unmarshal(data, &chunk) != nil {
		return
	}
	if chunk.Usage != nil {
		a.reported = &Usage{PromptTokens: chunk.Usage.PromptTokens, CompletionTokens: chunk.Usage.CompletionTokens}
	}
	for _, ch := range chunk.Choices {
		a.completed.add(ch.Text)
		if ch.Delta.Content != nil {
			a.completed.add(*ch.Delta.Content)
		}
	}
}

func (a *streamAccounting) usage(estimate Usage) Usage {
	if a.reported != nil {
		return *a.reported
	}
	estimate.CompletionTokens, estimate.Estimated = a.completed.tokens(), true
	return estimate
}
