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

// Refusal is an error that becomes a JSON error response in the shape of
// the API called (OpenAI's, or Anthropic's on /v1/messages). Stages return
// one (or call Refuse) to stop a request.
type Refusal struct {
	Status  int
	Type    string
	Code    string
	Message string
	Header  http.Header // extra response headers (Allow, Retry-After)
	// Blocked marks a guard's decision rather than a failure: the audit
	// log records it as denied, whatever the status.
	Blocked bool
	// Filter, on an answer an output guard stopped, has the caller told
	// the way each API reports its own content filter (a 200 whose
	// finish_reason is "content_filter", a Responses answer "incomplete"
	// for "content_filter", a Messages answer stopped for "refusal")
	// instead of by an error status that SDKs would retry.
	Filter *ContentFilter
}

// ContentFilter says which guard withheld an answer and what it found.
type ContentFilter struct {
	Guard    string
	Entities []string
}

func (r *Refusal) Error() string { return fmt.Sprintf("%d %s: %s", r.Status, r.Code, r.Message) }

// refusal builds a Refusal with a formatted message.
func refusal(status int, typ, code, format string, args ...any) *Refusal {
	return &Refusal{Status: status, Type: typ, Code: code, Message: fmt.Sprintf(format, args...)}
}

// retryable reports whether sending the same request again may succeed.
// OpenAI's and Anthropic's SDKs retry 408, 409, 429 and every 5xx (twice,
// by default) unless the answer carries x-should-retry; a refusal that a
// retry cannot change says so, or a blocked generation would be generated,
// paid for and blocked three times.
func (r *Refusal) retryable() bool {
	switch {
	case r.Status == http.StatusRequestTimeout, r.Status == http.StatusTooManyRequests:
		return true
	case r.Status < 500, r.Blocked:
		return false
	}
	switch r.Code {
	case "upstream_misconfigured", "upstream_auth_failed", "bad_upstream_response",
		"upstream_response_too_large", "model_unavailable", "guard_pipeline_unknown":
		return false // configuration, not chance: the same request fails the same way
	}
	return true // the store, the audit log, a guard or the upstream may be back shortly
}

// Refuse sends r as the response and records the denial on the exchange.
func (x *Exchange) Refuse(r *Refusal) {
	x.Denial = &Denial{Status: r.Status, Type: r.Type, Code: r.Code, Message: r.Message, Blocked: r.Blocked}
	h := x.W.Header()
	for k, v := range r.Header {
		h[k] = v
	}
	if !r.retryable() {
		h.Set("X-Should-Retry", "false")
	}
	b := x.appendError(make([]byte, 0, 160+len(r.Message)), r.Type, r.Code, r.Message)
	b = append(b, '\n')
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(b)))
	h.Set("X-Content-Type-Options", "nosniff")
	x.W.WriteHeader(r.Status)
	x.W.Write(b)
	x.Status = r.Status
}

// appendError appends the error body for the exchange's API: OpenAI's
// {"error":{"message","type","code","request_id"}}, or on the Messages
// API Anthropic's {"type":"error","error":{"type","message","code"},
// "request_id"}, whose error types its SDKs map to their exceptions.
func (x *Exchange) appendError(b []byte, typ, code, msg string) []byte {
	if x.Endpoint == EndpointMessages {
		b = append(b, `{"type":"error","error":{"type":`...)
		b, _ = jsontext.AppendQuote(b, anthropicErrorType(typ, code))
		b = append(b, `,"message":`...)
		b, _ = jsontext.AppendQuote(b, msg) // invalid UTF-8 becomes U+FFFD, never an error here
		b = append(b, `,"code":`...)
		b, _ = jsontext.AppendQuote(b, code)
		b = append(b, `},"request_id":`...)
		b, _ = jsontext.AppendQuote(b, x.ID)
		return append(b, '}')
	}
	b = append(b, `{"error":{"message":`...)
	b, _ = jsontext.AppendQuote(b, msg)
	b = append(b, `,"type":`...)
	b, _ = jsontext.AppendQuote(b, typ)
	b = append(b, `,"code":`...)
	b, _ = jsontext.AppendQuote(b, code)
	b = append(b, `,"request_id":`...)
	b, _ = jsontext.AppendQuote(b, x.ID)
	return append(b, "}}"...)
}

// anthropicErrorType maps an error type to the one Anthropic's API uses.
func anthropicErrorType(typ, code string) string {
	switch typ {
	case TypeInvalidRequest:
		if code == "request_too_large" {
			return "request_too_large"
		}
		return typ
	case TypeAuthentication, TypePermission, TypeNotFound, TypeRateLimit:
		return typ
	}
	return "api_error"
}
