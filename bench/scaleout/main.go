// Command scaleout measures modelgate on PostgreSQL and Redis: durable
// audit events per second into the shared log (one writer, and three as
// three replicas would be), and gateway throughput with 1 and 3 replicas
// (`modelgate serve` processes) in front of an instant upstream.
//
//	MODELGATE_TEST_POSTGRES_DSN=postgres://postgres@127.0.0.1:5432/test?sslmode=disable \
//	MODELGATE_TEST_REDIS_ADDR=127.0.0.1:6379 go run ./bench/scaleout [-duration 10s]
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"log/slog"
	"os"
	"runtime"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/modelgate/modelgate/audit"
	"github.com/modelgate/modelgate/internal/cluster"
	"github.com/modelgate/modelgate/internal/pgtest"
	"github.com/modelgate/modelgate/store"
	"github.com/modelgate/modelgate/store/postgres"
)

func main() {
	duration := flag.Duration("duration", 10*time.Second, "how long each phase runs")
	concurrency := flag.Int("concurrency", 64, "clients in each gateway phase")
	flag.Parse()
	base, redisAddr := os.Getenv("MODELGATE_TEST_POSTGRES_DSN"), os.Getenv("MODELGATE_TEST_REDIS_ADDR")
	if base == "" || redisAddr == "" {
		log.Fatal("set MODELGATE_TEST_POSTGRES_DSN and MODELGATE_TEST_REDIS_ADDR")
	}
	ctx := context.Background()
	fmt.Printf("bench/scaleout: GOMAXPROCS=%d, %v per phase; PostgreSQL, Redis, the replicas and the load generator share this machine\n\n", runtime.GOMAXPROCS(0), *duration)

	fmt.Println("Durable audit appends into PostgreSQL (each Append returns once committed)")
	fmt.Println()
	fmt.Println("| writers (replicas) | goroutines each | durable events/s | p50 | p99 | sequenced into the tree, events/s |")
	fmt.Println("|---:|---:|---:|---:|---:|---:|")
	for _, writers := range []int{1, 3} {
		dsn, drop := schema(ctx, base)
		r := appendLoad(ctx, dsn, writers, 64/writers, *duration)
		drop()
		fmt.Printf("| %d | %d | %.0f | %v | %v | %.0f |\n", writers, 64/writers, r.rate, r.p50, r.p99, r.sequenced)
	}

	dir, err := os.MkdirTemp("", "mg-scaleout")
	must(err)
	defer os.RemoveAll(dir)
	bin, err := cluster.Build(dir, "./cmd/modelgate")
	must(err)
	up := cluster.Upstream()
	defer up.Close()
	fmt.Println()
	fmt.Printf("Gateway, closed loop, %d clients spread over the replicas; every request authenticated, rate-limited in Redis and recorded durably in the shared log\n\n", *concurrency)
	fmt.Println("| replicas | requests/s | p50 | p99 | errors |")
	fmt.Println("|---:|---:|---:|---:|---:|")
	for _, n := range []int{1, 3} {
		dsn, drop := schema(ctx, base)
		sub, err := os.MkdirTemp(dir, "cluster")
		must(err)
		c, err := cluster.Start(ctx, cluster.Options{Binary: bin, Dir: sub, DSN: dsn, RedisAddr: redisAddr, Upstream: up.URL,
			Extra: "rate_limits:\n  key: {rpm: 100000000, tpm: 100000000000, max_concurrent: 100000}\n  ip: {rpm: 100000000}\n"}, n)
		must(err)
		key, _, err := c.Key(ctx, nil)
		must(err)
		r := gatewayLoad(c, key, *concurrency, *duration)
		c.Stop()
		drop()
		fmt.Printf("| %d | %.0f | %v | %v | %d |\n", n, r.rate, r.p50, r.p99, r.errors)
	}
}

type result struct {
	rate      float64
	sequenced float64 // events/s into the Merkle tree, queue drained
	p50, p99  time.Duration
	errors    int64
}

func summarise(lat []time.Duration, n int64, d time.Duration, errors int64) result {
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	r := result{rate: float64(n) / d.Seconds(), errors: errors}
	if len(lat) > 0 {
		r.p50 = lat[len(lat)/2].Round(10 * time.Microsecond)
		r.p99 = lat[len(lat)*99/100].Round(10 * time.Microsecond)
	}
	return r
}

