// Command redteam measures the red team against the demo, in process and
// through the gateway: the default LLM suite (every probe of the library)
// against the weak demo chat model behind the standard guards and with
// none, and HopSkipJump, SimBA and extraction against the demo
// classifier with a 10,000-query budget. Goals: the default suite in
// ≤ 60 s; HopSkipJump within 10,000 queries.
//
//	go run ./bench/redteam [-runs 3] [-concurrency 4]
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net/http/httptest"
	"os"
	"slices"
	"time"

	"github.com/modelgate/modelgate/access"
	"github.com/modelgate/modelgate/config"
	"github.com/modelgate/modelgate/demo"
	"github.com/modelgate/modelgate/redteam"
	"github.com/modelgate/modelgate/redteam/classifier"
	"github.com/modelgate/modelgate/server"
	"github.com/modelgate/modelgate/store"
)

func main() {
	runs := flag.Int("runs", 3, "runs of the LLM suite per route (the median is reported)")
	concurrency := flag.Int("concurrency", 4, "probes played at once")
	flag.Parse()
	ctx := context.Background()

	chat := httptest.NewServer(&demo.ChatModel{Weak: true})
	defer chat.Close()
	clf := demo.NewClassifier("demo-classifier")
	clfSrv := httptest.NewServer(clf)
	defer clfSrv.Close()
	cfg, err := config.Parse("standard guards", []byte(config.StandardGuards))
	if err != nil {
		log.Fatal(err)
	}
	dir, err := os.MkdirTemp("", "mg-redteam-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	cfg.Listen, cfg.AdminListen, cfg.DataDir = "127.0.0.1:0", "127.0.0.1:0", dir
	cfg.Routes = []*store.Route{
		{Model: "demo-chat", Protocol: store.ProtocolOpenAI, Upstream: store.Upstream{URL: chat.URL + "/v1"}},
		{Model: "demo-chat-open", Protocol: store.ProtocolOpenAI, Guards: "none", Upstream: store.Upstream{URL: chat.URL + "/v1"}},
		{Model: "demo-classifier", Protocol: store.ProtocolKServeV2, Upstream: store.Upstream{URL: clfSrv.URL}},
	}
	s, err := server.New(ctx, cfg, server.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		log.Fatal(err)
	}
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- s.Run(runCtx) }()
	defer func() { cancel(); <-done }()
	_, key, err := access.CreateKey(ctx, s.Store(), access.KeySpec{Name: "bench", Scopes: []string{"inference:invoke", "models:read"}, Models: []string{"*"},
		Limits: access.Limits{RPM: 10_000_000, Burst: 1_000_000, TPM: 1_000_000_000}}, time.Now())
	if err != nil {
		log.Fatal(err)
	}
	gw := "http://" + s.Addr().String()

	probes, err := redteam.Library()
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("default suite: %d probes, concurrency %d, through the gateway\n", len(probes), *concurrency)
	for _, model := range []string{"demo-chat", "demo-chat-open"} {
		var times []time.Duration
		var last map[string]*redteam.Rates
		for range *runs {
			r := &redteam.Runner{Target: &redteam.Target{URL: gw + "/v1", Model: model, Key: key}, Concurrency: *concurrency}
			began := time.Now()
			as, err := r.Run(ctx, probes, redteam.NewSecrets())
			if err != nil {
				log.Fatal(err)
			}
			times = append(times, time.Since(began))
			last = redteam.Summarise(as)
		}
		slices.Sort(times)
		var n [5]int
		for _, r := range last {
			n[0] += r.Blocked
			n[1] += r.Refused
			n[2] += r.Resisted
			n[3] += r.Complied
			n[4] += r.Errors
		}
		fmt.Printf("  %-15s median %v (min %v, max %v): %d blocked, %d refused, %d resisted, %d complied, %d errors\n",
			model, times[len(times)/2].Round(time.Millisecond), times[0].Round(time.Millisecond), times[len(times)-1].Round(time.Millisecond), n[0], n[1], n[2], n[3], n[4])
	}

	data := clf.Data()
	bounds, err := classifier.BoundsOf(data.Train)
	if err != nil {
		log.Fatal(err)
	}
	samples := data.Test[:10]
	opt := classifier.EvasionOptions{Budget: 10_000, Seed: 1}
	fmt.Printf("\ndemo classifier through the gateway: 10 held-out samples, budget %d queries, epsilon %.1f (L2, scaled)\n", opt.Budget, 0.2)
	for _, attack := range []func(context.Context, classifier.Oracle, [][]float64, classifier.Bounds, classifier.EvasionOptions) (*classifier.EvasionResult, error){classifier.HopSkipJump, classifier.SimBA} {
		k := &classifier.KServe{URL: gw, Model: "demo-classifier", Key: key, Input: "features"}
		res, err := attack(ctx, k, samples, bounds, opt)
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("  %-11s %d queries (%d HTTP requests) in %v: %d of %d evaded within epsilon, median L2 %.3f, L∞ %.3f, median %d queries to first success\n",
			res.Attack, res.Queries, k.Requests, res.Elapsed.Round(time.Millisecond), res.Successes, res.Samples, res.MedianL2, res.MedianLinf, res.MedianQueriesToSuccess)
	}
	k := &classifier.KServe{URL: gw, Model: "demo-classifier", Key: key, Input: "features"}
	ex, err := classifier.Extract(ctx, k, bounds, classifier.ExtractionOptions{Budget: 1000, Samples: data.Train, Seed: 1})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("  extraction  %d queries in %v: agreement %.1f%%, 95%% reached at %d queries; curve %v\n", ex.Queries, ex.Elapsed.Round(time.Millisecond), ex.Agreement*100, ex.QueriesTo95, ex.Curve)
}
