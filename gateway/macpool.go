package gateway

import (
	"crypto/hmac"
	"crypto/sha256"
	"hash"
	"sync"
)

// macPool hands out HMAC-SHA256 states keyed with one secret. hmac.New
// hashes the key into two fresh SHA-256 states and allocates them on
// every call; a state Reset to its keyed start is as good and costs
// nothing, which matters when every request is fingerprinted and every
// response gets a feedback token.
type macPool struct {
	key  []byte
	pool sync.Pool
}

func newMACPool(key []byte) *macPool { return &macPool{key: key} }

func (m *macPool) get() hash.Hash {
	if h, ok := m.pool.Get().(hash.Hash); ok {
		h.Reset()
		return h
	}
	return hmac.New(sha256.New, m.key)
}

func (m *macPool) put(h hash.Hash) { m.pool.Put(h) }
