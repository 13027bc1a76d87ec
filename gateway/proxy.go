package gateway

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/go-json-experiment/json/jsontext"
)

// userAgent identifies the gateway to upstreams.
const userAgent = "modelgate"

// forward sends the request upstream and relays the answer.
func (g *Gateway) forward(x *Exchange) {
	u := x.upstream
	if u.err != nil {
		x.Refuse(refusal(http.StatusBadGateway, TypeUpstream, "upstream_misconfigured",
			"the route for model %q is misconfigured; the gateway log says why", x.Model))
		return
	}
	if !g.admitStream(x) {
		return
	}
	ctx, cancel := context.WithTimeout(x.Context(), u.timeout)
	defer cancel()

	method, body := http.MethodGet, x.Body
	if x.Endpoint.Inference() {
		method = http.MethodPost
		if x.Endpoint != EndpointInfer && u.upstreamModel() != x.Model {
			var err error
			if body, err = setModel(body, u.upstreamModel()); err != nil {
				x.Refuse(refusal(http.StatusBadRequest, TypeInvalidRequest, "invalid_json", "cannot rewrite the model field: %v", err))
				return
			}
		}
	}
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u.target(x, x.kserveSuffix), rd)
	if err != nil {
		x.Refuse(refusal(http.StatusBadGateway, TypeUpstream, "upstream_misconfigured", "cannot build the upstream request: %v", err))
		return
	}
	// Only these headers go upstream: never the caller's credentials,
	// cookies or hop-by-hop headers.
	h := req.Header
	if body != nil {
		h["Content-Type"] = []string{"application/json"}
	}
	h["Accept"] = []string{"application/json"}
	if x.Stream {
		h["Accept"] = []string{"text/event-stream"}
	}
	h["Accept-Encoding"] = []string{"identity"}
	h["User-Agent"] = []string{userAgent}
	h["X-Request-Id"] = []string{x.ID}
	if x.ModelDigest != "" {
		// A registry route: tell the model server which version the
		// registry admits, so one that hosts several can pick it.
		h["X-Modelgate-Model-Version"] = []string{x.ModelVersion}
		h["X-Modelgate-Model-Digest"] = []string{x.ModelDigest}
	}
	if x.Endpoint == EndpointMessages {
		// The API version and beta features are the caller's choice: the
		// body's meaning depends on them (readRequest checked their form).
		h["Anthropic-Version"] = []string{defaultAnthropicVersion}
		if v := x.R.Header.Get("Anthropic-Version"); v != "" {
			h["Anthropic-Version"] = []string{v}
		}
		if v := x.R.Header.Values("Anthropic-Beta"); len(v) > 0 {
			h["Anthropic-Beta"] = []string{strings.Join(v, ",")}
		}
	}
	if u.credHeader != "" {
		h.Set(u.credHeader, u.credValue)
	}

	start := time.Now()
	resp, err := u.client.Do(req)
	if err != nil {
		g.upstreamFailed(x, ctx, err)
		return
	}
	defer resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusUnauthorized, http.StatusForbidden, http.StatusProxyAuthRequired:
		// The upstream refused the gateway, not the caller: passing a 401
		// on would tell the caller its own key is bad.
		g.log.Error("upstream refused the gateway's credentials", "request_id", x.ID, "model", x.Model, "status", resp.StatusCode)
		x.Refuse(refusal(http.StatusBadGateway, TypeUpstream, "upstream_auth_failed",
			"the model server refused the gateway's credentials (status %d)", resp.StatusCode))
		return
	}
	if resp.StatusCode >= 300 && resp.StatusCode < 400 {
		// Passing a redirect on would send the caller (and its prompt)
		// wherever the upstream points, internal hosts included.
		x.Refuse(refusal(http.StatusBadGateway, TypeUpstream, "bad_upstream_response",
			"the model server answered with a redirect (status %d), which the gateway does not pass on", resp.StatusCode))
		return
	}
	if ce := resp.Header.Get("Content-Encoding"); ce != "" && !strings.EqualFold(ce, "identity") {
		x.Refuse(refusal(http.StatusBadGateway, TypeUpstream, "bad_upstream_response",
			"the model server sent a %s-encoded body, which the gateway cannot inspect", ce))
		return
	}
	x.upstreamOK = resp.StatusCode >= 200 && resp.StatusCode < 300
	if isEventStream(resp.Header) && (x.Route.Outputs == nil || x.Endpoint != EndpointInfer) {
		// An inference answer under output controls is read whole, even
		// if the upstream calls it a stream: the controls need all of it.
		g.relayStream(x, resp, start)
		return
	}
	g.relayBody(x, ctx, resp, start)
}

func isEventStream(h http.Header) bool {
	ct := h.Get("Content-Type")
	return strings.HasPrefix(strings.ToLower(strings.TrimSpace(ct)), "text/event-stream")
}

// upstreamFailed maps a failed upstream call to 502 or 504, or to nothing
// at all when the client itself went away.
func (g *Gateway) upstreamFailed(x *Exchange, ctx context.Context, err error) {
	if x.R.Context().Err() == context.Canceled {
		return // the client is gone; there is nobody to answer
	}
	var ne net.Error
	if errors.Is(err, context.DeadlineExceeded) || ctx.Err() == context.DeadlineExceeded || errors.As(err, &ne) && ne.Timeout() {
		x.Refuse(refusal(http.StatusGatewayTimeout, TypeUpstream, "upstream_timeout",
			"the model server for %q did not answer in time", x.Model))
		return
	}
	g.log.Warn("upstream unreachable", "request_id", x.ID, "model", x.Model, "err", err)
	x.Refuse(refusal(http.StatusBadGateway, TypeUpstream, "upstream_unreachable",
		"the model server for %q cannot be reached", x.Model))
}

