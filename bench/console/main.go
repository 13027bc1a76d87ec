// Command console measures the web console's pages over a large estate:
// an audit log of 1,000,000 events (inference, guard blocks, feedback,
// alerts, key revocations, red-team runs) spread over 30 days, an
// inventory snapshot of 10,000 assets, 500 keys, 50 routes and 200
// registered models. Each page is requested through the console's
// handler, logged in, as a browser would; the goal is 200 ms a page.
//
// The overview's indicators read the whole 30 days of the log: the first
// look after a quiet spell computes them while the page waits, and the
// console then keeps them fresh in the background while the overview is
// in use; the time of that computation is reported beside the pages.
//
//	go run ./bench/console [-events 1000000] [-assets 10000] [-runs 20] [-dir /tmp/mg-console] [-keep]
package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/modelgate/modelgate/access"
	"github.com/modelgate/modelgate/admin"
	"github.com/modelgate/modelgate/audit"
	"github.com/modelgate/modelgate/config"
	"github.com/modelgate/modelgate/console"
	"github.com/modelgate/modelgate/datacheck/classify"
	"github.com/modelgate/modelgate/finding"
	"github.com/modelgate/modelgate/inventory"
	"github.com/modelgate/modelgate/registry"
	"github.com/modelgate/modelgate/server"
	"github.com/modelgate/modelgate/store"
	"github.com/modelgate/modelgate/store/sqlite"
)

func main() {
	events := flag.Int("events", 1_000_000, "audit events")
	assets := flag.Int("assets", 10_000, "inventory assets")
	runs := flag.Int("runs", 20, "requests of each page")
	dir := flag.String("dir", "", "the data directory (built when empty or new; reused when it holds an estate)")
	keep := flag.Bool("keep", false, "keep the data directory")
	only := flag.String("only", "", "measure only the pages whose path contains this")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile of the page requests to this file")
	flag.Parse()
	ctx := context.Background()
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))

	if *dir == "" {
		d, err := os.MkdirTemp("", "mg-console")
		if err != nil {
			log.Fatal(err)
		}
		*dir = d
	}
	if !*keep {
		defer os.RemoveAll(*dir)
	}
	marker := filepath.Join(*dir, "bench-estate")
	if _, err := os.Stat(marker); err != nil {
		start := time.Now()
		if err := build(ctx, *dir, *events, *assets, logger); err != nil {
			log.Fatal(err)
		}
		os.WriteFile(marker, []byte(strconv.Itoa(*events)), 0o644)
		fmt.Printf("built the estate in %s\n", time.Since(start).Round(time.Second))
	}

	l, adb, err := server.OpenAudit(ctx, *dir, audit.Options{Mode: audit.FailClosed, Logger: logger})
	if err != nil {
		log.Fatal(err)
	}
	defer l.Close()
	st, err := sqlite.OpenDir(ctx, *dir)
	if err != nil {
		log.Fatal(err)
	}
	defer st.Close()
	size, _ := adb.AuditSize(ctx)
	cfg, err := config.Parse("bench", []byte("guards:\n  default: standard\n"+config.StandardGuards[len("guards:\n  default: standard\n"):]))
	if err != nil {
		log.Fatal(err)
	}
	ui := console.New(console.Options{Store: st, Audit: adb, Verifier: l.Verifier(), Recorder: &admin.AuditLog{Log: l},
		Auth: &access.Authenticator{Keys: access.DirectKeys(st)}, Config: cfg, Logger: logger,
		Registry:   &registry.Registry{Store: st, Recorder: &admin.AuditLog{Log: l}},
		Checkpoint: func(ctx context.Context) error { _, err := l.Checkpoint(ctx); return err }})
	_, adminKey, err := access.CreateKey(ctx, st, access.KeySpec{Name: "bench-admin", Scopes: []string{"admin"}, Models: []string{"*"}}, time.Now())
	if err != nil {
		log.Fatal(err)
	}
	rec := httptest.NewRecorder()
	req := httptest.NewRequest("POST", "/ui/login", bytes.NewBufferString(url.Values{"key": {adminKey}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	ui.ServeHTTP(rec, req)
	cookies := rec.Result().Cookies()
	if rec.Code != http.StatusSeeOther || len(cookies) == 0 {
		log.Fatalf("login: %d %s", rec.Code, rec.Body)
	}
	get := func(path string) (time.Duration, int, int) {
		req := httptest.NewRequest("GET", path, nil)
		req.AddCookie(cookies[0])
		rec := httptest.NewRecorder()
		start := time.Now()
		ui.ServeHTTP(rec, req)
		return time.Since(start), rec.Code, rec.Body.Len()
	}

	fmt.Printf("bench/console: %d audit events, %d inventory assets, %d requests a page\n\n", size, *assets, *runs)
	start := time.Now()
	if d, code, _ := get("/ui/"); code != http.StatusOK {
		log.Fatalf("overview: %d", code)
	} else {
		fmt.Printf("indicators over 30 days of the log (the first look at the overview computes them; then the background, every minute while in use): %s\n\n", d.Round(time.Millisecond))
	}
	_ = start
	pages := []string{"/ui/", "/ui/inventory", "/ui/models", "/ui/keys", "/ui/routes", "/ui/audit", "/ui/audit?action=key.revoke",
		"/ui/audit?actor=key0042", "/ui/audit?action=key.revoke&window=all", "/ui/audit/" + strconv.FormatInt(size/2, 10), "/ui/alerts", "/ui/redteam", "/ui/threats", "/ui/feedback"}
	if *only != "" {
		pages = slices.DeleteFunc(pages, func(p string) bool { return !strings.Contains(p, *only) })
	}
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			log.Fatal(err)
		}
		pprof.StartCPUProfile(f)
		defer pprof.StopCPUProfile()
	}
	fmt.Println("| page | median | p95 | max | bytes | goal ≤ 200 ms |")
	fmt.Println("|---|---:|---:|---:|---:|---|")
	for _, p := range pages {
		var ds []time.Duration
		n := 0
		for range *runs {
			d, code, size := get(p)
			if code != http.StatusOK {
				log.Fatalf("%s: %d", p, code)
			}
			ds, n = append(ds, d), size
		}
		slices.Sort(ds)
		med, p95, worst := ds[len(ds)/2], ds[len(ds)*95/100], ds[len(ds)-1]
		verdict := "met"
		if p95 > 200*time.Millisecond {
			verdict = "**missed**"
		}
		fmt.Printf("| `%s` | %s | %s | %s | %d | %s |\n", p, ms(med), ms(p95), ms(worst), n, verdict)
	}
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d)/1e6) }

