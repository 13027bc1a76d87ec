package guard

import (
	"context"
	"crypto/rand"
	"encoding/hex"
)

type canaryKey struct{}

// NewCanary returns a fresh canary token: a random string that appears
// nowhere but in the system prompt the gateway put it in, so an answer
// that contains it has leaked that prompt.
func NewCanary() string {
	var b [8]byte
	rand.Read(b[:])
	return "mg-canary-" + hex.EncodeToString(b[:])
}

// WithCanary returns a context carrying a request's canary token.
func WithCanary(ctx context.Context, token string) context.Context {
	return context.WithValue(ctx, canaryKey{}, token)
}

// CanaryFrom returns the canary token of a request's context, if any.
func CanaryFrom(ctx context.Context) string {
	s, _ := ctx.Value(canaryKey{}).(string)
	return s
}
