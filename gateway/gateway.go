// Package gateway is modelgate's data plane: an authenticated, rate-limited
// proxy in front of OpenAI-compatible and KServe v2 model servers.
//
// A request passes these stages in order; the first that refuses answers
// with an OpenAI-style JSON error and the rest do not run:
//
//	request id, client address          (always)
//	observers (metrics, access log, audit: Hooks.Observe)
//	endpoint and method                  404, 405
//	header size                          431
//	store generation                     503 if the store cannot be read
//	global IP lists                      403
//	per-IP request rate                  429
//	authentication                       401
//	scope, per-key IP lists              403
//	per-key request rate, concurrency    429
//	body: type, size, JSON shape, limits 415, 413, 400
//	model route and allow-list           404, 403, 400
//	per-key and per-IP token rate        429
//	input stages (guards: Hooks.Input)
//	audit log can take a stream          503
//	upstream, output filters             502, 504
//	record durable before release        503
//	(after the response) record refusals and streams
//
// Endpoint and header checks come before authentication because they are
// cheap and reveal nothing; the body is read only for authenticated callers
// within their limits.
package gateway

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"errors"
	"log/slog"
	"net/http"
	"net/netip"
	"runtime/debug"
	"time"

	"github.com/modelgate/modelgate/access"
	"github.com/modelgate/modelgate/access/ratelimit"
	"github.com/modelgate/modelgate/internal/httpbody"
	"github.com/modelgate/modelgate/store"
)

// Limits bound what a request may be. Zero fields take the defaults.
type Limits struct {
	MaxBodyBytes    int64         // default 1 MiB
	MaxHeaderBytes  int           // default 32 KiB
	MaxPromptChars  int           // characters of text across the request; default 200,000
	MaxMessages     int           // chat messages; default 1,000
	RequestTimeout  time.Duration // whole request; default 10m
	BodyReadTimeout time.Duration // from the request's start to the end of its body; default 30s
}

func (l Limits) withDefaults() Limits {
	if l.MaxBodyBytes <= 0 {
		l.MaxBodyBytes = 1 << 20
	}
	if l.MaxHeaderBytes <= 0 {
		l.MaxHeaderBytes = 32 << 10
	}
	if l.MaxPromptChars <= 0 {
		l.MaxPromptChars = 200_000
	}
	if l.MaxMessages <= 0 {
		l.MaxMessages = 1000
	}
	if l.RequestTimeout <= 0 {
		l.RequestTimeout = 10 * time.Minute
	}
	if l.BodyReadTimeout <= 0 {
		l.BodyReadTimeout = 30 * time.Second
	}
	return l
}

// RateLimits are the limits applied when a principal sets none, and the
// limits per client address. Zero means no limit.
type RateLimits struct {
	Key access.Limits
	IP  access.Limits // RPM, TPM and Burst apply
}

// Options configure a Gateway. Store is required.
type Options struct {
	Store   store.Store
	Limiter ratelimit.Limiter // nil: an in-process limiter
	Logger  *slog.Logger      // nil: slog.Default()
	Metrics *Metrics          // nil: metrics are kept but not exported
	Certs   *access.CertMapper

	Limits         Limits
	RateLimits     RateLimits
	TrustedProxies []netip.Prefix  // whose X-Forwarded-For is believed
	StaticIPRules  []*store.IPRule // from the configuration file
	Hooks          Hooks
	// Recorder, when set, records every exchange (the audit log).
	Recorder Recorder
	// Admission decides which version of a registry model a route serves;
	// nil: routes naming a registry model refuse every request.
	Admission Admission
	// LogRequests writes one log line per request at Info.
	LogRequests bool
	// Feedback, when set, takes feedback on answers (POST /v1/feedback)
	// and gives every inference answer a feedback token.
	Feedback *Feedback
	// Signals, when set, notes what the monitor's rules need to know of
	// a request (Exchange.Signals).
	Signals *Signals
}

// Gateway is the data-plane HTTP handler.
type Gateway struct {
	opts    Options
	limits  Limits
	state   *state
	auth    *access.Authenticator
	limiter ratelimit.Limiter
	conc    *ratelimit.Concurrency
	metrics *Metrics
	log     *slog.Logger
	handler Handler // observers wrapped around serve
	input   Handler // input stages wrapped around forward
	recent  recentRequests
	signals signalState
}

