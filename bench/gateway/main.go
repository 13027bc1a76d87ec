// Command gateway measures what modelgate costs in front of a model server.
//
// In one run it starts a loopback upstream that answers at once (or after
// -upstream-latency) with a 1 KB OpenAI-style chat completion, a bare
// httputil.ReverseProxy in front of it, and modelgate in front of it twice: with authentication, rate limits
// (per key and per address, requests and tokens), metrics and the access
// log on, and with all that plus the audit log (fail closed: every
// response waits for its event to be durable; payloads as digests, the
// default). It then drives 1 KB non-streaming requests at each target:
//
//   - closed loop: -concurrency workers send back to back (throughput, and
//     latency at saturation);
//   - open loop: requests at a fixed -rate whatever the answers do
//     (latency when not saturated, the figure vendors quote);
//
// and reports throughput, p50/p99 latency, the time to the answer's first
// byte and process CPU per request. Two more targets run the standard guard
// pipeline (config.StandardGuards) on every request and answer, without
// and with the audit log. With -stream every request is a stream, answered
// with 20 SSE events flushed one by one. Last, it times the first content
// token of streamed answers through modelgate with and without guards,
// which hold streamed text back until they have seen enough of it.
//
//	go run ./bench/gateway -duration 10s
//	go run ./bench/gateway -stream -duration 10s
package main

import (
	"bytes"
	"cmp"
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
	"regexp"
	"runtime"
	"runtime/pprof"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/modelgate/modelgate/access"
	"github.com/modelgate/modelgate/audit"
	"github.com/modelgate/modelgate/config"
	"github.com/modelgate/modelgate/gateway"
	"github.com/modelgate/modelgate/gateway/auditing"
	"github.com/modelgate/modelgate/gateway/guarding"
	"github.com/modelgate/modelgate/monitor"
	"github.com/modelgate/modelgate/server"
	"github.com/modelgate/modelgate/store"
	"github.com/modelgate/modelgate/store/sqlite"
	"github.com/prometheus/client_golang/prometheus"
)

// auditLog is the audit log of the modelgate + audit target, for its stats.
var (
	auditLog        *audit.Log
	batchWait       time.Duration
	upstreamLatency time.Duration
	// streaming makes every request a stream, answered with streamChunks
	// SSE events flushed one by one.
	streaming bool
)

const streamChunks = 20

