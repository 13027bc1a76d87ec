package gateway

import (
	"net/http"

	"github.com/modelgate/modelgate/access/ratelimit"
)

// responseWriter records the status on the exchange, counts bytes, and
// adds the rate-limit headers for every limit the request met, once, as
// the status goes out.
type responseWriter struct {
	http.ResponseWriter
	x     *Exchange
	wrote bool
	bytes int64
}

func (w *responseWriter) WriteHeader(code int) {
	if !w.wrote {
		w.wrote = true
		w.x.Status = code
		if len(w.x.rateApplied) > 0 {
			ratelimit.SetHeaders(w.Header(), w.x.rateApplied)
		}
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *responseWriter) Write(b []byte) (int, error) {
	if !w.wrote {
		w.WriteHeader(http.StatusOK)
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += int64(n)
	return n, err
}

// Flush sends buffered data to the client.
func (w *responseWriter) Flush() {
	if !w.wrote {
		w.WriteHeader(http.StatusOK)
	}
	http.NewResponseController(w.ResponseWriter).Flush()
}

// Unwrap lets http.ResponseController reach the connection.
func (w *responseWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
