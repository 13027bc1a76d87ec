// Command gateway measures what modelgate costs in front of a model server.
//
// In one run it starts a loopback upstream that answers at once with a 1 KB
// OpenAI-style chat completion, a bare httputil.ReverseProxy in front of
// it, and modelgate in front of it with authentication, rate limits (per
// key and per address, requests and tokens), metrics and the access log on.
// It then drives 1 KB non-streaming requests at each target:
//
//   - closed loop: -concurrency workers send back to back (throughput, and
//     latency at saturation);
//   - open loop: requests at a fixed -rate whatever the answers do
//     (latency when not saturated, the figure vendors quote);
//
// and reports throughput, p50/p99 latency and process CPU per request.
//
//	go run ./bench/gateway -duration 10s
package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"runtime"
	"runtime/pprof"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/modelgate/modelgate/access"
	"github.com/modelgate/modelgate/config"
	"github.com/modelgate/modelgate/server"
	"github.com/modelgate/modelgate/store"
)

func main() {
	var (
		duration    = flag.Duration("duration", 10*time.Second, "measured time per target and phase")
		warmup      = flag.Duration("warmup", 2*time.Second, "unmeasured time before each measurement")
		concurrency = flag.Int("concurrency", 64, "closed-loop workers")
		rate        = flag.Int("rate", 1000, "open-loop requests per second (0: skip the open-loop phase)")
		only        = flag.String("only", "", "measure only the target with this name (direct, proxy, modelgate)")
		cpuprofile  = flag.String("cpuprofile", "", "write a CPU profile of the measured phases to this file")
	)
	flag.Parse()

	upstream := listen(http.HandlerFunc(answer))
	upURL, _ := url.Parse(upstream)
	proxy := httputil.NewSingleHostReverseProxy(upURL)
	proxy.Transport = transport()
	bare := listen(proxy)
	gateway, key := startModelgate(upstream)

	targets := []target{
		{name: "direct", url: upstream + "/v1/chat/completions"},
		{name: "httputil.ReverseProxy", url: bare + "/v1/chat/completions"},
		{name: "modelgate", url: gateway + "/v1/chat/completions", key: key},
	}
	if *only != "" {
		targets = slices.DeleteFunc(targets, func(t target) bool { return !strings.Contains(strings.ToLower(t.name), *only) })
	}
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			log.Fatal(err)
		}
		pprof.StartCPUProfile(f)
		defer pprof.StopCPUProfile()
	}
	fmt.Printf("bench/gateway: %d-byte requests, %d-byte responses, GOMAXPROCS=%d, %s per phase (+%s warm-up)\n\n",
		len(requestBody), len(responseBody), runtime.GOMAXPROCS(0), *duration, *warmup)

	var closed, open []result
	for _, t := range targets {
		closed = append(closed, t.closedLoop(*concurrency, *warmup, *duration))
	}
	printTable(fmt.Sprintf("Closed loop, concurrency %d", *concurrency), closed)
	if *rate > 0 {
		for _, t := range targets {
			open = append(open, t.openLoop(*rate, *warmup, *duration))
		}
		printTable(fmt.Sprintf("Open loop, %d requests/s", *rate), open)
	}
	summarise(closed, open)
}

// requestBody is a 1 KB chat request; responseBody a 1 KB completion.
var requestBody, responseBody []byte

func init() {
	content := strings.Repeat("lorem ipsum ", 83)
	requestBody = []byte(`{"model":"bench","messages":[{"role":"user","content":"` + content[:1024-64] + `"}]}`)
	responseBody = []byte(`{"id":"chatcmpl-bench","object":"chat.completion","created":1,"model":"bench","choices":[{"index":0,"finish_reason":"stop","message":{"role":"assistant","content":"` +
		content[:1024-250] + `"}}],"usage":{"prompt_tokens":200,"completion_tokens":200,"total_tokens":400}}`)
}

