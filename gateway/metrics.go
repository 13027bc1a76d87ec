package gateway

import (
	"log/slog"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the data plane's Prometheus metrics.
type Metrics struct {
	requests     *prometheus.CounterVec
	duration     *prometheus.HistogramVec
	upstream     *prometheus.HistogramVec
	authFailures *prometheus.CounterVec
	rateLimited  *prometheus.CounterVec
	denials      *prometheus.CounterVec
	tokens       *prometheus.CounterVec
	inFlight     prometheus.Gauge
}

// latencyBuckets span a fast refusal (100µs) to a long generation (5m).
var latencyBuckets = []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 120, 300}

// NewMetrics creates the metrics and registers them with reg (nil: not
// registered).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "modelgate_requests_total", Help: "Data-plane requests by endpoint, model and HTTP status.",
		}, []string{"endpoint", "model", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "modelgate_request_duration_seconds", Help: "Time from receiving a request to finishing its response.",
			Buckets: latencyBuckets,
		}, []string{"endpoint", "model"}),
		upstream: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "modelgate_upstream_duration_seconds", Help: "Time spent waiting on and reading from the upstream model server.",
			Buckets: latencyBuckets,
		}, []string{"model"}),
		authFailures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "modelgate_auth_failures_total", Help: "Requests refused for failed authentication, by reason.",
		}, []string{"code"}),
		rateLimited: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "modelgate_rate_limited_total", Help: "Requests refused by a rate or concurrency limit, by limit.",
		}, []string{"limit"}),
		denials: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "modelgate_denials_total", Help: "Requests the gateway refused, by error code.",
		}, []string{"code"}),
		tokens: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "modelgate_tokens_total", Help: "Tokens used, by model and kind (prompt, completion).",
		}, []string{"model", "kind"}),
		inFlight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "modelgate_requests_in_flight", Help: "Data-plane requests being served.",
		}),
	}
	if reg != nil {
		reg.MustRegister(m.requests, m.duration, m.upstream, m.authFailures, m.rateLimited, m.denials, m.tokens, m.inFlight)
	}
	return m
}

// statusClientClosed is recorded (never sent) when the client went away
// before a response was written, as nginx does.
const statusClientClosed = 499

var codeLabels = func() (l [600]string) {
	for i := range l {
		l[i] = strconv.Itoa(i)
	}
	return
}()

// observe is the built-in observer: metrics and the access log.
func (g *Gateway) observe(next Handler) Handler {
	return func(x *Exchange) {
		g.metrics.inFlight.Inc()
		next(x)
		g.metrics.inFlight.Dec()
		if x.Status == 0 {
			x.Status = statusClientClosed
		}
		elapsed := time.Since(x.Received)
		model := ""
		if x.Route != nil {
			model = x.Route.Model
		}
		code := "other"
		if x.Status > 0 && x.Status < len(codeLabels) {
			code = codeLabels[x.Status]
		}
		ep := x.Endpoint.String()
		g.metrics.requests.WithLabelValues(ep, model, code).Inc()
		g.metrics.duration.WithLabelValues(ep, model).Observe(elapsed.Seconds())
		if x.UpstreamLatency > 0 {
			g.metrics.upstream.WithLabelValues(model).Observe(x.UpstreamLatency.Seconds())
		}
		if x.Denial != nil {
			g.metrics.denials.WithLabelValues(x.Denial.Code).Inc()
		}
		if x.upstreamOK {
			g.metrics.tokens.WithLabelValues(model, "prompt").Add(float64(x.Usage.PromptTokens))
			g.metrics.tokens.WithLabelValues(model, "completion").Add(float64(x.Usage.CompletionTokens))
		}
		if g.opts.LogRequests {
			g.logRequest(x, elapsed)
		}
	}
}

func (g *Gateway) logRequest(x *Exchange, elapsed time.Duration) {
	attrs := make([]slog.Attr, 0, 12)
	attrs = append(attrs,
		slog.String("request_id", x.ID),
		slog.String("client_ip", x.ClientIP.String()),
		slog.String("method", x.R.Method),
		slog.String("path", x.R.URL.Path),
		slog.Int("status", x.Status),
		slog.Duration("duration", elapsed),
	)
	if x.Principal != nil {
		attrs = append(attrs, slog.String("principal", x.Principal.String()))
	}
	if x.Model != "" {
		attrs = append(attrs, slog.String("model", x.Model))
	}
	if x.Denial != nil {
		attrs = append(attrs, slog.String("denied", x.Denial.Code))
	}
	if x.UpstreamLatency > 0 {
		attrs = append(attrs, slog.Duration("upstream", x.UpstreamLatency),
			slog.Int64("prompt_tokens", x.Usage.PromptTokens), slog.Int64("completion_tokens", x.Usage.CompletionTokens))
	}
	g.log.LogAttrs(x.Context(), slog.LevelInfo, "request", attrs...)
}
