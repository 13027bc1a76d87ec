package ratelimit

import (
	"hash/maphash"
	"sync"
)

// Concurrency caps how many requests a key has in flight at once, in this
// process.
type Concurrency struct {
	seed   maphash.Seed
	shards [shards]struct {
		mu       sync.Mutex
		inFlight map[string]int64
	}
}

// NewConcurrency returns an empty concurrency limiter.
func NewConcurrency() *Concurrency {
	c := &Concurrency{seed: maphash.MakeSeed()}
	for i := range c.shards {
		c.shards[i].inFlight = make(map[string]int64)
	}
	return c
}

// Acquire takes one slot for key if fewer than max are in use; release must
// be called exactly once when the request ends. A max of zero or less means
// no cap.
func (c *Concurrency) Acquire(key string, max int64) (release func(), ok bool) {
	if max <= 0 {
		return func() {}, true
	}
	s := &c.shards[maphash.String(c.seed, key)%shards]
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.inFlight[key] >= max {
		return nil, false
	}
	s.inFlight[key]++
	var once sync.Once
	return func() {
		once.Do(func() {
			s.mu.Lock()
			if s.inFlight[key]--; s.inFlight[key] <= 0 {
				delete(s.inFlight, key)
			}
			s.mu.Unlock()
		})
	}, true
}

// InFlight returns how many slots key holds.
func (c *Concurrency) InFlight(key string) int64 {
	s := &c.shards[maphash.String(c.seed, key)%shards]
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.inFlight[key]
}
