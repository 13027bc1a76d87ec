package ratelimit

import (
	"context"
	"hash/maphash"
	"sync"
	"time"
)

const shards = 64

// Memory is a Limiter that keeps state in this process. Several gateway
// replicas each with their own Memory limiter multiply every limit by the
// number of replicas; use a shared limiter for those.
type Memory struct {
	now    func() time.Time
	seed   maphash.Seed
	shards [shards]shard
}

type shard struct {
	mu        sync.Mutex
	tat       map[string]int64
	sweepSize int
}

// NewMemory returns an in-process limiter. now may be nil (time.Now).
func NewMemory(now func() time.Time) *Memory {
	if now == nil {
		now = time.Now
	}
	m := &Memory{now: now, seed: maphash.MakeSeed()}
	for i := range m.shards {
		m.shards[i].tat = make(map[string]int64)
		m.shards[i].sweepSize = 1024
	}
	return m
}

func (m *Memory) shard(key string) *shard {
	return &m.shards[maphash.String(m.seed, key)%shards]
}

// Allow implements Limiter.
func (m *Memory) Allow(_ context.Context, key string, l Limit, n int64) (Result, error) {
	return m.step(key, l, n, false), nil
}

// Charge implements Limiter.
func (m *Memory) Charge(_ context.Context, key string, l Limit, n int64) error {
	m.step(key, l, n, true)
	return nil
}

func (m *Memory) step(key string, l Limit, n int64, force bool) Result {
	if l.Unlimited() {
		return Result{Allowed: true, Remaining: -1}
	}
	now := m.now().UnixNano()
	s := m.shard(key)
	s.mu.Lock()
	defer s.mu.Unlock()
	tat, r := gcra(s.tat[key], now, l, n, force)
	if tat > now {
		s.tat[key] = tat
	} else {
		delete(s.tat, key) // a full bucket needs no state
	}
	if len(s.tat) >= s.sweepSize {
		s.sweep(now)
	}
	return r
}

// sweep drops keys whose buckets have refilled: their state equals no
// state. It runs when a shard doubles in size, so its cost is amortised
// over the insertions that grew it.
func (s *shard) sweep(now int64) {
	for k, tat := range s.tat {
		if tat <= now {
			delete(s.tat, k)
		}
	}
	s.sweepSize = max(1024, 2*len(s.tat))
}
