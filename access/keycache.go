package access

import (
	"context"
	"errors"
	"sync"

	"github.com/modelgate/modelgate/store"
)

// maxCachedKeys bounds the cache, including remembered misses, so random key
// ids cannot grow it without limit.
const maxCachedKeys = 100_000

// KeyCache remembers stored keys (and unknown ids) until Reset. The gateway
// resets it whenever the store's generation moves, so a revocation takes
// effect on the next request.
type KeyCache struct {
	keys store.KeyStore

	mu    sync.RWMutex
	epoch uint64
	m     map[string]*keyState // nil value: the id is not stored
}

// NewKeyCache returns a cache over a key store.
func NewKeyCache(keys store.KeyStore) *KeyCache {
	return &KeyCache{keys: keys, m: make(map[string]*keyState)}
}

// Reset forgets everything.
func (c *KeyCache) Reset() {
	c.mu.Lock()
	c.epoch++
	clear(c.m)
	c.mu.Unlock()
}

// lookupKey returns a key's state, reading the store on a miss.
func (c *KeyCache) lookupKey(ctx context.Context, id string) (*keyState, error) {
	c.mu.RLock()
	st, ok := c.m[id]
	epoch := c.epoch
	c.mu.RUnlock()
	if ok {
		if st == nil {
			return nil, store.ErrNotFound
		}
		return st, nil
	}
	k, err := c.keys.GetKey(ctx, id)
	switch {
	case errors.Is(err, store.ErrNotFound):
		st = nil
	case err != nil:
		return nil, err
	default:
		p, err := principalFromKey(k)
		if err != nil {
			return nil, err
		}
		st = &keyState{principal: p, key: k}
	}
	c.mu.Lock()
	// A Reset while the store was being read means what was read may be
	// stale (a key revoked in between): use it for this request only.
	if c.epoch == epoch {
		if len(c.m) >= maxCachedKeys {
			clear(c.m)
		}
		c.m[id] = st
	}
	c.mu.Unlock()
	if st == nil {
		return nil, store.ErrNotFound
	}
	return st, nil
}