// relayBody reads a whole response, notes its token usage, runs output
// filters and sends it.
func (g *Gateway) relayBody(x *Exchange, ctx context.Context, resp *http.Response, start time.Time) {
	u := x.upstream
	size := resp.ContentLength
	if size < 0 || size > u.maxResponse {
		size = 4096
	}
	data, err := readAllInto(io.LimitReader(resp.Body, u.maxResponse+1), make([]byte, 0, size+1))
	x.UpstreamLatency = time.Since(start)
	if err != nil {
		x.upstreamOK = false
		g.upstreamFailed(x, ctx, err)
		return
	}
	if int64(len(data)) > u.maxResponse {
		x.upstreamOK = false
		x.Refuse(refusal(http.StatusBadGateway, TypeUpstream, "upstream_response_too_large",
			"the model server's response exceeds %d bytes", u.maxResponse))
		return
	}
	format := formatOf(x.Endpoint)
	if x.upstreamOK && format != nil {
		x.Usage = answerUsage(format, data, x.Usage)
	}
	x.UpstreamBody = data
	if c := x.Route.Outputs; c != nil && x.Endpoint == EndpointInfer && resp.StatusCode/100 == 2 {
		if data, err = controlOutputs(data, c); err != nil {
			g.filterFailed(x, format, err)
			return
		}
	}
	for _, f := range g.opts.Hooks.Output {
		if data, err = f.FilterBody(x, resp.StatusCode, data); err != nil {
			g.filterFailed(x, format, err)
			return
		}
	}
	x.ResponseBody = data
	if !g.release(x, resp.StatusCode) {
		return
	}
	h := x.W.Header()
	copyResponseHeaders(h, resp.Header)
	h.Set("Content-Length", strconv.Itoa(len(data)))
	x.W.WriteHeader(resp.StatusCode)
	x.W.Write(data)
}

// filterFailed refuses a response an output filter stopped. A filter that
// fails rather than decides also stops it: output checks fail closed. An
// answer a guard withheld in content-filter mode is still an answer: 200,
// in the API's own content-filter terms, so that no SDK retries it.
func (g *Gateway) filterFailed(x *Exchange, format answerFormat, err error) {
	var r *Refusal
	if !errors.As(err, &r) {
		g.log.Error("output filter failed", "request_id", x.ID, "err", err)
		x.Refuse(refusal(http.StatusBadGateway, TypeServer, "output_check_failed",
			"the response could not be checked, so it was withheld"))
		return
	}
	if r.Filter == nil || format == nil {
		x.Refuse(r)
		return
	}
	body := append(format.filtered(x, r), '\n')
	x.Denial = &Denial{Status: http.StatusOK, Type: r.Type, Code: r.Code, Message: r.Message, Blocked: r.Blocked}
	x.ResponseBody = body
	if !g.release(x, http.StatusOK) {
		return
	}
	h := x.W.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Should-Retry", "false")
	x.W.WriteHeader(http.StatusOK)
	x.W.Write(body)
}

// hopHeaders are not forwarded from upstream responses: hop-by-hop fields,
// and fields the gateway sets itself.
var hopHeaders = map[string]bool{
	"Connection": true, "Keep-Alive": true, "Proxy-Authenticate": true, "Proxy-Connection": true,
	"Te": true, "Trailer": true, "Transfer-Encoding": true, "Upgrade": true,
	"Content-Length": true, "Set-Cookie": true, "X-Request-Id": true,
	"Ratelimit": true, "Ratelimit-Policy": true,
}

func copyResponseHeaders(dst, src http.Header) {
	for k, vs := range src {
		if !hopHeaders[k] {
			dst[k] = vs
		}
	}
}

// setModel rewrites the top-level "model" member, keeping everything else
// byte for byte.
func setModel(body []byte, model string) ([]byte, error) {
	dec := jsontext.NewDecoder(bytes.NewReader(body))
	var out bytes.Buffer
	out.Grow(len(body) + len(model))
	enc := jsontext.NewEncoder(&out)
	tok, err := dec.ReadToken()
	if err != nil || tok.Kind() != '{' {
		return nil, errors.New("body is not an object")
	}
	enc.WriteToken(tok)
	for dec.PeekKind() != '}' {
		name, err := dec.ReadToken()
		if err != nil {
			return nil, err
		}
		// A token is valid only until the next read: use it first.
		isModel := name.String() == "model"
		if err := enc.WriteToken(name); err != nil {
			return nil, err
		}
		val, err := dec.ReadValue()
		if err != nil {
			return nil, err
		}
		if isModel {
			err = enc.WriteToken(jsontext.String(model))
		} else {
			err = enc.WriteValue(val)
		}
		if err != nil {
			return nil, err
		}
	}
	if _, err := dec.ReadToken(); err != nil {
		return nil, err
	}
	if err := enc.WriteToken(jsontext.EndObject); err != nil {
		return nil, err
	}
	return bytes.TrimRight(out.Bytes(), "\n"), nil
}
