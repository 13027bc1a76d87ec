package gateway

import (
	"errors"
	"io"
	"mime"
	"net/http"
	"strings"
)

// matchEndpoint sets x.Endpoint (and the model, for KServe paths) or
// refuses with 404 or 405. Paths match exactly: no cleaning, no trailing
// slashes, so "/v1//chat/completions" is not a second way in.
func (g *Gateway) matchEndpoint(x *Exchange) bool {
	path, method := x.R.URL.Path, x.R.Method
	allow := http.MethodPost
	switch path {
	case "/v1/chat/completions":
		x.Endpoint = EndpointChat
	case "/v1/completions":
		x.Endpoint = EndpointCompletions
	case "/v1/embeddings":
		x.Endpoint = EndpointEmbeddings
	case "/v1/responses":
		x.Endpoint = EndpointResponses
	case "/v1/messages":
		x.Endpoint = EndpointMessages
	case "/v1/feedback":
		x.Endpoint = EndpointFeedback
	case "/v1/models":
		x.Endpoint, allow = EndpointModels, http.MethodGet
	case "/v2/health/live", "/v2/health/ready":
		x.Endpoint, allow = EndpointHealth, http.MethodGet
	default:
		switch {
		case strings.HasPrefix(path, "/v1/models/"):
			x.Endpoint, allow = EndpointModels, http.MethodGet
			x.Model = path[len("/v1/models/"):]
		case strings.HasPrefix(path, "/v2/models/"):
			if !matchKServe(x, path[len("/v2/models/"):]) {
				return notFound(x)
			}
			if x.Endpoint == EndpointModelMetadata {
				allow = http.MethodGet
			}
		default:
			return notFound(x)
		}
	}
	if method != allow && !(allow == http.MethodGet && method == http.MethodHead) {
		r := refusal(http.StatusMethodNotAllowed, TypeInvalidRequest, "method_not_allowed",
			"%s %s is not allowed; use %s", method, path, allow)
		r.Header = http.Header{"Allow": {allow}}
		x.Refuse(r)
		return false
	}
	return true
}

// matchKServe parses name[/versions/v][/infer|/ready].
func matchKServe(x *Exchange, rest string) bool {
	parts := strings.Split(rest, "/")
	if len(parts) == 0 || !pathName.MatchString(parts[0]) {
		return false
	}
	x.Model, parts = parts[0], parts[1:]
	if len(parts) >= 2 && parts[0] == "versions" {
		if !pathName.MatchString(parts[1]) {
			return false
		}
		x.kserveVersion, x.ModelVersion = parts[1], parts[1]
		parts = parts[2:]
	}
	switch {
	case len(parts) == 0:
		x.Endpoint = EndpointModelMetadata
	case len(parts) == 1 && parts[0] == "ready":
		x.Endpoint, x.kserveSuffix = EndpointModelMetadata, "/ready"
	case len(parts) == 1 && parts[0] == "infer":
		x.Endpoint, x.kserveSuffix = EndpointInfer, "/infer"
	default:
		return false
	}
	return true
}

func notFound(x *Exchange) bool {
	x.Refuse(refusal(http.StatusNotFound, TypeNotFound, "not_found", "no such endpoint: %s", x.R.URL.Path))
	return false
}

// checkHeaderSize refuses requests whose headers exceed the limit. The HTTP
// server enforces a hard cap with a plain-text 431; this check is set lower
// so that callers get the JSON error in every case but the grossest.
func (g *Gateway) checkHeaderSize(x *Exchange) bool {
	n := len(x.R.RequestURI)
	for k, vs := range x.R.Header {
		for _, v := range vs {
			n += len(k) + len(v) + 4 // ": " and CRLF
		}
	}
	if n > g.limits.MaxHeaderBytes {
		x.Refuse(refusal(http.StatusRequestHeaderFieldsTooLarge, TypeInvalidRequest, "headers_too_large",
			"request headers are %d bytes; the limit is %d", n, g.limits.MaxHeaderBytes))
		return false
	}
	return true
}

// jsonBodyType reports whether a Content-Type can label a JSON body. The
// body is parsed as strict JSON whatever the label says, and forwarded as
// application/json, so the label matters only to refuse what cannot be
// JSON at all (multipart uploads, binary tensors). curl -d sends
// application/x-www-form-urlencoded; refusing that would refuse people,
// not attacks.
func jsonBodyType(ct string) bool {
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		return false
	}
	switch {
	case mt == "application/json", strings.HasSuffix(mt, "+json"),
		mt == "application/x-www-form-urlencoded", mt == "text/plain":
		return true
	}
	return false
}

