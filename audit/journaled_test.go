package audit

import (
	"context"
	"sync"
	"testing"

	"github.com/modelgate/modelgate/store"
	"github.com/modelgate/modelgate/store/sqlite"
)

// openJournaled opens a log over a journaled store in dir.
func openJournaled(t *testing.T, dir string, opts Options) (*Log, *sqlite.JournaledAudit) {
	t.Helper()
	st, err := sqlite.OpenJournaledAuditDir(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	l, _, _ := openOn(t, st, dir, opts)
	return l, st
}

// Events acknowledged from many goroutines all reach the log, once each,
// and it verifies.
func TestJournaledAppends(t *testing.T) {
	dir := t.TempDir()
	l, st := openJournaled(t, dir, Options{})
	var wg sync.WaitGroup
	for g := range 16 {
		wg.Go(func() {
			for i := range 25 {
				if err := l.Append(context.Background(), testEvent(g*100+i)); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	if err := st.WaitSequenced(context.Background()); err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	if err := Query(context.Background(), st, Filter{}, func(ev *Event, _ *store.AuditLeaf) error {
		seen[ev.RequestID]++
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(seen) != 400 {
		t.Fatalf("%d events in the log, want 400", len(seen))
	}
	for id, n := range seen {
		if n != 1 {
			t.Fatalf("%s is in the log %d times", id, n)
		}
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if r, err := Verify(context.Background(), st, l.Verifier()); err != nil || r.Events != 400 {
		t.Fatalf("verify: %+v %v", r, err)
	}
	st.Close()
}

// Events a process journaled and never moved into the log (it died) are
// moved by the next server to open the log, before it sweeps streams: a
// stream whose end is still in the journal is not taken for interrupted.
func TestJournalRecoveredAtOpen(t *testing.T) {
	dir := t.TempDir()
	event := func(i int, id, action string) *Event {
		ev := testEvent(i)
		ev.RequestID, ev.Action = id, action
		return ev
	}
	// The stream's start is in the log already.
	l, st := openJournaled(t, dir, Options{})
	if err := l.Append(context.Background(), event(0, "stream", ActionStreamStart)); err != nil {
		t.Fatal(err)
	}
	l.Close()
	st.Close()
	// Its end, and another event, were journaled by a process that died.
	st, err := sqlite.OpenJournaledAuditDir(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	var queued []store.QueuedEvent
	for _, ev := range []*Event{event(1, "stream", ActionInvoke), event(2, "plain", ActionInvoke)} {
		queued = append(queued, store.QueuedEvent{Time: ev.Time, Head: appendHead(nil, ev), Tail: appendTail(nil, ev)})
	}
	if err := st.Enqueue(context.Background(), queued); err != nil {
		t.Fatal(err)
	}
	st.Close()

	l, st = openJournaled(t, dir, Options{SweepStreams: true})
	defer st.Close()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	var actions []string
	Query(context.Background(), st, Filter{}, func(ev *Event, _ *store.AuditLeaf) error {
		if ev.RequestID != "" {
			actions = append(actions, ev.RequestID+" "+ev.Action)
		}
		return nil
	})
	want := []string{"stream " + ActionStreamStart, "stream " + ActionInvoke, "plain " + ActionInvoke}
	if len(actions) != len(want) {
		t.Fatalf("log holds %v, want %v", actions, want)
	}
	for i := range want {
		if actions[i] != want[i] {
			t.Fatalf("log holds %v, want %v", actions, want)
		}
	}
	if n, err := st.QueueLen(context.Background()); err != nil || n != 0 {
		t.Fatalf("queue after recovery: %d %v", n, err)
	}
}
