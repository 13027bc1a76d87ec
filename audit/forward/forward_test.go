package forward

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/modelgate/modelgate/audit"
	"github.com/modelgate/modelgate/store/sqlite"
)

func newLog(t *testing.T) (*audit.Log, *sqlite.AuditDB) {
	t.Helper()
	dir := t.TempDir()
	st, err := sqlite.OpenAuditDir(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	s, v, err := audit.LoadOrCreateKeys(dir)
	if err != nil {
		t.Fatal(err)
	}
	l, err := audit.Open(context.Background(), st, s, v, audit.Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close(); st.Close() })
	return l, st
}

func appendEvents(t *testing.T, l *audit.Log, from, n int) {
	t.Helper()
	for i := from; i < from+n; i++ {
		ev := &audit.Event{Time: time.Now(), RequestID: "req_" + strconv.Itoa(i), Actor: audit.Actor{Kind: audit.ActorAPIKey, ID: "k"},
			Action: audit.ActionInvoke, Decision: audit.Decision{Outcome: audit.Allowed}}
		if err := l.Append(context.Background(), ev); err != nil {
			t.Fatal(err)
		}
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// receiver collects event indexes from webhook batches; it answers 503
// while down.
type receiver struct {
	mu    sync.Mutex
	down  atomic.Bool
	got   []int64
	calls atomic.Int64
}

func (r *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	r.calls.Add(1)
	if r.down.Load() {
		http.Error(w, "down for maintenance", http.StatusServiceUnavailable)
		return
	}
	var batch []struct {
		Index int64 `json:"index"`
	}
	if err := json.NewDecoder(req.Body).Decode(&batch); err != nil {
		http.Error(w, err.Error(), 400)
		return
	}
	r.mu.Lock()
	for _, e := range batch {
		r.got = append(r.got, e.Index)
	}
	r.mu.Unlock()
}

func (r *receiver) indexes() []int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]int64(nil), r.got...)
}

// noGap checks that every index 0..n-1 arrived, in order; a batch sent
// twice (at least once delivery) may repeat a run.
func noGap(t *testing.T, got []int64, n int64) {
	t.Helper()
	next := int64(0)
	for _, i := range got {
		if i > next {
			t.Fatalf("gap: event %d arrived before %d (%v)", i, next, got)
		}
		if i == next {
			next++
		}
	}
	if next != n {
		t.Fatalf("received up to %d of %d events", next, n)
	}
}

func TestWebhookReceiverDownThenUp(t *testing.T) {
	l, st := newLog(t)
	rcv := &receiver{}
	srv := httptest.NewServer(rcv)
	defer srv.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	fw := &Forwarder{Name: "hook", Store: st, Sink: &Webhook{URL: srv.URL}, Formatter: audit.Formatter{Format: audit.FormatJSONL},
		Batch: 7, Poll: 10 * time.Millisecond, MaxDelay: 50 * time.Millisecond, Logger: slog.New(slog.DiscardHandler)}
	go fw.Run(ctx)

	appendEvents(t, l, 0, 10)
	waitFor(t, "first events", func() bool { return len(rcv.indexes()) >= 10 })
	rcv.down.Store(true)
	appendEvents(t, l, 10, 25)
	calls := rcv.calls.Load()
	waitFor(t, "retries while down", func() bool { return rcv.calls.Load() > calls+2 })
	rcv.down.Store(false)
	appendEvents(t, l, 35, 5)
	// The receiver records a batch before the forwarder saves its
	// position, so wait for the position, then look at what arrived.
	waitCursor(t, st, "hook", 40)
	noGap(t, rcv.indexes(), 40)
}

// waitCursor waits until the forwarder name has saved position pos.
func waitCursor(t *testing.T, st *sqlite.AuditDB, name string, pos int64) {
	t.Helper()
	waitFor(t, fmt.Sprintf("%s at position %d", name, pos), func() bool {
		got, _ := st.AuditCursor(context.Background(), name)
		return got == pos
	})
}

