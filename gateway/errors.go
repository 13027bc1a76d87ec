package gateway

import (
	"fmt"
	"net/http"
	"strconv"

	"github.com/go-json-experiment/json/jsontext"
)

// Error types, as in OpenAI's API.
const (
	TypeInvalidRequest = "invalid_request_error"
	TypeAuthentication = "authentication_error"
	TypePermission     = "permission_error"
	TypeNotFound       = "not_found_error"
	TypeRateLimit      = "rate_limit_error"
	TypeUpstream       = "upstream_error"
	TypeServer         = "server_error"
)

// Refusal is an error that becomes an OpenAI-style JSON error response.
// Stages return one (or call Refuse) to stop a request.
type Refusal struct {
	Status  int
	Type    string
	Code    string
	Message string
	Header  http.Header // extra response headers (Allow, Retry-After)
}

func (r *Refusal) Error() string { return fmt.Sprintf("%d %s: %s", r.Status, r.Code, r.Message) }

// refusal builds a Refusal with a formatted message.
func refusal(status int, typ, code, format string, args ...any) *Refusal {
	return &Refusal{Status: status, Type: typ, Code: code, Message: fmt.Sprintf(format, args...)}
}

// Refuse sends r as the response and records the denial on the exchange.
func (x *Exchange) Refuse(r *Refusal) {
	x.Denial = &Denial{Status: r.Status, Type: r.Type, Code: r.Code, Message: r.Message}
	h := x.W.Header()
	for k, v := range r.Header {
		h[k] = v
	}
	writeError(x.W, x.ID, r.Status, r.Type, r.Code, r.Message)
	x.Status = r.Status
}

// writeError writes {"error":{"message","type","code","request_id"}}.
func writeError(w http.ResponseWriter, requestID string, status int, typ, code, msg string) {
	b := appendError(make([]byte, 0, 128+len(msg)), requestID, typ, code, msg)
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(b)))
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	w.Write(b)
}

func appendError(b []byte, requestID, typ, code, msg string) []byte {
	b = append(b, `{"error":{"message":`...)
	b, _ = jsontext.AppendQuote(b, msg) // invalid UTF-8 becomes U+FFFD, never an error here
	b = append(b, `,"type":`...)
	b, _ = jsontext.AppendQuote(b, typ)
	b = append(b, `,"code":`...)
	b, _ = jsontext.AppendQuote(b, code)
	b = append(b, `,"request_id":`...)
	b, _ = jsontext.AppendQuote(b, requestID)
	return append(b, "}}\n"...)
}