func answer(w http.ResponseWriter, r *http.Request) {
	io.Copy(io.Discard, r.Body)
	w.Header().Set("Content-Type", "application/json")
	w.Write(responseBody)
}

func listen(h http.Handler) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	go (&http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}).Serve(ln)
	return "http://" + ln.Addr().String()
}

// transport is what the load generator and the bare proxy use: enough idle
// connections that no phase pays for reconnecting (modelgate's upstream
// transport is configured the same way).
func transport() *http.Transport {
	return &http.Transport{MaxIdleConns: 1024, MaxIdleConnsPerHost: 512, IdleConnTimeout: 90 * time.Second, DisableCompression: true}
}

// startModelgate runs modelgate as `modelgate serve` would, with limits
// high enough never to refuse but checked on every request.
func startModelgate(upstream string) (addr, key string) {
	dir, err := os.MkdirTemp("", "modelgate-bench")
	if err != nil {
		log.Fatal(err)
	}
	cfg := config.Default()
	cfg.Listen, cfg.AdminListen, cfg.DataDir = "127.0.0.1:0", "127.0.0.1:0", dir
	cfg.RateLimits.Key = access.Limits{RPM: 100_000_000, TPM: 1_000_000_000_000, MaxConcurrent: 10_000}
	cfg.RateLimits.IP = access.Limits{RPM: 100_000_000, TPM: 1_000_000_000_000}
	cfg.Log.Requests = true
	cfg.Routes = []*store.Route{{Model: "bench", Protocol: store.ProtocolOpenAI, Upstream: store.Upstream{URL: upstream + "/v1"}}}
	// The access log is formatted as in production, then discarded so the
	// disk does not enter the measurement.
	logger := slog.New(slog.NewJSONHandler(io.Discard, nil))
	s, err := server.New(context.Background(), cfg, server.Options{Logger: logger})
	if err != nil {
		log.Fatal(err)
	}
	_, key, err = access.CreateKey(context.Background(), s.Store(),
		access.KeySpec{Name: "bench", Scopes: []string{"inference:invoke"}, Models: []string{"bench"}}, time.Now())
	if err != nil {
		log.Fatal(err)
	}
	go s.Run(context.Background())
	return "http://" + s.Addr().String(), key
}

type target struct {
	name, url, key string
}

type result struct {
	name       string
	requests   int
	errors     int
	elapsed    time.Duration
	p50, p99   time.Duration
	mean       time.Duration
	cpuPerReq  time.Duration
	throughput float64
}

func (t target) request(client *http.Client) (time.Duration, bool) {
	req, _ := http.NewRequest(http.MethodPost, t.url, bytes.NewReader(requestBody))
	req.Header.Set("Content-Type", "application/json")
	if t.key != "" {
		req.Header.Set("Authorization", "Bearer "+t.key)
	}
	start := time.Now()
	resp, err := client.Do(req)
	if err != nil {
		return 0, false
	}
	n, _ := io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return time.Since(start), resp.StatusCode == 200 && n > 0
}

// closedLoop runs workers that each send the next request when the last
// one is answered.
func (t target) closedLoop(workers int, warmup, measure time.Duration) result {
	client := &http.Client{Transport: transport()}
	var (
		measuring atomic.Bool
		stop      atomic.Bool
		mu        sync.Mutex
		lat       []time.Duration
		errs      int
		wg        sync.WaitGroup
	)
	for range workers {
		wg.Go(func() {
			var local []time.Duration
			localErrs := 0
			for !stop.Load() {
				d, ok := t.request(client)
				if !measuring.Load() {
					continue
				}
				if ok {
					local = append(local, d)
				} else {
					localErrs++
				}
			}
			mu.Lock()
			lat = append(lat, local...)
			errs += localErrs
			mu.Unlock()
		})
	}
	time.Sleep(warmup)
	cpu0 := cpuTime()
	measuring.Store(true)
	start := time.Now()
	time.Sleep(measure)
	measuring.Store(false)
	elapsed := time.Since(start)
	cpu := cpuTime() - cpu0
	stop.Store(true)
	wg.Wait()
	client.CloseIdleConnections()
	return summarise1(t.name, lat, errs, elapsed, cpu)
}

