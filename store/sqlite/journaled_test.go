package sqlite

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/modelgate/modelgate/store"
)

// Two processes' journals on one data directory: the sequencer moves each
// event once, and retires a journal once its writer has gone.
func TestJournaledSequenceAndRetire(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	srv, err := OpenJournaledAuditDir(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	cli, err := OpenJournaledAuditDir(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	ev := func(s string) store.QueuedEvent {
		return store.QueuedEvent{Time: time.Unix(1, 0), Head: []byte(`{"id":"` + s + `","index":`), Tail: []byte(`}`)}
	}
	if err := cli.Enqueue(ctx, []store.QueuedEvent{ev("a"), ev("b")}); err != nil {
		t.Fatal(err)
	}
	if err := srv.Enqueue(ctx, []store.QueuedEvent{ev("c")}); err != nil {
		t.Fatal(err)
	}
	if n, err := srv.QueueLen(ctx); err != nil || n != 3 {
		t.Fatalf("QueueLen = %d, %v; want 3", n, err)
	}
	var got []string
	sequence := func() int {
		n, err := srv.Sequence(ctx, 100, func(_ store.AuditTx, evs []store.QueuedEvent) error {
			for _, e := range evs {
				got = append(got, string(e.Head[7:8]))
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n := sequence(); n != 3 || len(got) != 3 {
		t.Fatalf("sequenced %d: %v", n, got)
	}
	if n := sequence(); n != 0 {
		t.Fatalf("sequenced %d events twice", n)
	}
	if err := srv.WaitSequenced(ctx); err != nil {
		t.Fatal(err)
	}
	journals := func() int {
		ids, _ := srv.r.Journals()
		return len(ids)
	}
	if err := srv.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if journals() != 2 {
		t.Fatalf("%d journals after a sync with both writers alive, want 2", journals())
	}
	cli.Close() // the command exits
	srv.swept = time.Time{}
	if err := srv.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if journals() != 1 {
		t.Fatalf("%d journals after the command's writer has gone, want 1", journals())
	}
	progress, _ := srv.progress(ctx, srv.db)
	if len(progress) != 1 {
		t.Fatalf("progress kept for %d journals, want 1", len(progress))
	}
	if _, err := os.Stat(filepath.Join(dir, JournalDirName)); err != nil {
		t.Fatal(err)
	}
}
