// Package redislimit is a ratelimit.Limiter whose state lives in Redis,
// so that limits hold across every gateway replica: a key allowed 1,000
// tokens a minute gets 1,000 in total, not 1,000 per replica.
//
// Each step is one Lua script run atomically by Redis on the key's
// theoretical arrival time, with Redis's own clock, so replicas' clocks
// need not agree. Times in Redis are microseconds: Lua numbers are
// doubles, exact to 2^53, which Unix nanoseconds exceed.
package redislimit

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/modelgate/modelgate/access/ratelimit"
	"github.com/redis/go-redis/v9"
)

// gcra is one GCRA step. KEYS[1]: the key. ARGV: the cost of the units,
// the burst and whether to spend even when they do not fit ("1"), all
// costs in microseconds. Returns {allowed, reset after, retry after} in
// microseconds.
var gcra = redis.NewScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then tat = now end
local cost = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local force = ARGV[3] == '1'
local nxt = tat + cost
if nxt < now then nxt = now end
local allow_at = nxt - burst
if allow_at > now and not force then
  return {0, tat - now, allow_at - now}
end
if nxt > now then
  redis.call('SET', KEYS[1], string.format('%d', nxt), 'PX', math.ceil((nxt - now) / 1000) + 1000)
else
  redis.call('DEL', KEYS[1])
end
return {1, nxt - now, 0}
`)

// Prefix is put before every limiter key in Redis.
const Prefix = "modelgate:rl:"

// Limiter is a ratelimit.Limiter on Redis.
type Limiter struct {
	client redis.UniversalClient
	// Timeout bounds each call; a limiter that cannot answer in time is
	// an error (the gateway then fails closed, or falls back).
	Timeout time.Duration
}

var _ ratelimit.Limiter = (*Limiter)(nil)

// New returns a limiter on a Redis client.
func New(client redis.UniversalClient) *Limiter {
	return &Limiter{client: client, Timeout: 250 * time.Millisecond}
}

// Allow implements ratelimit.Limiter.
func (l *Limiter) Allow(ctx context.Context, key string, lim ratelimit.Limit, n int64) (ratelimit.Result, error) {
	if lim.Unlimited() {
		return ratelimit.Result{Allowed: true, Remaining: -1}, nil
	}
	return l.step(ctx, key, lim, n, false)
}

// Charge implements ratelimit.Limiter.
func (l *Limiter) Charge(ctx context.Context, key string, lim ratelimit.Limit, n int64) error {
	if lim.Unlimited() {
		return nil
	}
	_, err := l.step(ctx, key, lim, n, true)
	return err
}

func (l *Limiter) step(ctx context.Context, key string, lim ratelimit.Limit, n int64, force bool) (ratelimit.Result, error) {
	if l.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, l.Timeout)
		defer cancel()
	}
	f := "0"
	if force {
		f = "1"
	}
	v, err := gcra.Run(ctx, l.client, []string{Prefix + key}, micros(lim.Cost(n)), micros(lim.Cost(lim.Capacity())), f).Int64Slice()
	if err != nil {
		return ratelimit.Result{}, fmt.Errorf("redis rate limiter: %w", err)
	}
	if len(v) != 3 {
		return ratelimit.Result{}, errors.New("redis rate limiter: unexpected script result")
	}
	return ratelimit.ResultOf(lim, v[0] == 1, time.Duration(v[1])*time.Microsecond, time.Duration(v[2])*time.Microsecond), nil
}

// micros rounds a duration up to whole microseconds (negative: down), so
// that rounding never grants more than the limit.
func micros(d time.Duration) int64 {
	if d >= 0 {
		return int64((d + time.Microsecond - 1) / time.Microsecond)
	}
	return int64(d / time.Microsecond)
}

// FailOpen is a limiter that asks Redis and, when Redis cannot answer,
// limits in this process instead (each replica then enforces the limits
// on its own). It is the opt-out from failing closed.
type FailOpen struct {
	Redis    ratelimit.Limiter
	Fallback ratelimit.Limiter
	// OnError is told each time the fallback is used.
	OnError func(error)
}

// Allow implements ratelimit.Limiter.
func (f *FailOpen) Allow(ctx context.Context, key string, lim ratelimit.Limit, n int64) (ratelimit.Result, error) {
	r, err := f.Redis.Allow(ctx, key, lim, n)
	if err != nil {
		if f.OnError != nil {
			f.OnError(err)
		}
		return f.Fallback.Allow(ctx, key, lim, n)
	}
	return r, nil
}

// Charge implements ratelimit.Limiter.
func (f *FailOpen) Charge(ctx context.Context, key string, lim ratelimit.Limit, n int64) error {
	if err := f.Redis.Charge(ctx, key, lim, n); err != nil {
		if f.OnError != nil {
			f.OnError(err)
		}
		return f.Fallback.Charge(ctx, key, lim, n)
	}
	return nil
}