// openLoop sends requests at a fixed rate, each on its own goroutine, so
// a slow answer never delays the next request (no coordinated omission).
func (t target) openLoop(rate int, warmup, measure time.Duration) result {
	client := &http.Client{Transport: transport()}
	interval := time.Second / time.Duration(rate)
	var (
		mu   sync.Mutex
		lat  []time.Duration
		errs int
		wg   sync.WaitGroup
	)
	run := func(d time.Duration, record bool) {
		next := time.Now()
		end := next.Add(d)
		for next.Before(end) {
			if wait := time.Until(next); wait > 0 {
				time.Sleep(wait)
			}
			wg.Go(func() {
				d, ok := t.request(client)
				if !record {
					return
				}
				mu.Lock()
				if ok {
					lat = append(lat, d)
				} else {
					errs++
				}
				mu.Unlock()
			})
			next = next.Add(interval)
		}
	}
	run(warmup, false)
	cpu0 := cpuTime()
	start := time.Now()
	run(measure, true)
	wg.Wait()
	elapsed := time.Since(start)
	cpu := cpuTime() - cpu0
	client.CloseIdleConnections()
	return summarise1(t.name, lat, errs, elapsed, cpu)
}

func summarise1(name string, lat []time.Duration, errs int, elapsed, cpu time.Duration) result {
	slices.Sort(lat)
	r := result{name: name, requests: len(lat), errors: errs, elapsed: elapsed}
	if len(lat) > 0 {
		var sum time.Duration
		for _, d := range lat {
			sum += d
		}
		r.mean = sum / time.Duration(len(lat))
		r.p50 = lat[len(lat)*50/100]
		r.p99 = lat[len(lat)*99/100]
		r.cpuPerReq = cpu / time.Duration(len(lat))
	}
	r.throughput = float64(len(lat)) / elapsed.Seconds()
	return r
}

// cpuTime is the CPU this process has used, user and system.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func printTable(title string, rs []result) {
	fmt.Printf("%s\n\n", title)
	fmt.Printf("| target | requests/s | p50 | p99 | mean | CPU per request | errors |\n")
	fmt.Printf("|---|---:|---:|---:|---:|---:|---:|\n")
	for _, r := range rs {
		fmt.Printf("| %s | %.0f | %s | %s | %s | %s | %d |\n", r.name, r.throughput, us(r.p50), us(r.p99), us(r.mean), us(r.cpuPerReq), r.errors)
	}
	fmt.Println()
}

func summarise(closed, open []result) {
	if len(closed) != 3 {
		return
	}
	bare, mg := closed[1], closed[2]
	fmt.Printf("modelgate vs bare proxy, closed loop: %.1f%% of its throughput (goal >= 70%%), p50 %+.0f µs (goal <= +150 µs), mean %+.0f µs, CPU %+.0f µs per request\n",
		100*mg.throughput/bare.throughput, float64(mg.p50-bare.p50)/1e3, float64(mg.mean-bare.mean)/1e3, float64(mg.cpuPerReq-bare.cpuPerReq)/1e3)
	if len(open) == 3 {
		bare, mg = open[1], open[2]
		fmt.Printf("modelgate vs bare proxy, open loop:   p50 %+.0f µs, p99 %+.0f µs, mean %+.0f µs\n",
			float64(mg.p50-bare.p50)/1e3, float64(mg.p99-bare.p99)/1e3, float64(mg.mean-bare.mean)/1e3)
	}
}

func us(d time.Duration) string { return fmt.Sprintf("%.0f µs", float64(d)/1e3) }