// New builds a gateway.
func New(opts Options) (*Gateway, error) {
	if opts.Store == nil {
		return nil, errors.New("gateway: a store is required")
	}
	g := &Gateway{opts: opts, limits: opts.Limits.withDefaults(), limiter: opts.Limiter,
		conc: ratelimit.NewConcurrency(), metrics: opts.Metrics, log: opts.Logger}
	if g.limiter == nil {
		g.limiter = ratelimit.NewMemory(nil)
	}
	if g.log == nil {
		g.log = slog.Default()
	}
	if g.metrics == nil {
		g.metrics = NewMetrics(nil)
	}
	if opts.Signals != nil {
		g.signals.macs = newMACPool(opts.Signals.Secret)
	}
	keys := access.NewKeyCache(opts.Store)
	g.auth = &access.Authenticator{Keys: keys, Certs: opts.Certs}
	g.state = &state{store: opts.Store, keys: keys, static: opts.StaticIPRules, admission: opts.Admission, log: g.log}
	observers := append([]Middleware{g.observe}, opts.Hooks.Observe...)
	g.handler = chain(g.serve, observers)
	g.input = chain(g.forward, opts.Hooks.Input)
	return g, nil
}

// ServeHTTP implements http.Handler.
func (g *Gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w, r, bodyDone := httpbody.Track(w, r, g.limits.BodyReadTimeout)
	defer bodyDone()
	x := &Exchange{R: r, ID: newRequestID(), Received: time.Now()}
	x.W = &responseWriter{ResponseWriter: w, x: x}
	w.Header().Set("X-Request-Id", x.ID)
	x.ClientIP = clientIP(r, g.opts.TrustedProxies)
	defer g.recordRest(x)
	defer g.recoverPanic(x)
	g.handler(x)
}

// recoverPanic turns a bug into a logged 500 rather than a dropped
// connection, as long as nothing was written yet.
func (g *Gateway) recoverPanic(x *Exchange) {
	v := recover()
	if v == nil || v == http.ErrAbortHandler {
		if v != nil {
			panic(v)
		}
		return
	}
	g.log.Error("panic serving request", "request_id", x.ID, "panic", v, "stack", string(debug.Stack()))
	if x.Status == 0 {
		x.Refuse(refusal(http.StatusInternalServerError, TypeServer, "internal_error",
			"the gateway hit an internal error; the request id identifies it in the gateway log"))
	}
}

// serve runs the stages in the order the package comment lists.
func (g *Gateway) serve(x *Exchange) {
	ctx, cancel := context.WithTimeout(x.R.Context(), g.limits.RequestTimeout)
	defer cancel()
	defer x.finish() // before cancel: cleanups may still talk to a limiter
	x.R = x.R.WithContext(ctx)

	if !g.matchEndpoint(x) || !g.checkHeaderSize(x) {
		return
	}
	snap, err := g.state.current(ctx)
	if err != nil {
		g.log.Error("store unavailable", "request_id", x.ID, "err", err)
		x.Refuse(refusal(http.StatusServiceUnavailable, TypeServer, "store_unavailable",
			"the gateway cannot read its access data; try again shortly"))
		return
	}
	if !snap.ip.AllowGlobal(x.ClientIP) {
		x.Refuse(refusal(http.StatusForbidden, TypePermission, "ip_denied", "requests from %s are not allowed", x.ClientIP))
		return
	}
	if !g.limitIPRequests(x) {
		return
	}
	if x.Endpoint == EndpointFeedback {
		g.serveFeedback(x) // its own authentication: a key, or a token
		return
	}
	if !g.authenticate(x) || !g.authorize(x, snap) || !g.limitKeyRequests(x) {
		return
	}
	switch x.Endpoint {
	case EndpointHealth:
		g.serveHealth(x)
		return
	case EndpointModels:
		g.serveModels(x, snap)
		return
	}
	if x.Endpoint.Inference() && !g.readRequest(x) {
		return
	}
	if !g.resolveModel(x, snap) {
		return
	}
	if x.Endpoint.Inference() {
		g.issueFeedbackToken(x)
		g.noteSignals(x)
	}
	if x.Endpoint == EndpointInfer && !g.checkBatch(x) {
		return
	}
	if x.Endpoint.Inference() && !g.limitTokens(x) {
		return
	}
	g.input(x)
}

