package postgres

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/modelgate/modelgate/audit"
	"github.com/modelgate/modelgate/internal/pgtest"
	"github.com/modelgate/modelgate/store"
	"github.com/modelgate/modelgate/store/storetest"
)

// TestOneLogFromManyReplicas: three replicas (three pools, three
// audit.Logs, one signing key) append concurrently to one PostgreSQL log,
// which stays one verifiable sequence: no gaps, no duplicates, every event
// present once.
func TestOneLogFromManyReplicas(t *testing.T) {
	dsn := pgtest.DSN(t)
	ctx := context.Background()
	signer, verifier, err := audit.LoadOrCreateKeys(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	const replicas, perReplica = 3, 200
	var logs []*audit.Log
	for range replicas {
		db := open(t, dsn)
		defer db.Close()
		l, err := audit.Open(ctx, db.Audit(), signer, verifier, audit.Options{CheckpointEvery: 100})
		if err != nil {
			t.Fatal(err)
		}
		logs = append(logs, l)
	}
	var wg sync.WaitGroup
	for r, l := range logs {
		for w := range 4 {
			wg.Go(func() {
				for i := range perReplica / 4 {
					ev := &audit.Event{Time: time.Now(), RequestID: fmt.Sprintf("r%d-w%d-%d", r, w, i), Action: audit.ActionInvoke,
						Actor: audit.Actor{Kind: audit.ActorAPIKey, ID: "k"}, Decision: audit.Decision{Outcome: audit.Allowed}}
					payload := audit.Payload{Kind: audit.PayloadInput, Mode: audit.CaptureFull, Data: []byte("prompt " + ev.RequestID)}
					if err := l.Append(ctx, ev, payload); err != nil {
						t.Error(err)
						return
					}
				}
			})
		}
	}
	wg.Wait()
	for _, l := range logs {
		if err := l.Close(); err != nil {
			t.Fatal(err)
		}
	}
	db := open(t, dsn)
	defer db.Close()
	// Erase three events' payloads, as a data-subject request would.
	l, err := audit.Open(ctx, db.Audit(), signer, verifier, audit.Options{})
	if err != nil {
		t.Fatal(err)
	}
	erasure := &audit.Event{Time: time.Now(), Action: audit.ActionErase, Actor: audit.Actor{Kind: audit.ActorAdmin, ID: "dpo"},
		Decision: audit.Decision{Outcome: audit.Allowed}}
	erased, err := l.Erase(ctx, erasure, []int64{0, 1, 2}, 0)
	if err != nil || len(erased) != 3 {
		t.Fatalf("erase: %v %v", erased, err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	rep, err := audit.Verify(ctx, db.Audit(), verifier)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Events != replicas*perReplica+1 || rep.Unsigned != 0 || rep.PayloadsChecked != replicas*perReplica-3 || rep.Erased != 3 {
		t.Fatalf("verify: %+v", rep)
	}
	seen := map[string]int{}
	err = audit.Query(ctx, db.Audit(), audit.Filter{}, func(ev *audit.Event, _ *store.AuditLeaf) error {
		seen[ev.RequestID]++
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	delete(seen, "") // the erasure
	if len(seen) != replicas*perReplica {
		t.Fatalf("%d distinct events, want %d", len(seen), replicas*perReplica)
	}
	for id, n := range seen {
		if n != 1 {
			t.Fatalf("event %s recorded %d times", id, n)
		}
	}
}

func TestAuditConformance(t *testing.T) {
	storetest.RunAudit(t, func(t *testing.T) store.AuditStore {
		a, err := OpenAudit(context.Background(), pgtest.DSN(t), Options{})
		if err != nil {
			t.Fatal(err)
		}
		return a
	})
}