// TestSendsOnlyDurableEvents holds the durable size back and checks that
// nothing beyond it reaches the receiver.
func TestSendsOnlyDurableEvents(t *testing.T) {
	l, st := newLog(t)
	appendEvents(t, l, 0, 10)
	rcv := &receiver{}
	srv := httptest.NewServer(rcv)
	defer srv.Close()
	var durable atomic.Int64
	durable.Store(4)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	fw := &Forwarder{Name: "hook", Store: st, Sink: &Webhook{URL: srv.URL}, Formatter: audit.Formatter{Format: audit.FormatJSONL},
		Poll: 10 * time.Millisecond, Logger: slog.New(slog.DiscardHandler), Durable: durable.Load}
	go fw.Run(ctx)
	waitFor(t, "the durable events", func() bool { return len(rcv.indexes()) >= 4 })
	time.Sleep(100 * time.Millisecond) // ten polls
	if got := rcv.indexes(); len(got) != 4 {
		t.Fatalf("sent %v with only 4 events durable", got)
	}
	durable.Store(l.DurableSize())
	waitFor(t, "the rest", func() bool { return len(rcv.indexes()) >= 10 })
	noGap(t, rcv.indexes(), 10)
}

// TestResumeAfterRestart stops a forwarder halfway and starts a new one:
// it continues from the saved position.
func TestResumeAfterRestart(t *testing.T) {
	l, st := newLog(t)
	dir := t.TempDir()
	path := filepath.Join(dir, "audit.jsonl")
	run := func() context.CancelFunc {
		ctx, cancel := context.WithCancel(context.Background())
		fw := &Forwarder{Name: "file", Store: st, Sink: &File{Path: path}, Formatter: audit.Formatter{Format: audit.FormatJSONL},
			Poll: 10 * time.Millisecond, Logger: slog.New(slog.DiscardHandler)}
		go fw.Run(ctx)
		return cancel
	}
	lines := func() []string {
		b, _ := os.ReadFile(path)
		return strings.Split(strings.TrimSpace(string(b)), "\n")
	}
	stop := run()
	appendEvents(t, l, 0, 5)
	waitFor(t, "five lines", func() bool { return len(lines()) == 5 })
	stop()
	appendEvents(t, l, 5, 5) // written while nothing forwards
	time.Sleep(50 * time.Millisecond)
	stop = run()
	defer stop()
	waitFor(t, "ten lines", func() bool { return len(lines()) >= 10 })
	got := lines()
	for i, line := range got {
		ev, err := audit.ParseEvent([]byte(line))
		if err != nil || ev.Index != int64(i) {
			t.Fatalf("line %d: %v %v", i, ev, err)
		}
	}
}

func TestFileRotation(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "a.jsonl")
	f := &File{Path: path, MaxBytes: 100, MaxFiles: 2}
	for i := range 10 {
		if err := f.Send(context.Background(), [][]byte{[]byte(fmt.Sprintf(`{"index":%d,"pad":"%s"}`, i, strings.Repeat("x", 30)))}); err != nil {
			t.Fatal(err)
		}
	}
	f.Close()
	for _, p := range []string{path, path + ".1", path + ".2"} {
		fi, err := os.Stat(p)
		if err != nil || fi.Size() > 100 {
			t.Fatalf("%s: %v %v", p, fi, err)
		}
	}
	if _, err := os.Stat(path + ".3"); err == nil {
		t.Fatal("kept more old files than max_files")
	}
}

