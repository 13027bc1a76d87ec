package audit

import (
	"context"
	"testing"
	"time"

	"github.com/modelgate/modelgate/store"
)

// TestSweepStreams: a start without an end is recorded as interrupted
// once it is older than the cutoff; a stream that ended, or one that may
// still run, is left alone, and the next sweep reads on from the oldest
// stream still open.
func TestSweepStreams(t *testing.T) {
	dir := t.TempDir()
	tl := openTestLog(t, dir, Options{})
	ctx := context.Background()
	now := time.Now().UTC()
	ev := func(id, action string, at time.Time) *Event {
		e := testEvent(0)
		e.RequestID, e.Action, e.Time = id, action, at
		return e
	}
	for _, e := range []*Event{
		ev("ended", ActionStreamStart, now.Add(-time.Hour)),
		ev("ended", ActionInvoke, now.Add(-time.Hour)),
		ev("cut", ActionStreamStart, now.Add(-time.Hour)),
		ev("young", ActionStreamStart, now.Add(-time.Second)),
		ev("plain", ActionInvoke, now),
	} {
		if err := tl.log.Append(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	n, err := tl.log.SweepStreams(ctx, now.Add(-time.Minute))
	if err != nil || n != 1 {
		t.Fatalf("first sweep recorded %d (%v), want 1", n, err)
	}
	if got := actionsOf(t, tl, "cut"); len(got) != 2 || got[1] != ActionStreamInterrupted {
		t.Fatalf("cut stream: %v", got)
	}
	if cur, _ := tl.store.AuditCursor(ctx, streamsCursor); cur != 3 {
		t.Errorf("cursor %d, want 3 (the young stream's start)", cur)
	}
	// Swept again with the young stream now past the cutoff, and a second
	// sweep of the same events records nothing new.
	if n, err := tl.log.SweepStreams(ctx, now.Add(time.Minute)); err != nil || n != 1 {
		t.Fatalf("second sweep recorded %d (%v), want 1", n, err)
	}
	if n, _ := tl.log.SweepStreams(ctx, now.Add(time.Minute)); n != 0 {
		t.Fatalf("a repeated sweep recorded %d", n)
	}
	for _, id := range []string{"ended", "plain"} {
		for _, a := range actionsOf(t, tl, id) {
			if a == ActionStreamInterrupted {
				t.Errorf("%s was recorded as interrupted", id)
			}
		}
	}
	mustVerify(t, tl)
}

func actionsOf(t *testing.T, tl *testLog, id string) []string {
	t.Helper()
	var out []string
	err := Query(context.Background(), tl.store, Filter{RequestID: id}, func(ev *Event, _ *store.AuditLeaf) error {
		out = append(out, ev.Action)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}
