package ratelimit

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

type clock struct{ t time.Time }

func (c *clock) now() time.Time          { return c.t }
func (c *clock) advance(d time.Duration) { c.t = c.t.Add(d) }

func newLimiter() (*Memory, *clock) {
	c := &clock{t: time.Unix(1_800_000_000, 0)}
	return NewMemory(c.now), c
}

func allow(t *testing.T, m *Memory, key string, l Limit, n int64) Result {
	t.Helper()
	r, err := m.Allow(context.Background(), key, l, n)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestBurstThenRefill(t *testing.T) {
	m, c := newLimiter()
	l := PerMinute(60, 10) // one a second, ten at once
	for i := range 10 {
		r := allow(t, m, "k", l, 1)
		if !r.Allowed || r.Remaining != int64(9-i) {
			t.Fatalf("request %d: %+v", i, r)
		}
	}
	r := allow(t, m, "k", l, 1)
	if r.Allowed || r.RetryAfter != time.Second || r.Remaining != 0 {
		t.Fatalf("11th request: %+v", r)
	}
	c.advance(999 * time.Millisecond)
	if allow(t, m, "k", l, 1).Allowed {
		t.Fatal("allowed before a unit had refilled")
	}
	c.advance(time.Millisecond)
	if !allow(t, m, "k", l, 1).Allowed {
		t.Fatal("refused after a unit refilled")
	}
	// Other keys are independent.
	if !allow(t, m, "other", l, 1).Allowed {
		t.Fatal("keys share state")
	}
}

func TestDefaultBurstIsOnePeriod(t *testing.T) {
	m, _ := newLimiter()
	l := PerMinute(5, 0)
	for i := range 5 {
		if !allow(t, m, "k", l, 1).Allowed {
			t.Fatalf("request %d refused", i)
		}
	}
	if r := allow(t, m, "k", l, 1); r.Allowed || r.RetryAfter != 12*time.Second {
		t.Fatalf("6th: %+v", r)
	}
}

func TestChargeCreatesDebt(t *testing.T) {
	m, c := newLimiter()
	ctx := context.Background()
	l := PerMinute(600, 0) // ten tokens a second
	if !allow(t, m, "t", l, 100).Allowed {
		t.Fatal("first")
	}
	// The response turned out to cost 1,000 more tokens than estimated:
	// more than the whole bucket. The caller is in debt.
	if err := m.Charge(ctx, "t", l, 1000); err != nil {
		t.Fatal(err)
	}
	r := allow(t, m, "t", l, 1)
	if r.Allowed {
		t.Fatal("allowed while in debt")
	}
	// 1,100 tokens against a 600 bucket: 500 of debt plus 1 token = 50.1s.
	if r.RetryAfter != 50100*time.Millisecond {
		t.Fatalf("RetryAfter %v", r.RetryAfter)
	}
	c.advance(r.RetryAfter)
	if !allow(t, m, "t", l, 1).Allowed {
		t.Fatal("refused after paying the debt")
	}
}

func TestRefundCannotBankCredit(t *testing.T) {
	m, _ := newLimiter()
	ctx := context.Background()
	l := PerMinute(10, 0)
	if !allow(t, m, "r", l, 8).Allowed {
		t.Fatal("first")
	}
	m.Charge(ctx, "r", l, -5) // estimate was 5 too high
	if r := allow(t, m, "r", l, 7); !r.Allowed {
		t.Fatalf("refund not applied: %+v", r)
	}
	m.Charge(ctx, "r", l, -1000) // a huge refund only refills the bucket
	if allow(t, m, "r", l, 11).Allowed {
		t.Fatal("a refund raised capacity above the burst")
	}
}

func TestLargerThanCapacityNeverFits(t *testing.T) {
	m, _ := newLimiter()
	l := PerMinute(100, 0)
	r := allow(t, m, "big", l, 101)
	if r.Allowed || r.RetryAfter <= 0 {
		t.Fatalf("%+v", r)
	}
	if l.Capacity() != 100 {
		t.Fatal("capacity")
	}
}

func TestUnlimited(t *testing.T) {
	m, _ := newLimiter()
	for _, l := range []Limit{{}, {Rate: 0, Period: time.Minute}, {Rate: 5}} {
		if !allow(t, m, "u", l, 1e9).Allowed {
			t.Fatalf("%+v refused", l)
		}
	}
}

func TestHugeNumbersDoNotOverflow(t *testing.T) {
	m, _ := newLimiter()
	l := Limit{Rate: 1, Period: 24 * time.Hour}
	if allow(t, m, "h", l, 1<<62).Allowed {
		t.Fatal("allowed an absurd cost")
	}
	if err := m.Charge(context.Background(), "h", l, 1<<62); err != nil {
		t.Fatal(err)
	}
	if r := allow(t, m, "h", l, 1); r.Allowed || r.RetryAfter <= 0 {
		t.Fatalf("after an absurd charge: %+v", r)
	}
}

// TestConcurrentAllowNeverOverspends hammers one key from many goroutines
// with the clock frozen: exactly the burst may get through.
func TestConcurrentAllowNeverOverspends(t *testing.T) {
	m, _ := newLimiter()
	l := PerMinute(1000, 50)
	var allowed atomic.Int64
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 100 {
				if r, _ := m.Allow(context.Background(), "c", l, 1); r.Allowed {
					allowed.Add(1)
				}
			}
		})
	}
	wg.Wait()
	if allowed.Load() != 50 {
		t.Fatalf("%d allowed, want exactly 50", allowed.Load())
	}
}