// TestSyslogOverTCP reads octet-counted RFC 5424 frames, with the
// receiver gone for a while in the middle.
func TestSyslogOverTCP(t *testing.T) {
	l, st := newLog(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	var (
		mu  sync.Mutex
		got []string
	)
	serve := func(ln net.Listener) {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				br := bufio.NewReader(c)
				for {
					lenStr, err := br.ReadString(' ')
					if err != nil {
						return
					}
					n, err := strconv.Atoi(strings.TrimSpace(lenStr))
					if err != nil {
						t.Errorf("bad frame length %q", lenStr)
						return
					}
					msg := make([]byte, n)
					if _, err := io.ReadFull(br, msg); err != nil {
						return
					}
					mu.Lock()
					got = append(got, string(msg))
					mu.Unlock()
				}
			}()
		}
	}
	go serve(ln)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	fw := &Forwarder{Name: "siem", Store: st, Sink: &Syslog{Address: addr}, Formatter: audit.Formatter{Format: audit.FormatSyslog, Hostname: "gw1"},
		Poll: 10 * time.Millisecond, MaxDelay: 50 * time.Millisecond, Logger: slog.New(slog.DiscardHandler)}
	go fw.Run(ctx)
	count := func() int { mu.Lock(); defer mu.Unlock(); return len(got) }
	appendEvents(t, l, 0, 3)
	waitFor(t, "three messages", func() bool { return count() == 3 })

	mu.Lock()
	first := got[0]
	mu.Unlock()
	if !strings.HasPrefix(first, "<110>1 ") || !strings.Contains(first, " gw1 modelgate ") || !strings.Contains(first, ` inference.invoke - {"action":"inference.invoke"`) {
		t.Fatalf("message %q", first)
	}
	ln.Close() // receiver down; the forwarder's open connection may still write once
	appendEvents(t, l, 3, 4)
	time.Sleep(100 * time.Millisecond)
	ln2, err := net.Listen("tcp", addr)
	if err != nil {
		t.Skipf("could not reopen %s: %v", addr, err)
	}
	go serve(ln2)
	defer ln2.Close()
	appendEvents(t, l, 7, 1)
	waitCursor(t, st, "siem", 8)
	// The cursor moves once a message is written; the receiver reads it a
	// moment later.
	seen := func() map[int64]bool {
		mu.Lock()
		defer mu.Unlock()
		out := map[int64]bool{}
		for _, m := range got {
			data := m[strings.Index(m, "{"):]
			ev, err := audit.ParseEvent([]byte(data))
			if err != nil {
				t.Fatalf("message %q: %v", m, err)
			}
			out[ev.Index] = true
		}
		return out
	}
	all := func() bool {
		s := seen()
		for i := int64(0); i < 8; i++ {
			if !s[i] {
				return false
			}
		}
		return true
	}
	deadline := time.Now().Add(5 * time.Second)
	for !all() {
		if time.Now().After(deadline) {
			t.Fatalf("not every event arrived (got %v)", seen())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestHandOverBetweenReplicas: two forwarders of the same name on one
// shared log, as two replicas run them, with only the active one (the
// sequencer's) sending: each event reaches the receiver once, across a
// hand-over.
func TestHandOverBetweenReplicas(t *testing.T) {
	l, st := newLog(t)
	rcv := &receiver{}
	srv := httptest.NewServer(rcv)
	defer srv.Close()
	var (
		leader  atomic.Int64 // which replica forwards: 1 or 2
		stepped atomic.Bool  // replica 1 has seen that it is no longer active
	)
	leader.Store(1)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	for id := int64(1); id <= 2; id++ {
		active := func() bool {
			ok := leader.Load() == id
			if id == 1 && !ok {
				stepped.Store(true)
			}
			return ok
		}
		fw := &Forwarder{Name: "hook", Store: st, Sink: &Webhook{URL: srv.URL}, Formatter: audit.Formatter{Format: audit.FormatJSONL},
			Poll: 5 * time.Millisecond, Logger: slog.New(slog.DiscardHandler), Active: active}
		go fw.Run(ctx)
	}
	appendEvents(t, l, 0, 20)
	// A hand-over while a batch is in flight may send it twice (delivery
	// is at least once), so hand over between batches: after the first
	// replica saved its position and before new events exist.
	waitCursor(t, st, "hook", 20)
	leader.Store(2)
	waitFor(t, "replica 1 to step down", stepped.Load)
	appendEvents(t, l, 20, 20)
	waitCursor(t, st, "hook", 40)
	time.Sleep(50 * time.Millisecond)
	got := rcv.indexes()
	if len(got) != 40 {
		t.Fatalf("the receiver got %d records for 40 events", len(got))
	}
	noGap(t, got, 40)
}
