// Command audit measures the audit log: durable events per second with
// group commit, and `audit verify` speed, on a data directory that
// `modelgate audit verify --data-dir` can then check too.
//
//	go run ./bench/audit -events 1000000
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"log/slog"
	"os"
	"runtime"
	"runtime/pprof"
	"sync"
	"sync/atomic"
	"time"

	"github.com/modelgate/modelgate/audit"
	"github.com/modelgate/modelgate/server"
)

func main() {
	var (
		events      = flag.Int("events", 1_000_000, "events to write")
		concurrency = flag.Int("concurrency", 64, "appenders waiting on durability at once, as gateway requests do")
		dir         = flag.String("dir", "", "data directory (default: a new temporary one, kept)")
		cpuprofile  = flag.String("cpuprofile", "", "write a CPU profile of the appends to this file")
		batchWait   = flag.Duration("batch-wait", 0, "the log's batch_wait (0: its default; negative: never pace)")
	)
	flag.Parse()
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			log.Fatal(err)
		}
		pprof.StartCPUProfile(f)
	}
	if *dir == "" {
		d, err := os.MkdirTemp("", "modelgate-audit-bench")
		if err != nil {
			log.Fatal(err)
		}
		*dir = d
	}
	ctx := context.Background()
	l, db, err := server.OpenAudit(ctx, *dir, audit.Options{Logger: slog.New(slog.DiscardHandler), BatchWait: *batchWait})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("bench/audit: %d events, %d concurrent appenders, GOMAXPROCS=%d, data dir %s\n\n", *events, *concurrency, runtime.GOMAXPROCS(0), *dir)

	// Durable appends: each appender waits until its event is on disk
	// (its journal synced), as a fail-closed gateway request does.
	var next atomic.Int64
	start := time.Now()
	var wg sync.WaitGroup
	for range *concurrency {
		wg.Go(func() {
			for {
				i := next.Add(1) - 1
				if i >= int64(*events) {
					return
				}
				ev, payloads := event(i)
				if err := l.Append(ctx, ev, payloads...); err != nil {
					log.Fatal(err)
				}
			}
		})
	}
	wg.Wait()
	took := time.Since(start)
	// Acknowledged events are durable in the journal; the sequencer moves
	// them into the database (tree, checkpoints) behind the appenders.
	if err := db.WaitSequenced(ctx); err != nil {
		log.Fatal(err)
	}
	inLog := time.Since(start)
	pprof.StopCPUProfile()
	if err := l.Close(); err != nil {
		log.Fatal(err)
	}
	st := l.Stats()
	fmt.Printf("durable appends:  %d events in %s = %.0f events/s (goal >= 100,000); %d journal writes, %.1f events and %s each\n",
		*events, took.Round(time.Millisecond), float64(*events)/took.Seconds(), st.Commits, float64(st.Written)/float64(max(st.Commits, 1)),
		(st.CommitTime / time.Duration(max(st.Commits, 1))).Round(time.Microsecond))
	fmt.Printf("in the log:       %d events in %s = %.0f events/s (sequenced into the database, tree and checkpoints included)\n",
		*events, inLog.Round(time.Millisecond), float64(*events)/inLog.Seconds())
	if fi, err := os.Stat(db.Path()); err == nil {
		fmt.Printf("audit.db:         %.0f bytes/event\n", float64(fi.Size())/float64(*events))
	}

	// Verification, as `modelgate audit verify` runs it.
	audit.TuneForVerify()
	start = time.Now()
	r, err := audit.Verify(ctx, db, l.Verifier())
	if err != nil {
		log.Fatal(err)
	}
	took = time.Since(start)
	fmt.Printf("audit verify:     %d events in %s = %.0f events/s (goal >= 200,000)\n", r.Events, took.Round(time.Millisecond), float64(r.Events)/took.Seconds())
	db.Close()
}

// event is a typical gateway event: an allowed chat completion with
// hash-captured input and output.
func event(i int64) (*audit.Event, []audit.Payload) {
	body := make([]byte, 1024)
	return &audit.Event{
			Time: time.Now(), RequestID: fmt.Sprintf("req_%026d", i),
			Actor:     audit.Actor{Kind: audit.ActorAPIKey, ID: "k3xabcdefghi", IP: "10.1.2.3", UserAgent: "openai-python/1.54.0"},
			Action:    audit.ActionInvoke,
			Resource:  audit.Resource{Route: "llama3", Model: "llama3", ModelVersion: "sha256:42182419e950"},
			Decision:  audit.Decision{Outcome: audit.Allowed},
			HTTP:      &audit.HTTP{Method: "POST", Path: "/v1/chat/completions", Status: 200},
			LatencyUS: 1834, UpstreamLatencyUS: 1520,
			Usage: &audit.Usage{PromptTokens: 212, CompletionTokens: 187},
		}, []audit.Payload{
			{Kind: audit.PayloadInput, Mode: audit.CaptureHash, Data: body},
			{Kind: audit.PayloadOutput, Mode: audit.CaptureHash, Data: body},
		}
}