// appendLoad runs writers audit.Logs, each on its own pool as a replica
// would be, with goroutines appending as fast as commits allow.
func appendLoad(ctx context.Context, dsn string, writers, goroutines int, d time.Duration) result {
	signer, verifier, err := audit.LoadOrCreateKeys(must1(os.MkdirTemp("", "mg-keys")))
	must(err)
	var logs []*audit.Log
	var dbs []*postgres.DB
	for range writers {
		db, err := postgres.Open(ctx, dsn, postgres.Options{MaxConns: 8})
		must(err)
		l, err := audit.Open(ctx, db.Audit(), signer, verifier, audit.Options{Logger: slog.New(slog.DiscardHandler)})
		must(err)
		logs, dbs = append(logs, l), append(dbs, db)
	}
	var n atomic.Int64
	var mu sync.Mutex
	var lat []time.Duration
	deadline := time.Now().Add(d)
	var wg sync.WaitGroup
	for _, l := range logs {
		for range goroutines {
			wg.Go(func() {
				var mine []time.Duration
				for time.Now().Before(deadline) {
					start := time.Now()
					ev := &audit.Event{Time: start, Action: audit.ActionInvoke, Actor: audit.Actor{Kind: audit.ActorAPIKey, ID: "k"},
						Resource: audit.Resource{Model: "m"}, Decision: audit.Decision{Outcome: audit.Allowed}}
					if err := l.Append(ctx, ev, audit.Payload{Kind: audit.PayloadInput, Mode: store.CaptureHash, Data: make([]byte, 1000)}); err != nil {
						log.Fatal(err)
					}
					mine = append(mine, time.Since(start))
					n.Add(1)
				}
				mu.Lock()
				lat = append(lat, mine...)
				mu.Unlock()
			})
		}
	}
	wg.Wait()
	loadEnd := time.Now()
	for i, l := range logs {
		must(l.Close())
		dbs[i].Close()
	}
	// Close drains the queue into the log: the time until the last event
	// is sequenced tells whether the sequencer keeps up.
	seqRate := float64(n.Load()) / time.Since(loadEnd.Add(-d)).Seconds()
	// The log must still be one verifiable sequence.
	db, err := postgres.Open(ctx, dsn, postgres.Options{})
	must(err)
	rep, err := audit.Verify(ctx, db.Audit(), verifier)
	must(err)
	db.Close()
	if rep.Events != n.Load() {
		log.Fatalf("the log holds %d events, %d were appended", rep.Events, n.Load())
	}
	r := summarise(lat, n.Load(), d, 0)
	r.sequenced = seqRate
	return r
}

func gatewayLoad(c *cluster.Cluster, key string, clients int, d time.Duration) result {
	var n, errs atomic.Int64
	var mu sync.Mutex
	var lat []time.Duration
	// A short warm-up: connections, caches.
	warm := time.Now().Add(time.Second)
	for time.Now().Before(warm) {
		c.Replicas[0].Call(key)
	}
	deadline := time.Now().Add(d)
	var wg sync.WaitGroup
	for i := range clients {
		r := c.Replicas[i%len(c.Replicas)]
		wg.Go(func() {
			var mine []time.Duration
			for time.Now().Before(deadline) {
				start := time.Now()
				code, _, err := r.Call(key)
				if err != nil || code != 200 {
					errs.Add(1)
					continue
				}
				mine = append(mine, time.Since(start))
				n.Add(1)
			}
			mu.Lock()
			lat = append(lat, mine...)
			mu.Unlock()
		})
	}
	wg.Wait()
	return summarise(lat, n.Load(), d, errs.Load())
}

// schema creates a fresh schema for one phase and returns its DSN and a
// function that drops it.
func schema(ctx context.Context, base string) (string, func()) {
	dsn, drop, err := pgtest.NewSchema(ctx, base, "mg_bench_")
	must(err)
	return dsn, drop
}

func must(err error) {
	if err != nil {
		log.Fatal(err)
	}
}

func must1[T any](v T, err error) T {
	must(err)
	return v
}