func main() {
	var (
		duration    = flag.Duration("duration", 10*time.Second, "measured time per target and phase")
		warmup      = flag.Duration("warmup", 2*time.Second, "unmeasured time before each measurement")
		concurrency = flag.Int("concurrency", 64, "closed-loop workers")
		rate        = flag.Int("rate", 1000, "open-loop requests per second (0: skip the open-loop phase)")
		only        = flag.String("only", "", "measure only these targets, comma-separated: exact names, or parts of names")
		cpuprofile  = flag.String("cpuprofile", "", "write a CPU profile of the measured phases to this file")
		rounds      = flag.Int("rounds", 1, "closed-loop rounds over the targets, in alternating order; each target's median round is reported")
	)
	flag.DurationVar(&batchWait, "batch-wait", 0, "the audit log's batch_wait (0: its default)")
	flag.DurationVar(&upstreamLatency, "upstream-latency", 0, "how long the upstream takes to answer (a model takes tens of milliseconds or more)")
	ttft := flag.Int("ttft", 40, "streams to time for the time to first token (0: skip)")
	flag.BoolVar(&streaming, "stream", false, "send streamed requests, answered with 20 SSE chunks (time to first byte is reported)")
	flag.Parse()
	if streaming {
		requestBody = bytes.Replace(requestBody, []byte(`"model":"bench",`), []byte(`"model":"bench","stream":true,`), 1)
	}

	upstream := listen(http.HandlerFunc(answer))
	upURL, _ := url.Parse(upstream)
	proxy := httputil.NewSingleHostReverseProxy(upURL)
	proxy.Transport = transport()
	bare := listen(proxy)
	mg, key := startModelgate(upstream, false, false)
	mgGuards, keyGuards := startModelgate(upstream, false, true)
	mgAudit, keyAudit := startModelgate(upstream, true, false)
	mgBoth, keyBoth := startModelgate(upstream, true, true)
	mgFeedback, keyFeedback := startModelgate(upstream, true, false, withFeedback)
	mgMonitor, keyMonitor := startModelgate(upstream, true, false, withMonitor)

	targets := []target{
		{name: "direct", url: upstream + "/v1/chat/completions"},
		{name: "httputil.ReverseProxy", url: bare + "/v1/chat/completions"},
		{name: "modelgate", url: mg + "/v1/chat/completions", key: key},
		{name: "modelgate + guards", url: mgGuards + "/v1/chat/completions", key: keyGuards},
		{name: "modelgate + audit log", url: mgAudit + "/v1/chat/completions", key: keyAudit},
		{name: "modelgate + guards + audit log", url: mgBoth + "/v1/chat/completions", key: keyBoth},
		{name: "modelgate + audit log + feedback", url: mgFeedback + "/v1/chat/completions", key: keyFeedback},
		{name: "modelgate + audit log + feedback + monitor", url: mgMonitor + "/v1/chat/completions", key: keyMonitor},
	}
	if *only != "" {
		targets = pick(targets, strings.Split(*only, ","))
	}
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			log.Fatal(err)
		}
		pprof.StartCPUProfile(f)
		defer pprof.StopCPUProfile()
	}
	answers := fmt.Sprintf("%d-byte responses", len(responseBody))
	if streaming {
		answers = fmt.Sprintf("streamed responses of %d SSE chunks (%d bytes)", streamChunks, len(sseBody))
	}
	fmt.Printf("bench/gateway: %d-byte requests, %s, upstream latency %s, GOMAXPROCS=%d, %s per phase (+%s warm-up)\n\n",
		len(requestBody), answers, upstreamLatency, runtime.GOMAXPROCS(0), *duration, *warmup)

	var closed, open []result
	if *rounds > 1 {
		closed = medianOfRounds(targets, *rounds, *concurrency, *warmup, *duration)
	} else {
		for _, t := range targets {
			closed = append(closed, t.closedLoop(*concurrency, *warmup, *duration))
		}
	}
	printTable(fmt.Sprintf("Closed loop, concurrency %d", *concurrency), closed)
	if *rate > 0 {
		for _, t := range targets {
			open = append(open, t.openLoop(*rate, *warmup, *duration))
		}
		printTable(fmt.Sprintf("Open loop, %d requests/s", *rate), open)
	}
	summarise(closed, open)
	if *ttft > 0 {
		streamer := listen(http.HandlerFunc(streamAnswer))
		off, offKey := startModelgate(streamer, false, false)
		on, onKey := startModelgate(streamer, false, true)
		fmt.Printf("\nStreams: time to first content token, %d sequential streams of %d words, one word per event every %s\n",
			*ttft, streamWords, streamGap)
		for _, t := range []target{{name: "modelgate", url: off + "/v1/chat/completions", key: offKey},
			{name: "modelgate + guards", url: on + "/v1/chat/completions", key: onKey}} {
			p50, p99, total := t.firstToken(*ttft)
			fmt.Printf("  %-22s first token p50 %-9s p99 %-9s whole stream p50 %s\n", t.name, p50.Round(time.Microsecond), p99.Round(time.Microsecond), total.Round(time.Microsecond))
		}
	}
	if auditLog != nil {
		st := auditLog.Stats()
		if st.Commits > 0 {
			fmt.Printf("audit log: %d events in %d group commits (%.1f events per commit, %s per commit) and %d syncs (%s per sync)\n",
				st.Written, st.Commits, float64(st.Written)/float64(st.Commits), (st.CommitTime / time.Duration(st.Commits)).Round(time.Microsecond),
				st.Syncs, (st.SyncTime / time.Duration(max(st.Syncs, 1))).Round(time.Microsecond))
		}
	}
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
	if upstreamLatency > 0 {
		time.Sleep(upstreamLatency)
	}
	if streaming {
		w.Header().Set("Content-Type", "text/event-stream")
		f := w.(http.Flusher)
		for _, chunk := range sseChunks {
			w.Write(chunk)
			f.Flush()
		}
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Write(responseBody)
}