// build writes the estate into dir.
func build(ctx context.Context, dir string, events, assets int, logger *slog.Logger) error {
	st, err := sqlite.OpenDir(ctx, dir)
	if err != nil {
		return err
	}
	defer st.Close()
	now := time.Now()
	var keys []string
	for i := range 500 {
		k, _, err := access.CreateKey(ctx, st, access.KeySpec{Name: fmt.Sprintf("app-%03d", i), Scopes: []string{"inference:invoke"}, Models: []string{"*"}}, now)
		if err != nil {
			return err
		}
		keys = append(keys, k.ID)
	}
	for i := range 50 {
		if err := st.PutRoute(ctx, &store.Route{Model: fmt.Sprintf("model-%02d", i), Protocol: store.ProtocolOpenAI, Source: store.SourceConfig,
			Upstream: store.Upstream{URL: "http://127.0.0.1:9/v1"}, CreatedAt: now, UpdatedAt: now}); err != nil {
			return err
		}
	}
	for i := range 200 {
		m := &registry.Model{Name: fmt.Sprintf("model-%03d", i%50), Version: strconv.Itoa(i/50 + 1), Path: "/models/x", Stage: registry.Staging,
			RiskTier: "low", Scan: registry.ScanSummary{Scanned: true, BySeverity: map[string]int{"high": i % 3}}, CreatedAt: now, UpdatedAt: now}
		if err := st.CreateModel(ctx, m, registry.Event{Name: m.Name, Version: m.Version, Action: "model.register", At: now}); err != nil {
			return err
		}
	}

	l, _, err := server.OpenAudit(ctx, dir, audit.Options{Mode: audit.FailClosed, Logger: logger})
	if err != nil {
		return err
	}
	defer l.Close()
	span := 30 * 24 * time.Hour
	first := now.Add(-span)
	var next atomic.Int64
	var wg sync.WaitGroup
	var failed atomic.Value
	for w := range 64 {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(w), 7))
			for {
				i := next.Add(1) - 1
				if i >= int64(events) {
					return
				}
				ev := event(i, events, first, span, keys, rng)
				if err := l.Append(ctx, ev); err != nil {
					failed.Store(err)
					return
				}
			}
		})
	}
	wg.Wait()
	if err, _ := failed.Load().(error); err != nil {
		return err
	}
	return snapshot(ctx, l, assets, now)
}

