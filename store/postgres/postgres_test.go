package postgres

import (
	"context"
	"testing"
	"time"

	"github.com/modelgate/modelgate/internal/pgtest"
	"github.com/modelgate/modelgate/registry"
	"github.com/modelgate/modelgate/registry/registrytest"
	"github.com/modelgate/modelgate/store"
	"github.com/modelgate/modelgate/store/storetest"
)

func open(t testing.TB, dsn string) *DB {
	t.Helper()
	db, err := Open(context.Background(), dsn, Options{})
	if err != nil {
		t.Fatal(err)
	}
	return db
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return open(t, pgtest.DSN(t)) })
}

// TestChangesReachOtherReplicas: a change through one handle (replica) is
// seen by another through LISTEN/NOTIFY well within a second.
func TestChangesReachOtherReplicas(t *testing.T) {
	dsn := pgtest.DSN(t)
	a, b := open(t, dsn), open(t, dsn)
	defer a.Close()
	defer b.Close()
	ctx := context.Background()
	before, _ := b.Generation(ctx)
	start := time.Now()
	if err := a.CreateKey(ctx, &store.Key{ID: "k", Name: "k", SecretHash: []byte{1}, CreatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	for {
		g, err := b.Generation(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if g != before {
			t.Logf("seen by the other replica after %v", time.Since(start))
			break
		}
		if time.Since(start) > time.Second {
			t.Fatal("the other replica did not see the change within 1 s")
		}
		time.Sleep(time.Millisecond)
	}
}

// TestListenerReconnects: when the listening connection is killed, the
// replica reads changes directly, reconnects, and misses nothing.
func TestListenerReconnects(t *testing.T) {
	dsn := pgtest.DSN(t)
	a, b := open(t, dsn), open(t, dsn)
	defer a.Close()
	defer b.Close()
	ctx := context.Background()
	waitLive(t, b)
	if _, err := a.pool.Exec(ctx, `SELECT pg_terminate_backend($1)`, int32(b.listenerPID.Load())); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(time.Second); b.lost.Load() == 0; {
		if time.Now().After(deadline) {
			t.Fatal("the listener's connection was not killed")
		}
		time.Sleep(5 * time.Millisecond)
	}
	before, _ := b.Generation(ctx)
	if err := a.CreateIPRule(ctx, &store.IPRule{ID: "r", CIDR: "10.0.0.0/8", Action: store.IPDeny}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(time.Second)
	for {
		g, err := b.Generation(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if g != before {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("a change made while the listener was down was not seen within 1 s")
		}
		time.Sleep(5 * time.Millisecond)
	}
	waitLive(t, b)
}

func waitLive(t *testing.T, db *DB) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !db.live.Load() {
		if time.Now().After(deadline) {
			t.Fatal("the listener never connected")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestRegistryConformance(t *testing.T) {
	registrytest.Run(t, func(t *testing.T) registry.Store {
		db := open(t, pgtest.DSN(t))
		t.Cleanup(func() { db.Close() })
		return db
	})
}