// sseChunks are a streamed answer's events, the last with usage and then
// [DONE]; sseBody is all of them.
var sseChunks [][]byte
var sseBody []byte

func init() {
	for i := range streamChunks {
		c := fmt.Appendf(nil, `data: {"id":"c","object":"chat.completion.chunk","model":"bench","choices":[{"index":0,"delta":{"content":"word%02d lorem ipsum dolor "},"finish_reason":null}]}`+"\n\n", i)
		if i == streamChunks-1 {
			c = append(c, `data: {"id":"c","object":"chat.completion.chunk","model":"bench","choices":[{"index":0,"delta":{},"finish_reason":"stop"}],"usage":{"prompt_tokens":200,"completion_tokens":100,"total_tokens":300}}`+"\n\ndata: [DONE]\n\n"...)
		}
		sseChunks = append(sseChunks, c)
		sseBody = append(sseBody, c...)
	}
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

// startModelgate assembles modelgate as `modelgate serve` does, with
// limits high enough never to refuse but checked on every request, with
// or without the audit log (the server has no switch to turn it off).
// An extra is what a target adds to the audit log: feedback tokens on
// every answer (on by default in modelgate serve), or those and the
// monitor's default rules over the log with the signals the gateway
// notes for them.
type extra int

const (
	withFeedback extra = iota + 1
	withMonitor
)

func startModelgate(upstream string, withAudit, withGuards bool, extras ...extra) (addr, key string) {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "modelgate-bench")
	if err != nil {
		log.Fatal(err)
	}
	st, err := sqlite.OpenDir(ctx, dir)
	if err != nil {
		log.Fatal(err)
	}
	now := time.Now()
	if err := st.PutRoute(ctx, &store.Route{Model: "bench", Protocol: store.ProtocolOpenAI, Source: store.SourceConfig,
		Upstream: store.Upstream{URL: upstream + "/v1"}, CreatedAt: now, UpdatedAt: now}); err != nil {
		log.Fatal(err)
	}
	_, key, err = access.CreateKey(ctx, st, access.KeySpec{Name: "bench", Scopes: []string{"inference:invoke"}, Models: []string{"bench"}}, now)
	if err != nil {
		log.Fatal(err)
	}
	// The access log is formatted as in production, then discarded so the
	// disk does not enter the measurement (the audit log's does: it is
	// the point).
	logger := slog.New(slog.NewJSONHandler(io.Discard, nil))
	opts := gateway.Options{
		Store: st, Logger: logger, Metrics: gateway.NewMetrics(prometheus.NewRegistry()), LogRequests: true,
		RateLimits: gateway.RateLimits{
			Key: access.Limits{RPM: 100_000_000, TPM: 1_000_000_000_000, MaxConcurrent: 10_000},
			IP:  access.Limits{RPM: 100_000_000, TPM: 1_000_000_000_000},
		},
	}
	if withGuards {
		cfg, err := config.Parse("standard", []byte(config.StandardGuards))
		if err != nil {
			log.Fatal(err)
		}
		g, err := guarding.New(cfg.Guards)
		if err != nil {
			log.Fatal(err)
		}
		in, out := g.Hooks()
		opts.Hooks = gateway.Hooks{Input: []gateway.Middleware{in}, Output: []gateway.ResponseFilter{out}}
	}
	if withAudit {
		l, adb, err := server.OpenAudit(ctx, dir, audit.Options{Mode: audit.FailClosed, Logger: logger, BatchWait: batchWait})
		if err != nil {
			log.Fatal(err)
		}
		opts.Recorder = &auditing.Recorder{Log: l}
		secret := []byte("bench-secret-0123456789")
		if slices.Contains(extras, withFeedback) || slices.Contains(extras, withMonitor) {
			opts.Feedback = &gateway.Feedback{Secret: secret}
		}
		if slices.Contains(extras, withMonitor) {
			rules, err := monitor.DefaultRules()
			if err != nil {
				log.Fatal(err)
			}
			w := &monitor.Watcher{Engine: monitor.NewEngine(rules), Store: adb, Log: l, Logger: logger, Durable: l.DurableSize}
			go w.Run(ctx)
			opts.Signals = &gateway.Signals{Secret: secret} // prompt fingerprints, as the monitor's rules need
		} else if !withGuards {
			auditLog = l
		}
	}
	gw, err := gateway.New(opts)
	if err != nil {
		log.Fatal(err)
	}
	return listen(gw), key
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
	ttfb       time.Duration // p50 of the time to the first byte of the answer
	mean       time.Duration
	cpuPerReq  time.Duration
	throughput float64
}