// event makes the i-th event of the log: mostly inference, with guard
// blocks, feedback, alerts, revocations and red-team runs among them.
func event(i int64, n int, first time.Time, span time.Duration, keys []string, rng *rand.Rand) *audit.Event {
	at := first.Add(time.Duration(float64(span) * float64(i) / float64(n)))
	key := keys[rng.IntN(len(keys))]
	model := fmt.Sprintf("model-%02d", rng.IntN(50))
	ev := &audit.Event{Time: at, RequestID: fmt.Sprintf("req-%d", i), Actor: audit.Actor{Kind: audit.ActorAPIKey, ID: key, IP: fmt.Sprintf("10.0.%d.%d", rng.IntN(256), rng.IntN(256))},
		Action: "inference.invoke", Resource: audit.Resource{Model: model, Route: model, ModelVersion: "1"}, Decision: audit.Decision{Outcome: audit.Allowed},
		HTTP: &audit.HTTP{Method: "POST", Path: "/v1/chat/completions", Status: 200}, Usage: &audit.Usage{PromptTokens: 200, CompletionTokens: 100}}
	switch {
	case i%1000 == 7:
		ev.Action, ev.Actor = "alert.raised", audit.Actor{Kind: audit.ActorSystem, ID: "monitor"}
		ev.Resource = audit.Resource{ID: fmt.Sprintf("MON-VOLUME-%d", i)}
		ev.Details = map[string]string{"rule": "MON-VOLUME", "severity": "high", "by": "key", "subject": key,
			"events": strconv.FormatInt(max(0, i-50), 10), "observed_at": at.UTC().Format(time.RFC3339Nano)}
	case i%5000 == 11:
		ev.Action, ev.Actor, ev.Resource, ev.HTTP, ev.Usage = "key.revoke", audit.Actor{Kind: audit.ActorAdmin, ID: "cli:ops@host"}, audit.Resource{ID: key}, nil, nil
	case i%100_000 == 13:
		ev.Action, ev.HTTP, ev.Usage = "redteam.run", nil, nil
		ev.Resource = audit.Resource{ID: fmt.Sprintf("run-%d", i), Model: model}
		ev.Details = map[string]string{"suite": "default", "attempts": "41", "complied": "3", "rate.prompt-injection": "0.100", "owasp.prompt-injection": "LLM01", "rate.jailbreak": "0.050", "owasp.jailbreak": "LLM01"}
	case i%100 == 17:
		ev.Action, ev.HTTP, ev.Usage = "feedback.submit", nil, nil
		if rng.IntN(10) == 0 {
			ev.Details = map[string]string{"negative": "true", "category": "wrong"}
		}
	case i%50 == 19:
		ev.Action, ev.Decision = "inference.denied", audit.Decision{Outcome: audit.Denied, Reason: "request_blocked"}
		ev.HTTP.Status = 400
	}
	return ev
}

// snapshot records an inventory of n assets as `inventory snapshot` does.
func snapshot(ctx context.Context, l *audit.Log, n int, now time.Time) error {
	inv := &inventory.Inventory{FormatVersion: 1, ID: "bench-snapshot", TakenAt: now, Roots: []string{"/srv"}, Assessed: true}
	for i := range n {
		a := inventory.Asset{ID: fmt.Sprintf("%016x", i), Path: fmt.Sprintf("/srv/team-%02d/project-%03d/file-%05d", i%40, i%300, i)}
		switch i % 4 {
		case 0:
			a.Kind, a.Name, a.Format = inventory.KindModel, fmt.Sprintf("model-%05d.safetensors", i), "safetensors"
			if i%8 == 0 {
				a.Status = &inventory.Status{Registered: fmt.Sprintf("model-%03d@1", i%50)}
			} else {
				a.Findings = []finding.Finding{{RuleID: "INV-UNREGISTERED", Severity: finding.Medium, Title: "a model file no registry version holds"}}
			}
		case 1:
			a.Kind, a.Name = inventory.KindDataset, fmt.Sprintf("customers-%05d.csv", i)
			if i%20 == 1 {
				a.Columns = []classify.Column{{Name: "email", Values: 1000, Verdict: classify.VerdictPII}}
			}
		case 2:
			a.Kind, a.Name = inventory.KindCode, fmt.Sprintf("client-%05d.py", i)
		default:
			a.Kind, a.Name = inventory.KindNotebook, fmt.Sprintf("analysis-%05d.ipynb", i)
		}
		inv.Assets = append(inv.Assets, a)
	}
	raw, err := json.Marshal(inv)
	if err != nil {
		return err
	}
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(raw)
	zw.Close()
	ev := &audit.Event{Time: now, Actor: audit.Actor{Kind: audit.ActorAdmin, ID: "cli:bench"}, Action: "inventory.snapshot",
		Resource: audit.Resource{ID: inv.ID}, Decision: audit.Decision{Outcome: audit.Allowed}, Details: map[string]string{"assets": strconv.Itoa(n)}}
	return l.Append(ctx, ev, audit.Payload{Kind: audit.PayloadOutput, Mode: audit.CaptureFull, Data: gz.Bytes()})
}
