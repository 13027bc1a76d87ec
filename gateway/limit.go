package gateway

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/modelgate/modelgate/access"
	"github.com/modelgate/modelgate/access/ratelimit"
)

// effectiveLimits fills a principal's unset limits from the defaults.
func (g *Gateway) effectiveLimits(p *access.Principal) access.Limits {
	l, d := p.Limits, g.opts.RateLimits.Key
	if l.RPM == 0 {
		l.RPM = d.RPM
	}
	if l.TPM == 0 {
		l.TPM = d.TPM
	}
	if l.Burst == 0 {
		l.Burst = d.Burst
	}
	if l.MaxConcurrent == 0 {
		l.MaxConcurrent = d.MaxConcurrent
	}
	return l
}

func (g *Gateway) limitIPRequests(x *Exchange) bool {
	l := g.opts.RateLimits.IP
	if l.RPM <= 0 {
		return true
	}
	return g.take(x, "ip-rpm", "ip:"+x.ClientIP.String()+":rpm", ratelimit.PerMinute(l.RPM, l.Burst), 1,
		"client address "+x.ClientIP.String(), "requests")
}

func (g *Gateway) limitKeyRequests(x *Exchange) bool {
	p := x.Principal
	l := g.effectiveLimits(p)
	if l.RPM > 0 && !g.take(x, "key-rpm", p.String()+":rpm", ratelimit.PerMinute(l.RPM, l.Burst), 1, describe(p), "requests") {
		return false
	}
	if !x.Endpoint.Inference() {
		return true
	}
	release, ok := g.conc.Acquire(p.String(), l.MaxConcurrent)
	if !ok {
		g.metrics.rateLimited.WithLabelValues("key-concurrency").Inc()
		r := refusal(http.StatusTooManyRequests, TypeRateLimit, "concurrency_limit_exceeded",
			"%s already has %d requests in flight, its limit", describe(p), l.MaxConcurrent)
		r.Header = http.Header{"Retry-After": {"1"}}
		x.Refuse(r)
		return false
	}
	x.OnDone(release)
	return true
}

// limitTokens spends the request's estimated prompt tokens against the
// caller's and the address's token rates, and arranges for the real cost
// to be charged when the response is done.
func (g *Gateway) limitTokens(x *Exchange) bool {
	p := x.Principal
	estimate := x.Usage.PromptTokens
	var spends []spend
	if l := g.effectiveLimits(p); l.TPM > 0 {
		spends = append(spends, spend{"key-tpm", p.String() + ":tpm", describe(p), ratelimit.PerMinute(l.TPM, 0)})
	}
	if l := g.opts.RateLimits.IP; l.TPM > 0 {
		spends = append(spends, spend{"ip-tpm", "ip:" + x.ClientIP.String() + ":tpm", "client address " + x.ClientIP.String(), ratelimit.PerMinute(l.TPM, 0)})
	}
	for i, s := range spends {
		if estimate > s.limit.Capacity() {
			g.refund(x, spends[:i], estimate)
			x.Refuse(refusal(http.StatusBadRequest, TypeInvalidRequest, "tokens_exceed_limit",
				"the request needs about %d tokens; %s may use at most %d tokens per minute", estimate, s.who, s.limit.Rate))
			return false
		}
		if !g.take(x, s.name, s.key, s.limit, estimate, s.who, "tokens") {
			g.refund(x, spends[:i], estimate)
			return false
		}
	}
	if len(spends) == 0 {
		return true
	}
	x.OnDone(func() {
		// The real cost: the upstream's prompt count replaces the
		// estimate, completion tokens are added; a request that never
		// reached a model, or that it refused, costs nothing.
		delta := x.Usage.PromptTokens - estimate + x.Usage.CompletionTokens
		if !x.upstreamOK {
			delta = -estimate
		}
		if delta == 0 {
			return
		}
		ctx := context.WithoutCancel(x.Context()) // the client may be gone; the cost stands
		for _, s := range spends {
			if err := g.limiter.Charge(ctx, s.key, s.limit, delta); err != nil {
				g.log.Error("charging tokens failed", "request_id", x.ID, "limit", s.name, "err", err)
			}
		}
	})
	return true
}

// spend is one token limit a request is charged against.
type spend struct {
	name, key, who string
	limit          ratelimit.Limit
}

func (g *Gateway) refund(x *Exchange, spent []spend, n int64) {
	for _, s := range spent {
		g.limiter.Charge(x.Context(), s.key, s.limit, -n)
	}
}

// take spends n units under a limit, records the outcome for the response
// headers, and refuses with 429 when they do not fit. A limiter that cannot
// answer refuses with 503: limits fail closed.
func (g *Gateway) take(x *Exchange, name, key string, l ratelimit.Limit, n int64, who, unit string) bool {
	res, err := g.limiter.Allow(x.Context(), key, l, n)
	if err != nil {
		g.log.Error("rate limiter unavailable", "request_id", x.ID, "limit", name, "err", err)
		x.Refuse(refusal(http.StatusServiceUnavailable, TypeServer, "rate_limiter_unavailable",
			"the gateway cannot check rate limits right now; try again shortly"))
		return false
	}
	x.rateApplied = append(x.rateApplied, ratelimit.Applied{Name: name, Limit: l, Result: res})
	if res.Allowed {
		return true
	}
	g.metrics.rateLimited.WithLabelValues(name).Inc()
	x.Refuse(refusal(http.StatusTooManyRequests, TypeRateLimit, "rate_limit_exceeded",
		"rate limit exceeded: %s may use %d %s per minute; retry after %s", who, l.Rate, unit, roundUp(res.RetryAfter)))
	return false
}

func roundUp(d time.Duration) string {
	return fmt.Sprint((d + time.Second - 1).Truncate(time.Second))
}
