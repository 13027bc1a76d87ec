package sqlite_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"strings"
	"testing"

	"github.com/modelgate/modelgate/registry"
	"github.com/modelgate/modelgate/registry/registrytest"
	"github.com/modelgate/modelgate/store"
	"github.com/modelgate/modelgate/store/sqlite"
	"github.com/modelgate/modelgate/store/storetest"
	_ "modernc.org/sqlite"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		db, err := sqlite.OpenDir(context.Background(), t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		return db
	})
}

// TestSecondProcessSeesChanges opens the same file twice, as the CLI and a
// running gateway do, and checks that a write through one moves the
// generation the other reads.
func TestSecondProcessSeesChanges(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	a, err := sqlite.OpenDir(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := sqlite.OpenDir(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	before, err := a.Generation(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.CreateIPRule(ctx, &store.IPRule{CIDR: "10.0.0.0/8", Action: store.IPDeny}); err != nil {
		t.Fatal(err)
	}
	after, err := a.Generation(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if after == before {
		t.Fatal("a write through another connection did not change the generation")
	}
}

func TestRefusesNewerSchema(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "m.db")
	db, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	db.Close()

	raw, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := raw.Exec(`INSERT INTO schema_migrations (version, name, applied_at) VALUES (999, 'future', 0)`); err != nil {
		t.Fatal(err)
	}
	raw.Close()

	_, err = sqlite.Open(ctx, path)
	if err == nil || !strings.Contains(err.Error(), "newer than this modelgate supports") {
		t.Fatalf("want a clear refusal of a newer schema, got %v", err)
	}
}

func TestReopenKeepsData(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db, err := sqlite.OpenDir(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.CreateIPRule(ctx, &store.IPRule{ID: "keep", CIDR: "10.0.0.0/8", Action: store.IPDeny}); err != nil {
		t.Fatal(err)
	}
	db.Close()
	db, err = sqlite.OpenDir(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rules, err := db.ListIPRules(ctx)
	if err != nil || len(rules) != 1 || rules[0].ID != "keep" {
		t.Fatalf("after reopen: %v, %v", rules, err)
	}
}

func BenchmarkGeneration(b *testing.B) {
	db, err := sqlite.OpenDir(context.Background(), b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := db.Generation(ctx); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func TestClosedStoreErrors(t *testing.T) {
	db, err := sqlite.OpenDir(context.Background(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Generation(context.Background()); err == nil {
		t.Fatal("Generation on a closed store succeeded")
	}
	if err := db.Ping(context.Background()); err == nil {
		t.Fatal("Ping on a closed store succeeded")
	}
	if err := db.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}

func TestRegistryConformance(t *testing.T) {
	registrytest.Run(t, func(t *testing.T) registry.Store {
		db, err := sqlite.OpenDir(context.Background(), t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		return db
	})
}
