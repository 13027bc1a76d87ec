// Package access decides who is calling and what they may do: API keys,
// client-certificate identities, scopes, model allow-lists and IP rules.
// Rate limiting lives in access/ratelimit.
package access

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base32"
	"errors"
	"fmt"
	"strings"
)

// API keys look like mg_<id>_<secret>: the id names the key in logs and
// lookups; the secret (256 random bits) is shown once and stored only as its
// SHA-256 digest. A fast hash is right here because the secret is random and
// long, not a password: there is nothing to brute-force, and authentication
// stays on the request's hot path.
const (
	KeyPrefix = "mg_"
	idLen     = 12 // base32 characters: 60 bits, unique enough to name keys
	secretLen = 52 // base32 characters: 32 random bytes
)

// encoding is lowercase RFC 4648 base32 without padding: no underscores, no
// ambiguous case, safe in headers and shells.
var encoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// ErrMalformedKey means a presented credential is not shaped like an API key.
var ErrMalformedKey = errors.New("malformed API key")

// NewKey returns a fresh key id, the full key to give to its owner, and the
// hash to store.
func NewKey() (id, key string, hash []byte) {
	id = NewKeyID()
	key, hash = NewSecret(id)
	return id, key, hash
}

// NewKeyID returns a random key id.
func NewKeyID() string {
	var b [8]byte
	rand.Read(b[:])
	return encoding.EncodeToString(b[:])[:idLen]
}

// NewSecret returns a full key for an existing id with a fresh secret, and
// the secret's hash; rotation uses it.
func NewSecret(id string) (key string, hash []byte) {
	var b [32]byte
	rand.Read(b[:])
	secret := encoding.EncodeToString(b[:])
	return KeyPrefix + id + "_" + secret, HashSecret(secret)
}

// HashSecret returns the digest stored for a secret.
func HashSecret(secret string) []byte {
	h := sha256.Sum256([]byte(secret))
	return h[:]
}

// ParseKey splits a presented key into its id and secret. It accepts only
// the exact shape NewKey produces.
func ParseKey(key string) (id, secret string, err error) {
	rest, ok := strings.CutPrefix(key, KeyPrefix)
	if !ok || len(rest) != idLen+1+secretLen || rest[idLen] != '_' {
		return "", "", ErrMalformedKey
	}
	id, secret = rest[:idLen], rest[idLen+1:]
	if !isBase32(id) || !isBase32(secret) {
		return "", "", ErrMalformedKey
	}
	return id, secret, nil
}

// ValidKeyID reports whether s has the shape of a key id.
func ValidKeyID(s string) bool { return len(s) == idLen && isBase32(s) }

func isBase32(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || '2' <= c && c <= '7') {
			return false
		}
	}
	return true
}

// secretMatches compares a presented secret with a stored hash in constant
// time.
func secretMatches(secret string, stored []byte) bool {
	if len(stored) != sha256.Size {
		return false
	}
	h := sha256.Sum256([]byte(secret))
	return subtle.ConstantTimeCompare(h[:], stored) == 1
}

// KeyIDFromString extracts the id from a full key or returns s when it is
// already an id; the CLI accepts either.
func KeyIDFromString(s string) (string, error) {
	if ValidKeyID(s) {
		return s, nil
	}
	if id, _, err := ParseKey(s); err == nil {
		return id, nil
	}
	return "", fmt.Errorf("%q is neither a key id (%d characters a-z, 2-7) nor an API key", s, idLen)
}