// readRequest reads and validates an inference request body.
func (g *Gateway) readRequest(x *Exchange) bool {
	h := x.R.Header
	if ct := h.Get("Content-Type"); ct != "" && !jsonBodyType(ct) {
		x.Refuse(refusal(http.StatusUnsupportedMediaType, TypeInvalidRequest, "unsupported_media_type",
			"Content-Type must be application/json, got %q", ct))
		return false
	}
	if ce := h.Get("Content-Encoding"); ce != "" && !strings.EqualFold(ce, "identity") {
		x.Refuse(refusal(http.StatusUnsupportedMediaType, TypeInvalidRequest, "unsupported_content_encoding",
			"Content-Encoding %q is not accepted; send the body uncompressed", ce))
		return false
	}
	max := g.limits.MaxBodyBytes
	if x.R.ContentLength > max {
		tooLarge(x, max)
		return false
	}
	body, err := g.readBody(x, max)
	if err != nil {
		var mbe *http.MaxBytesError
		switch {
		case errors.As(err, &mbe):
			tooLarge(x, max)
		case errors.Is(err, errBodyTimeout):
			x.Refuse(refusal(http.StatusRequestTimeout, TypeInvalidRequest, "body_timeout",
				"the request body did not arrive within %s", g.limits.BodyReadTimeout))
		default:
			x.Refuse(refusal(http.StatusBadRequest, TypeInvalidRequest, "body_unreadable", "cannot read the request body: %v", err))
		}
		return false
	}
	if len(body) == 0 {
		x.Refuse(refusal(http.StatusBadRequest, TypeInvalidRequest, "invalid_json", "the request body is empty; send a JSON object"))
		return false
	}
	var (
		q *request
		r *Refusal
	)
	switch x.Endpoint {
	case EndpointChat:
		q, r = parseChat(body)
	case EndpointCompletions:
		q, r = parseCompletion(body)
	case EndpointEmbeddings:
		q, r = parseEmbedding(body)
	case EndpointInfer:
		q, r = parseInfer(body, x.Model)
	case EndpointResponses:
		q, r = parseResponses(body)
	case EndpointMessages:
		q, r = parseMessages(x.R.Header, body)
	}
	if r == nil {
		r = checkFoldedNames(body)
	}
	if r != nil {
		x.Refuse(r)
		return false
	}
	if q.messages > g.limits.MaxMessages {
		x.Refuse(refusal(http.StatusBadRequest, TypeInvalidRequest, "too_many_messages",
			"the request has %d messages; the limit is %d", q.messages, g.limits.MaxMessages))
		return false
	}
	if q.chars > g.limits.MaxPromptChars {
		x.Refuse(refusal(http.StatusBadRequest, TypeInvalidRequest, "prompt_too_long",
			"the prompt has %d characters; the limit is %d", q.chars, g.limits.MaxPromptChars))
		return false
	}
	x.RawBody, x.Body, x.Segments, x.Model, x.Stream, x.request = body, body, q.segments, q.model, q.stream, q
	x.Usage = Usage{PromptTokens: q.tokens, Estimated: true}
	return true
}

func tooLarge(x *Exchange, max int64) {
	x.Refuse(refusal(http.StatusRequestEntityTooLarge, TypeInvalidRequest, "request_too_large",
		"the request body exceeds the limit of %d bytes", max))
}

var errBodyTimeout = errors.New("body read timed out")

// readBody reads at most max bytes. The read deadline ServeHTTP set
// (httpbody.Track) bounds it, so a client that trickles its body cannot
// hold a request open.
func (g *Gateway) readBody(x *Exchange, max int64) ([]byte, error) {
	size := x.R.ContentLength
	if size < 0 || size > max {
		size = 512
	}
	buf := make([]byte, 0, size+1) // +1 so a complete read sees EOF without growing
	body, err := readAllInto(http.MaxBytesReader(x.W, x.R.Body, max), buf)
	var ne interface{ Timeout() bool }
	if errors.As(err, &ne) && ne.Timeout() {
		return nil, errBodyTimeout
	}
	return body, err
}

func readAllInto(r io.Reader, b []byte) ([]byte, error) {
	for {
		n, err := r.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if err == io.EOF {
			return b, nil
		}
		if err != nil {
			return b, err
		}
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
		}
	}
}