// roundsByName holds each target's results round by round, when there
// are rounds.
var roundsByName = map[string][]result{}

// medianRatio is the median over rounds of a's throughput over b's in
// the same round, and the ratios; 0 without rounds.
func medianRatio(a, b string) (float64, []float64) {
	ra, rb := roundsByName[a], roundsByName[b]
	if len(ra) == 0 || len(ra) != len(rb) {
		return 0, nil
	}
	ratios := make([]float64, len(ra))
	for i := range ra {
		ratios[i] = ra[i].throughput / rb[i].throughput
	}
	sorted := slices.Clone(ratios)
	slices.Sort(sorted)
	return sorted[len(sorted)/2], ratios
}

// medianOfRounds measures every target rounds times, reversing the order
// each round so that no target always runs first (on a small shared
// machine the order alone moves throughput by several percent), and
// returns each target's round of median throughput. The ratio of two
// targets' figures is also printed per round.
func medianOfRounds(targets []target, rounds, concurrency int, warmup, duration time.Duration) []result {
	all := make([][]result, len(targets))
	for r := range rounds {
		order := make([]int, len(targets))
		for i := range order {
			order[i] = i
		}
		if r%2 == 1 {
			slices.Reverse(order)
		}
		line := fmt.Sprintf("round %d:", r+1)
		for _, i := range order {
			res := targets[i].closedLoop(concurrency, warmup, duration)
			all[i] = append(all[i], res)
			line += fmt.Sprintf(" %s %.0f/s;", res.name, res.throughput)
		}
		fmt.Println(line)
	}
	for i, rs := range all {
		roundsByName[targets[i].name] = slices.Clone(rs)
	}
	out := make([]result, len(targets))
	for i, rs := range all {
		slices.SortFunc(rs, func(a, b result) int { return cmp.Compare(a.throughput, b.throughput) })
		out[i] = rs[len(rs)/2]
	}
	fmt.Println()
	return out
}

// sample is one request's latency to the whole answer and to its first
// byte.
type sample struct{ total, first time.Duration }

func (t target) request(client *http.Client) (sample, bool) {
	req, _ := http.NewRequest(http.MethodPost, t.url, bytes.NewReader(requestBody))
	req.Header.Set("Content-Type", "application/json")
	if t.key != "" {
		req.Header.Set("Authorization", "Bearer "+t.key)
	}
	start := time.Now()
	resp, err := client.Do(req)
	if err != nil {
		return sample{}, false
	}
	var one [1]byte
	k, _ := io.ReadFull(resp.Body, one[:])
	first := time.Since(start)
	n, _ := io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return sample{time.Since(start), first}, resp.StatusCode == 200 && int64(k)+n > 0
}

