package store

import (
	"crypto/rand"
	"encoding/hex"
	"time"
)

// NewID returns prefix followed by 16 random hex digits.
func NewID(prefix string) string {
	var b [8]byte
	rand.Read(b[:]) // never returns an error (crypto/rand since Go 1.24)
	return prefix + hex.EncodeToString(b[:])
}

// FillIPRule assigns an id and creation time to a rule that lacks them, so
// every backend names new rules the same way.
func FillIPRule(r *IPRule) {
	if r.ID == "" {
		r.ID = NewID("ipr_")
	}
	if r.CreatedAt.IsZero() {
		r.CreatedAt = time.Now().UTC()
	}
}
