// Package ratelimit limits how fast callers may spend requests and tokens.
//
// Limits use the generic cell rate algorithm (GCRA): for each key the
// limiter keeps one timestamp, the theoretical arrival time, so state is a
// single number per key whether it lives in this process or, later, in
// Redis. It behaves like a token bucket of Burst units refilled at
// Rate/Period.
package ratelimit

import (
	"context"
	"math"
	"time"
)

// Limit is a rate of Rate units per Period, of which up to Burst may be
// spent at once. A zero Burst means Rate: a full period's worth.
type Limit struct {
	Rate   int64
	Period time.Duration
	Burst  int64
}

// PerMinute returns a limit of rate units a minute with the given burst.
func PerMinute(rate, burst int64) Limit {
	return Limit{Rate: rate, Period: time.Minute, Burst: burst}
}

// Unlimited reports whether the limit imposes nothing.
func (l Limit) Unlimited() bool { return l.Rate <= 0 || l.Period <= 0 }

// Capacity is the most units that can ever be spent at once.
func (l Limit) Capacity() int64 {
	if l.Burst > 0 {
		return l.Burst
	}
	return l.Rate
}

// cost is the time n units occupy: n emission intervals. It saturates
// instead of overflowing.
func (l Limit) cost(n int64) int64 {
	c := float64(l.Period) * float64(n) / float64(l.Rate)
	if c >= math.MaxInt64/2 {
		return math.MaxInt64 / 2
	}
	if c <= -math.MaxInt64/2 {
		return -math.MaxInt64 / 2
	}
	return int64(c)
}

// Result is the outcome of Allow.
type Result struct {
	Allowed bool
	// Remaining is how many units could be spent right after this call.
	Remaining int64
	// RetryAfter is how long to wait before the refused units would fit
	// (zero when allowed).
	RetryAfter time.Duration
	// ResetAfter is how long until the full burst is available again.
	ResetAfter time.Duration
}

// Limiter enforces limits per key. Implementations must be safe for
// concurrent use; an error means the limiter could not decide, and the
// caller fails closed.
type Limiter interface {
	// Allow spends n units for key if they fit under l now.
	Allow(ctx context.Context, key string, l Limit, n int64) (Result, error)
	// Charge spends n units for key whether or not they fit: for costs
	// known only afterwards (output tokens). The debt delays later calls.
	// A negative n gives units back (an estimate that was too high).
	Charge(ctx context.Context, key string, l Limit, n int64) error
}

// gcra applies one GCRA step to a stored theoretical arrival time (ns) and
// returns the new one. force spends the units even if they do not fit.
func gcra(tat, now int64, l Limit, n int64, force bool) (newTAT int64, r Result) {
	if tat < now {
		tat = now
	}
	burst := l.cost(l.Capacity())
	next := tat + l.cost(n)
	if next < now {
		next = now // a refund cannot bank credit beyond a full bucket
	}
	interval := l.cost(1)
	if allowAt := next - burst; allowAt > now && !force {
		r.RetryAfter = time.Duration(allowAt - now)
		r.ResetAfter = time.Duration(tat - now)
		r.Remaining = remaining(burst-(tat-now), interval)
		return tat, r
	}
	r.Allowed = true
	r.ResetAfter = time.Duration(next - now)
	r.Remaining = remaining(burst-(next-now), interval)
	return next, r
}

func remaining(slack, interval int64) int64 {
	if slack <= 0 || interval <= 0 {
		return 0
	}
	return slack / interval
}

// Cost returns the time n units occupy (n emission intervals), for
// limiters that run GCRA elsewhere (in Redis).
func (l Limit) Cost(n int64) time.Duration { return time.Duration(l.cost(n)) }

// ResultOf builds a Result from GCRA state computed elsewhere: whether the
// units were allowed, how long until the bucket is full again, and how
// long until refused units would fit.
func ResultOf(l Limit, allowed bool, resetAfter, retryAfter time.Duration) Result {
	r := Result{Allowed: allowed, ResetAfter: resetAfter, RetryAfter: retryAfter}
	r.Remaining = remaining(l.cost(l.Capacity())-int64(resetAfter), l.cost(1))
	return r
}