// closedLoop runs workers that each send the next request when the last
// one is answered.
func (t target) closedLoop(workers int, warmup, measure time.Duration) result {
	client := &http.Client{Transport: transport()}
	var (
		measuring atomic.Bool
		stop      atomic.Bool
		mu        sync.Mutex
		lat       []sample
		errs      int
		wg        sync.WaitGroup
	)
	for range workers {
		wg.Go(func() {
			var local []sample
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
		lat  []sample
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

func summarise1(name string, samples []sample, errs int, elapsed, cpu time.Duration) result {
	lat := make([]time.Duration, len(samples))
	firsts := make([]time.Duration, len(samples))
	for i, s := range samples {
		lat[i], firsts[i] = s.total, s.first
	}
	slices.Sort(lat)
	slices.Sort(firsts)
	r := result{name: name, requests: len(lat), errors: errs, elapsed: elapsed}
	if len(lat) > 0 {
		var sum time.Duration
		for _, d := range lat {
			sum += d
		}
		r.mean = sum / time.Duration(len(lat))
		r.p50 = lat[len(lat)*50/100]
		r.p99 = lat[len(lat)*99/100]
		r.ttfb = firsts[len(firsts)*50/100]
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
	fmt.Printf("| target | requests/s | p50 | p99 | mean | first byte p50 | CPU per request | errors |\n")
	fmt.Printf("|---|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, r := range rs {
		fmt.Printf("| %s | %.0f | %s | %s | %s | %s | %s | %d |\n", r.name, r.throughput, us(r.p50), us(r.p99), us(r.mean), us(r.ttfb), us(r.cpuPerReq), r.errors)
	}
	fmt.Println()
}

// pick keeps the targets each choice names: one exact name, or else
// every name containing it.
func pick(targets []target, choices []string) []target {
	var out []target
	for _, t := range targets {
		for _, c := range choices {
			c = strings.ToLower(strings.TrimSpace(c))
			exact := slices.ContainsFunc(targets, func(t target) bool { return strings.ToLower(t.name) == c })
			name := strings.ToLower(t.name)
			if name == c || !exact && strings.Contains(name, c) {
				out = append(out, t)
				break
			}
		}
	}
	return out
}

func byName(rs []result, name string) (result, bool) {
	i := slices.IndexFunc(rs, func(r result) bool { return r.name == name })
	if i < 0 {
		return result{}, false
	}
	return rs[i], true
}

// summarise compares the targets measured: modelgate with the bare proxy,
// and modelgate with its audit log on and off.
func summarise(closed, open []result) {
	compare := func(rs []result, loop string) {
		bare, okBare := byName(rs, "httputil.ReverseProxy")
		mg, okMG := byName(rs, "modelgate")
		mgAudit, okAudit := byName(rs, "modelgate + audit log")
		if okBare && okMG && loop == "closed" {
			fmt.Printf("modelgate vs bare proxy, closed loop: %.1f%% of its throughput (goal >= 70%%), p50 %+.0f µs (goal <= +150 µs), mean %+.0f µs, CPU %+.0f µs per request\n",
				100*mg.throughput/bare.throughput, float64(mg.p50-bare.p50)/1e3, float64(mg.mean-bare.mean)/1e3, float64(mg.cpuPerReq-bare.cpuPerReq)/1e3)
		}
		if okBare && okMG && loop == "open" {
			fmt.Printf("modelgate vs bare proxy, open loop:   p50 %+.0f µs, p99 %+.0f µs, mean %+.0f µs\n",
				float64(mg.p50-bare.p50)/1e3, float64(mg.p99-bare.p99)/1e3, float64(mg.mean-bare.mean)/1e3)
		}
		if okMG && okAudit && loop == "closed" {
			fmt.Printf("audit log on vs off, closed loop:     %.1f%% of the throughput (goal >= 90%%), p50 %+.0f µs, CPU %+.0f µs per request\n",
				100*mgAudit.throughput/mg.throughput, float64(mgAudit.p50-mg.p50)/1e3, float64(mgAudit.cpuPerReq-mg.cpuPerReq)/1e3)
		}
		if okMG && okAudit && loop == "open" {
			fmt.Printf("audit log on vs off, open loop:       p50 %+.0f µs (goal <= +500 µs), p99 %+.0f µs, first byte p50 %+.0f µs (the wait for a durable event)\n",
				float64(mgAudit.p50-mg.p50)/1e3, float64(mgAudit.p99-mg.p99)/1e3, float64(mgAudit.ttfb-mg.ttfb)/1e3)
		}
		fb, okFB := byName(rs, "modelgate + audit log + feedback")
		mon, okMon := byName(rs, "modelgate + audit log + feedback + monitor")
		if okFB && okMon && loop == "closed" {
			fmt.Printf("monitoring on vs off, closed loop:    %.1f%% of the throughput (goal >= 95%%), p50 %+.0f µs, CPU %+.0f µs per request\n",
				100*mon.throughput/fb.throughput, float64(mon.p50-fb.p50)/1e3, float64(mon.cpuPerReq-fb.cpuPerReq)/1e3)
			if m, ratios := medianRatio(mon.name, fb.name); m > 0 {
				var each []string
				for _, r := range ratios {
					each = append(each, fmt.Sprintf("%.0f%%", 100*r))
				}
				fmt.Printf("monitoring on vs off, round by round: %s; median %.1f%% (goal >= 95%%)\n", strings.Join(each, " "), 100*m)
			}
		}
		if okBare && loop == "closed" {
			for _, name := range []string{"modelgate + audit log", "modelgate + guards + audit log"} {
				if r, ok := byName(rs, name); ok {
					goal := ""
					if streaming {
						goal = " (goal for streams >= 70%)"
					}
					fmt.Printf("%s vs bare proxy, closed loop: %.1f%% of its throughput%s, first byte p50 %+.0f µs\n",
						name, 100*r.throughput/bare.throughput, goal, float64(r.ttfb-bare.ttfb)/1e3)
				}
			}
		}
	}
	compare(closed, "closed")
	compare(open, "open")
}

func us(d time.Duration) string      { return fmt.Sprintf("%.0f µs", float64(d)/1e3) }
func mustDur(s string) time.Duration { d, _ := time.ParseDuration(s); return d }

// streamWords and streamGap shape the streamed answer: a model emitting
// one word every 10 ms, about 100 tokens per second.
const (
	streamWords = 60
	streamGap   = 10 * time.Millisecond
)

func streamAnswer(w http.ResponseWriter, r *http.Request) {
	io.Copy(io.Discard, r.Body)
	w.Header().Set("Content-Type", "text/event-stream")
	f := w.(http.Flusher)
	words := strings.Fields(strings.Repeat("the quick brown fox jumps over the lazy dog and keeps running ", 6))
	for i := range streamWords {
		fmt.Fprintf(w, "data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"%s \"},\"finish_reason\":null}]}\n\n", words[i%len(words)])
		f.Flush()
		time.Sleep(streamGap)
	}
	fmt.Fprint(w, "data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\ndata: [DONE]\n\n")
	f.Flush()
}

var contentEvent = regexp.MustCompile(`"content":"[^"]`)

// firstToken sends n streamed requests one after another and times the
// first event that carries content, and the whole stream.
func (t target) firstToken(n int) (p50, p99, total time.Duration) {
	client := &http.Client{Transport: transport()}
	body := []byte(`{"model":"bench","stream":true,"messages":[{"role":"user","content":"tell me a story"}]}`)
	var firsts, totals []time.Duration
	for range n {
		req, _ := http.NewRequest(http.MethodPost, t.url, bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+t.key)
		start := time.Now()
		resp, err := client.Do(req)
		if err != nil {
			log.Fatal(err)
		}
		buf := make([]byte, 0, 64<<10)
		first := time.Duration(0)
		chunk := make([]byte, 4096)
		for {
			k, err := resp.Body.Read(chunk)
			buf = append(buf, chunk[:k]...)
			if first == 0 && contentEvent.Match(buf) {
				first = time.Since(start)
			}
			if err != nil {
				break
			}
		}
		resp.Body.Close()
		if first == 0 {
			log.Fatalf("%s: no content in the stream (status %d): %s", t.name, resp.StatusCode, buf[max(0, len(buf)-600):])
		}
		firsts, totals = append(firsts, first), append(totals, time.Since(start))
	}
	slices.Sort(firsts)
	slices.Sort(totals)
	return firsts[len(firsts)/2], firsts[len(firsts)*99/100], totals[len(totals)/2]
}
