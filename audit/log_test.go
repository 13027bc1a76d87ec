package audit

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/modelgate/modelgate/store"
	"github.com/modelgate/modelgate/store/sqlite"
	"golang.org/x/mod/sumdb/note"
)

type testLog struct {
	dir      string
	store    *sqlite.AuditDB
	log      *Log
	signer   note.Signer
	verifier note.Verifier
}

func openTestLog(t *testing.T, dir string, opts Options) *testLog { return openTestLogTB(t, dir, opts) }

func openTestLogTB(t testing.TB, dir string, opts Options) *testLog {
	t.Helper()
	st, err := sqlite.OpenAuditDir(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	l, signer, verifier := openOn(t, st, dir, opts)
	tl := &testLog{dir: dir, store: st, log: l, signer: signer, verifier: verifier}
	t.Cleanup(func() { l.Close(); st.Close() })
	return tl
}

// openOn opens a log over st with the key pair in dir.
func openOn(t testing.TB, st store.AuditStore, dir string, opts Options) (*Log, note.Signer, note.Verifier) {
	t.Helper()
	signer, verifier, err := LoadOrCreateKeys(dir)
	if err != nil {
		t.Fatal(err)
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	l, err := Open(context.Background(), st, signer, verifier, opts)
	if err != nil {
		t.Fatal(err)
	}
	return l, signer, verifier
}

func testEvent(i int) *Event {
	return &Event{
		Time: time.Unix(1_790_000_000, int64(i)).UTC(), RequestID: fmt.Sprintf("req_%d", i),
		Actor:    Actor{Kind: ActorAPIKey, ID: fmt.Sprintf("key%d", i%3), IP: "10.0.0.1"},
		Action:   ActionInvoke,
		Resource: Resource{Route: "chat", Model: "llama3"},
		Decision: Decision{Outcome: Allowed},
		HTTP:     &HTTP{Method: "POST", Path: "/v1/chat/completions", Status: 200},
	}
}

func appendN(t *testing.T, tl *testLog, n int, payloads bool) {
	t.Helper()
	for i := range n {
		var ps []Payload
		if payloads {
			ps = []Payload{{Kind: PayloadInput, Mode: CaptureFull, Data: fmt.Appendf(nil, "prompt %d", i)},
				{Kind: PayloadOutput, Mode: CaptureHash, Data: fmt.Appendf(nil, "answer %d", i)}}
		}
		if err := tl.log.Append(context.Background(), testEvent(i), ps...); err != nil {
			t.Fatal(err)
		}
	}
}

func mustVerify(t *testing.T, tl *testLog) *Report {
	t.Helper()
	r, err := Verify(context.Background(), tl.store, tl.verifier)
	if err != nil {
		t.Fatalf("verify: %v", err)
	}
	return r
}

func TestAppendVerifyProve(t *testing.T) {
	tl := openTestLog(t, t.TempDir(), Options{CheckpointEvery: 10})
	appendN(t, tl, 25, true)
	r := mustVerify(t, tl)
	if r.Events != 25 || r.Checkpoints < 2 || r.PayloadsChecked != 25 || r.DigestsOnly != 25 {
		t.Fatalf("report %+v", r)
	}
	cp, err := tl.log.Checkpoint(context.Background())
	if err != nil || cp.Tree.N != 25 {
		t.Fatalf("checkpoint %+v %v", cp, err)
	}
	for _, i := range []int64{0, 7, 24} {
		p, err := BuildProof(context.Background(), tl.store, tl.verifier, i)
		if err != nil {
			t.Fatal(err)
		}
		ev, err := VerifyProof(p, tl.verifier)
		if err != nil || ev.Index != i || ev.RequestID != fmt.Sprintf("req_%d", i) {
			t.Fatalf("proof of %d: %+v %v", i, ev, err)
		}
		// A proof for a changed event, or checked with another key, fails.
		p.Event = []byte(string(p.Event[:len(p.Event)-1]) + `,"x":1}`)
		if _, err := VerifyProof(p, tl.verifier); err == nil {
			t.Fatal("a proof of an altered event verified")
		}
	}
	_, otherV, _ := LoadOrCreateKeys(t.TempDir())
	p, _ := BuildProof(context.Background(), tl.store, tl.verifier, 3)
	if _, err := VerifyProof(p, otherV); !errors.Is(err, ErrBadCheckpoint) {
		t.Fatalf("a proof verified with another log's key: %v", err)
	}
}

func TestConsistencyWithSavedCheckpoint(t *testing.T) {
	tl := openTestLog(t, t.TempDir(), Options{})
	appendN(t, tl, 5, false)
	old, err := tl.log.Checkpoint(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	appendN(t, tl, 12, false)
	if _, err := tl.log.Checkpoint(context.Background()); err != nil {
		t.Fatal(err)
	}
	o, n, err := Consistency(context.Background(), tl.store, tl.verifier, old.Note)
	if err != nil || o.Tree.N != 5 || n.Tree.N != 17 {
		t.Fatalf("consistency: %v %v %v", o, n, err)
	}
	// A checkpoint from a different history of the same size does not
	// extend to this log.
	forged := *old
	forged.Tree.Hash[0] ^= 1
	msg, _ := signCheckpoint(tl.signer, forged.Tree)
	if _, _, err := Consistency(context.Background(), tl.store, tl.verifier, msg); err == nil {
		t.Fatal("a checkpoint of another history was accepted as consistent")
	}
}

func TestConcurrentAppendsGroupCommit(t *testing.T) {
	tl := openTestLog(t, t.TempDir(), Options{CheckpointEvery: 100})
	var wg sync.WaitGroup
	for w := range 16 {
		wg.Go(func() {
			for i := range 50 {
				if err := tl.log.Append(context.Background(), testEvent(w*1000+i)); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	if r := mustVerify(t, tl); r.Events != 800 {
		t.Fatalf("events %d", r.Events)
	}
	if st := tl.log.Stats(); st.Written != 800 || st.Failed != 0 || st.Commits == 0 || st.Commits > 800 {
		t.Fatalf("stats %+v", st)
	}
}

func TestCloseSignsFinalCheckpoint(t *testing.T) {
	dir := t.TempDir()
	tl := openTestLog(t, dir, Options{CheckpointEvery: 1000})
	appendN(t, tl, 3, false)
	for range 4 {
		tl.log.Submit(testEvent(99))
	}
	if err := tl.log.Close(); err != nil {
		t.Fatal(err)
	}
	r := mustVerify(t, tl)
	if r.Events != 7 || r.LatestSigned != 7 || r.Unsigned != 0 {
		t.Fatalf("after close: %+v", r)
	}
	if err := tl.log.Append(context.Background(), testEvent(1)); !errors.Is(err, ErrClosed) {
		t.Fatalf("append after close: %v", err)
	}
}

// TestTwoWriters interleaves a second Log on the same file, as the CLI
// does while the server runs; the tree must stay one tree.
func TestTwoWriters(t *testing.T) {
	dir := t.TempDir()
	a := openTestLog(t, dir, Options{CheckpointEvery: 3})
	b := openTestLog(t, dir, Options{CheckpointEvery: 3})
	for i := range 10 {
		w := a
		if i%3 == 1 {
			w = b
		}
		if err := w.log.Append(context.Background(), testEvent(i)); err != nil {
			t.Fatal(err)
		}
	}
	if r := mustVerify(t, a); r.Events != 10 {
		t.Fatalf("events %d", r.Events)
	}
}

// TestDurableSize checks that an acknowledged event is counted durable,
// including events another process appended while this one was idle.
func TestDurableSize(t *testing.T) {
	dir := t.TempDir()
	a := openTestLog(t, dir, Options{CheckpointInterval: 100 * time.Millisecond})
	appendN(t, a, 3, false)
	if n := a.log.DurableSize(); n != 3 {
		t.Fatalf("durable %d after three acknowledged appends", n)
	}
	b := openTestLog(t, dir, Options{})
	appendN(t, b, 2, false)
	b.log.Close()
	deadline := time.Now().Add(5 * time.Second)
	for a.log.DurableSize() != 5 {
		if time.Now().After(deadline) {
			t.Fatalf("durable %d: the other process's events were not picked up", a.log.DurableSize())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestReopenContinues(t *testing.T) {
	dir := t.TempDir()
	st, _ := sqlite.OpenAuditDir(context.Background(), dir)
	signer, verifier, _ := LoadOrCreateKeys(dir)
	l, _ := Open(context.Background(), st, signer, verifier, Options{Logger: slog.New(slog.DiscardHandler)})
	for i := range 4 {
		l.Append(context.Background(), testEvent(i))
	}
	l.Close()
	st.Close()
	tl := openTestLog(t, dir, Options{})
	appendN(t, tl, 3, false)
	tl.log.Checkpoint(context.Background())
	if r := mustVerify(t, tl); r.Events != 7 || r.Unsigned != 0 {
		t.Fatalf("%+v", r)
	}
}

func TestUnhealthyLogFailsAndRecovers(t *testing.T) {
	tl := openTestLog(t, t.TempDir(), Options{})
	appendN(t, tl, 1, false)
	// Make writes fail: a trigger that aborts every insert.
	raw := rawDB(t, tl)
	exec(t, raw, `CREATE TRIGGER deny_insert BEFORE INSERT ON audit_batches BEGIN SELECT RAISE(ABORT, 'disk full (test)'); END`)
	if err := tl.log.Append(context.Background(), testEvent(1)); err == nil {
		t.Fatal("append succeeded while the store refuses writes")
	}
	if tl.log.Healthy() == nil {
		t.Fatal("log reports healthy after a failed write")
	}
	exec(t, raw, `DROP TRIGGER deny_insert`)
	if err := tl.log.Append(context.Background(), testEvent(2)); err != nil {
		t.Fatal(err)
	}
	if err := tl.log.Healthy(); err != nil {
		t.Fatalf("log still unhealthy after a good write: %v", err)
	}
	if r := mustVerify(t, tl); r.Events != 2 {
		t.Fatalf("events %d", r.Events)
	}
}

func rawDB(t *testing.T, tl *testLog) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", tl.store.Path()+"?_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func exec(t *testing.T, db *sql.DB, q string, args ...any) {
	t.Helper()
	if _, err := db.Exec(q, args...); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
}

var _ store.AuditStore = (*sqlite.AuditDB)(nil)

func TestErasureKeepsVerification(t *testing.T) {
	tl := openTestLog(t, t.TempDir(), Options{CheckpointEvery: 4})
	appendN(t, tl, 10, true)
	ctx := context.Background()
	erasure := &Event{Time: time.Now(), Actor: Actor{Kind: ActorAdmin, ID: "cli:dpo"}, Action: ActionErase,
		Decision: Decision{Outcome: Allowed}, Details: map[string]string{"reason": "GDPR art. 17 request #123"}}
	erased, err := tl.log.Erase(ctx, erasure, []int64{2, 5}, 0)
	if err != nil || len(erased) != 2 {
		t.Fatalf("erase: %v %v", erased, err)
	}
	leaf, err := tl.store.AuditLeaf(ctx, 2)
	if err != nil || leaf.Input != nil || leaf.Output != nil {
		t.Fatalf("payloads of event 2 remain: %+v", leaf)
	}
	r := mustVerify(t, tl)
	if r.Erased != 4 || r.Events != 11 {
		t.Fatalf("after erasure by index: %+v", r)
	}
	// Retention: everything below an index.
	retention := &Event{Time: time.Now(), Actor: Actor{Kind: ActorSystem, ID: "modelgate"}, Action: ActionRetention, Decision: Decision{Outcome: Allowed}}
	if _, err := tl.log.Erase(ctx, retention, nil, 8); err != nil {
		t.Fatal(err)
	}
	r = mustVerify(t, tl)
	if r.Erased != 16 {
		t.Fatalf("after retention: %+v", r)
	}
	// The erasure events say what they erased.
	ev, _ := tl.store.AuditLeaf(ctx, 10)
	if !strings.Contains(string(ev.Data), `"indexes":"2,5"`) || !strings.Contains(string(ev.Data), `"erased":"2"`) {
		t.Fatalf("erasure event: %s", ev.Data)
	}
	// Deleting another payload behind the log's back is still caught.
	rewriteBatch(t, rawDB(t, tl), 9, func(ls []*store.AuditLeaf) []*store.AuditLeaf {
		for _, l := range ls {
			if l.Index == 9 {
				l.Input, l.Output = nil, nil
			}
		}
		return ls
	})
	if _, err := Verify(ctx, tl.store, tl.verifier); err == nil || !strings.Contains(err.Error(), "no recorded erasure") {
		t.Fatalf("an unrecorded deletion passed: %v", err)
	}
}