func (g *Gateway) authenticate(x *Exchange) bool {
	p, err := g.auth.Authenticate(x.Context(), x.R)
	if err == nil {
		x.Principal = p
		return true
	}
	var ae *access.AuthError
	if errors.As(err, &ae) {
		g.metrics.authFailures.WithLabelValues(ae.Code).Inc()
		r := refusal(http.StatusUnauthorized, TypeAuthentication, ae.Code, "%s", ae.Message)
		r.Header = http.Header{"Www-Authenticate": {`Bearer realm="modelgate"`}}
		x.Refuse(r)
		return false
	}
	g.log.Error("authentication failed", "request_id", x.ID, "err", err)
	x.Refuse(refusal(http.StatusServiceUnavailable, TypeServer, "store_unavailable",
		"the gateway cannot check credentials right now; try again shortly"))
	return false
}

func (g *Gateway) authorize(x *Exchange, snap *snapshot) bool {
	p := x.Principal
	need, ok := access.ScopeInvoke, p.Scopes.Has(access.ScopeInvoke)
	switch {
	case x.Endpoint == EndpointHealth:
		ok = true // any authenticated caller may ask whether the gateway is up
	case !x.Endpoint.Inference():
		// Listing or reading the models a caller may already use reveals
		// nothing new, so an invoke-only key may do it too (SDKs list
		// models before calling them).
		need, ok = access.ScopeModelsRead, ok || p.Scopes.Has(access.ScopeModelsRead)
	}
	if !ok {
		x.Refuse(refusal(http.StatusForbidden, TypePermission, "insufficient_scope",
			"%s lacks the %s scope", describe(p), need))
		return false
	}
	if p.Kind == access.KindAPIKey && !snap.ip.AllowKey(p.ID, x.ClientIP) {
		x.Refuse(refusal(http.StatusForbidden, TypePermission, "ip_denied",
			"API key %s may not be used from %s", p.ID, x.ClientIP))
		return false
	}
	return true
}

func describe(p *access.Principal) string {
	if p.Kind == access.KindAPIKey {
		return "API key " + p.ID
	}
	return "client identity " + p.ID
}

// resolveModel finds the route for the requested model and checks the
// caller may use it.
func (g *Gateway) resolveModel(x *Exchange, snap *snapshot) bool {
	u := snap.upstreams[x.Model]
	if u == nil {
		x.Refuse(refusal(http.StatusNotFound, TypeNotFound, "model_not_found", "model %q does not exist", x.Model))
		return false
	}
	if !x.Principal.MayUse(x.Model) {
		x.Refuse(refusal(http.StatusForbidden, TypePermission, "model_not_allowed",
			"%s may not use model %q", describe(x.Principal), x.Model))
		return false
	}
	if u.route.Protocol != x.Endpoint.Protocol() {
		x.Refuse(refusal(http.StatusBadRequest, TypeInvalidRequest, "wrong_protocol",
			"model %q is served over %s; %s", x.Model, u.route.Protocol, protocolHint(u.route)))
		return false
	}
	x.Route, x.upstream = u.route, u
	if x.ModelVersion == "" {
		x.ModelVersion = u.route.Upstream.ModelVersion
	}
	return admitted(x, snap)
}

func protocolHint(r *store.Route) string {
	switch r.Protocol {
	case store.ProtocolKServeV2:
		return "call POST /v2/models/" + r.Model + "/infer"
	case store.ProtocolAnthropic:
		return "call POST /v1/messages"
	}
	return "call /v1/chat/completions, /v1/completions, /v1/embeddings or /v1/responses"
}

// requestIDEncoding is base32 with its alphabet in ASCII order, so ids
// sort as their bytes do.
var requestIDEncoding = base32.NewEncoding("234567abcdefghijklmnopqrstuvwxyz").WithPadding(base32.NoPadding)

// newRequestID returns a new id: 48 bits of milliseconds then 80 random
// bits. The gateway makes its own rather than trust one a client sent,
// since the audit log keys on it. Starting with the time makes ids sort
// in the order requests arrived, which is what anyone reading logs from
// several systems side by side wants; 80 random bits keep them unguessable.
func newRequestID() string {
	var b [16]byte
	ms := uint64(time.Now().UnixMilli())
	for i := 5; i >= 0; i-- {
		b[i] = byte(ms)
		ms >>= 8
	}
	rand.Read(b[6:])
	return "req_" + requestIDEncoding.EncodeToString(b[:])
}