func TestSweepDropsIdleKeys(t *testing.T) {
	m, c := newLimiter()
	l := PerMinute(60, 0)
	const n = 100_000 // well past the per-shard sweep threshold
	for i := range n {
		allow(t, m, fmt.Sprint("ip", i), l, 1)
	}
	c.advance(2 * time.Second) // every bucket has refilled
	for i := range n {
		allow(t, m, fmt.Sprint("new", i), l, 1)
	}
	total := 0
	for i := range m.shards {
		total += len(m.shards[i].tat)
	}
	if total > n*3/2 {
		t.Fatalf("%d keys held after idle keys refilled; sweeping does not work", total)
	}
}

func TestConcurrency(t *testing.T) {
	c := NewConcurrency()
	r1, ok1 := c.Acquire("k", 2)
	r2, ok2 := c.Acquire("k", 2)
	_, ok3 := c.Acquire("k", 2)
	if !ok1 || !ok2 || ok3 {
		t.Fatalf("acquire: %v %v %v", ok1, ok2, ok3)
	}
	r1()
	r1() // releasing twice must not free a second slot
	if c.InFlight("k") != 1 {
		t.Fatalf("in flight %d after one release", c.InFlight("k"))
	}
	if _, ok := c.Acquire("k", 2); !ok {
		t.Fatal("slot not freed")
	}
	r2()
	if _, ok := c.Acquire("unlimited", 0); !ok {
		t.Fatal("zero max must not cap")
	}
}

func TestHeaders(t *testing.T) {
	h := http.Header{}
	SetHeaders(h, []Applied{
		{Name: "key-rpm", Limit: PerMinute(60, 10), Result: Result{Allowed: true, Remaining: 9, ResetAfter: 1500 * time.Millisecond}},
		{Name: "ip-rpm", Limit: Limit{}}, // unlimited: not advertised
		{Name: "key-tpm", Limit: PerMinute(10000, 0), Result: Result{Allowed: false, Remaining: 20, RetryAfter: 2100 * time.Millisecond, ResetAfter: 59 * time.Second}},
	})
	if got, want := h.Get("RateLimit-Policy"), `"key-rpm";q=60;w=60, "key-tpm";q=10000;w=60`; got != want {
		t.Errorf("RateLimit-Policy %q, want %q", got, want)
	}
	if got, want := h.Get("RateLimit"), `"key-rpm";r=9;t=2, "key-tpm";r=20;t=59`; got != want {
		t.Errorf("RateLimit %q, want %q", got, want)
	}
	if got := h.Get("Retry-After"); got != "3" {
		t.Errorf("Retry-After %q, want 3 (rounded up)", got)
	}
}

func BenchmarkAllow(b *testing.B) {
	m := NewMemory(nil)
	l := PerMinute(1<<40, 0)
	ctx := context.Background()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			m.Allow(ctx, "key:abcdefghijkl:rpm", l, 1)
		}
	})
}
