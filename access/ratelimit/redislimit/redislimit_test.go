package redislimit

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/modelgate/modelgate/access/ratelimit"
	"github.com/modelgate/modelgate/internal/testenv"
	"github.com/redis/go-redis/v9"
)

// EnvAddr names the variable holding the test Redis address.
var EnvAddr = testenv.Redis.Env

func TestMain(m *testing.M) {
	testenv.Announce("access/ratelimit/redislimit", testenv.Redis)
	os.Exit(m.Run())
}

func client(t *testing.T) *redis.Client {
	t.Helper()
	addr := os.Getenv(EnvAddr)
	if addr == "" {
		t.Skip(testenv.Redis.SkipMessage())
	}
	c := redis.NewClient(&redis.Options{Addr: addr})
	t.Cleanup(func() { c.Close() })
	return c
}

func key(t *testing.T) string {
	var b [8]byte
	rand.Read(b[:])
	return t.Name() + ":" + hex.EncodeToString(b[:])
}

func TestBurstThenRefuse(t *testing.T) {
	l := New(client(t))
	k, lim := key(t), ratelimit.PerMinute(60, 5)
	ctx := context.Background()
	for i := range 5 {
		r, err := l.Allow(ctx, k, lim, 1)
		if err != nil || !r.Allowed || r.Remaining != int64(4-i) {
			t.Fatalf("request %d: %+v %v", i, r, err)
		}
	}
	r, err := l.Allow(ctx, k, lim, 1)
	if err != nil || r.Allowed || r.RetryAfter < 900*time.Millisecond || r.RetryAfter > 1100*time.Millisecond || r.Remaining != 0 {
		t.Fatalf("6th request: %+v %v", r, err)
	}
	// Giving units back makes room again.
	if err := l.Charge(ctx, k, lim, -2); err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		if r, _ := l.Allow(ctx, k, lim, 1); !r.Allowed {
			t.Fatalf("after a refund, request %d refused: %+v", i, r)
		}
	}
	if r, _ := l.Allow(ctx, k, lim, 1); r.Allowed {
		t.Fatal("the refund gave more than it should")
	}
	// Units larger than the burst never fit.
	if r, _ := l.Allow(ctx, key(t), lim, 6); r.Allowed {
		t.Fatal("6 units fit in a burst of 5")
	}
}

// TestSharedAcrossReplicas: two limiters (two replicas, two connections)
// spend from one budget, and concurrent callers never overspend it.
func TestSharedAcrossReplicas(t *testing.T) {
	a := New(client(t))
	b := New(redis.NewClient(&redis.Options{Addr: os.Getenv(EnvAddr)}))
	k, lim := key(t), ratelimit.PerMinute(100, 100)
	ctx := context.Background()
	var allowed atomic.Int64
	var wg sync.WaitGroup
	for i := range 40 {
		l := a
		if i%2 == 1 {
			l = b
		}
		wg.Go(func() {
			for range 10 {
				r, err := l.Allow(ctx, k, lim, 1)
				if err != nil {
					t.Error(err)
					return
				}
				if r.Allowed {
					allowed.Add(1)
				}
			}
		})
	}
	wg.Wait()
	// 400 attempts within well under a second: the burst of 100 and at
	// most the one or two units refilled meanwhile.
	if n := allowed.Load(); n < 100 || n > 102 {
		t.Fatalf("allowed %d of 400 against a budget of 100", n)
	}
}

func TestUnreachable(t *testing.T) {
	dead := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1, DialTimeout: 100 * time.Millisecond})
	defer dead.Close()
	l := New(dead)
	lim := ratelimit.PerMinute(60, 5)
	if _, err := l.Allow(context.Background(), "k", lim, 1); err == nil {
		t.Fatal("an unreachable Redis allowed a request")
	}
	var errs atomic.Int64
	f := &FailOpen{Redis: l, Fallback: ratelimit.NewMemory(nil), OnError: func(error) { errs.Add(1) }}
	for i := range 6 {
		r, err := f.Allow(context.Background(), "k", lim, 1)
		if err != nil || r.Allowed != (i < 5) {
			t.Fatalf("fail-open request %d: %+v %v", i, r, err)
		}
	}
	if errs.Load() != 6 {
		t.Fatalf("OnError called %d times", errs.Load())
	}
}
