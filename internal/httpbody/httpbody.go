// Package httpbody makes a handler's answer reach an HTTP/1 client at once,
// whether or not the handler read the request body, and bounds the time a
// body may take to arrive.
//
// net/http reads what is left of an unread request body (up to 256 KiB)
// before it writes the response, so that the connection can be reused,
// and again when the handler returns. A client that declares a body and
// never sends it therefore gets no answer to a refusal (a 401 before the
// body is read) and holds the connection, and its file descriptor, for as
// long as it likes. Track prevents both: a response to a request whose
// body was not read to its end carries Connection: close, which stops the
// first read, and once the handler returns the connection's read deadline
// is set to now, which stops the second; the connection then closes.
package httpbody

import (
	"io"
	"net/http"
	"sync/atomic"
	"time"
)

// Track wraps a request so that refusals are delivered at once and the
// body must arrive within timeout of the request's start. Call the
// returned function when the handler is done.
func Track(w http.ResponseWriter, r *http.Request, timeout time.Duration) (http.ResponseWriter, *http.Request, func()) {
	if r.ProtoMajor != 1 || r.Body == nil || r.Body == http.NoBody || r.ContentLength == 0 {
		return w, r, func() {}
	}
	rc := http.NewResponseController(w)
	b := &body{ReadCloser: r.Body, rc: rc}
	if rc.SetReadDeadline(time.Now().Add(timeout)) != nil {
		b.noDeadline = true
	}
	r2 := *r
	r2.Body = b
	return &writer{ResponseWriter: w, b: b}, &r2, func() {
		if !b.eof.Load() && !b.noDeadline {
			rc.SetReadDeadline(time.Now())
		}
	}
}

// body notes when the request body has been read to its end and then
// lifts the deadline, which must not outlive the body: it would end the
// server's watch for a closed connection, and with it a long stream.
type body struct {
	io.ReadCloser
	rc         *http.ResponseController
	eof        atomic.Bool
	noDeadline bool // the connection does not support deadlines
}

func (b *body) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err == io.EOF && !b.eof.Swap(true) && !b.noDeadline {
		b.rc.SetReadDeadline(time.Time{})
	}
	return n, err
}

// writer adds Connection: close to a response sent before the body was
// read to its end.
type writer struct {
	http.ResponseWriter
	b     *body
	wrote bool
}

func (w *writer) WriteHeader(code int) {
	if !w.wrote {
		w.wrote = true
		if !w.b.eof.Load() {
			w.Header().Set("Connection", "close")
		}
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *writer) Write(p []byte) (int, error) {
	if !w.wrote {
		w.WriteHeader(http.StatusOK)
	}
	return w.ResponseWriter.Write(p)
}

// Flush implements http.Flusher.
func (w *writer) Flush() {
	if !w.wrote {
		w.WriteHeader(http.StatusOK)
	}
	http.NewResponseController(w.ResponseWriter).Flush()
}

// Unwrap lets http.ResponseController reach the connection.
func (w *writer) Unwrap() http.ResponseWriter { return w.ResponseWriter }
