package server

import (
	"net/http"
	"strings"
	"testing"

	"github.com/modelgate/modelgate/config"
)

// TestRedisDownFailsClosed: with the shared rate limiter unreachable and
// on_error fail_closed (the default), requests are refused with 503, not
// let through unlimited.
func TestRedisDownFailsClosed(t *testing.T) {
	f := newAuditFixture(t, func(c *config.Config) {
		c.Redis = config.Redis{Addr: "127.0.0.1:1", OnError: config.RedisFailClosed}
	})
	resp, b := f.post(body, "Authorization", "Bearer "+f.key)
	if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(b, "rate_limiter_unavailable") {
		t.Fatalf("got %d %s", resp.StatusCode, b)
	}
	if f.calls.Load() != 0 {
		t.Fatal("the upstream was called without a rate-limit decision")
	}
}

// TestRedisDownFailOpen: with on_error fail_open, the replica limits in
// its own process and keeps serving.
func TestRedisDownFailOpen(t *testing.T) {
	f := newAuditFixture(t, func(c *config.Config) {
		c.Redis = config.Redis{Addr: "127.0.0.1:1", OnError: config.RedisFailOpen}
	})
	if resp, b := f.post(body, "Authorization", "Bearer "+f.key); resp.StatusCode != http.StatusOK {
		t.Fatalf("got %d %s", resp.StatusCode, b)
	}
}
