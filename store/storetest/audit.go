// The audit store conformance tests: every store.AuditStore backend must
// pass them (store/sqlite, store/postgres).
package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/modelgate/modelgate/store"
)

var t0 = time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)

// auditFixture is a log of ten events in three batches:
//
//	first 0: events 0-2 at t0, t0+1s, t0+2s; event 1 has payloads
//	first 3: events 3-4 at t0+10s, t0+11s
//	first 5: events 5-9 at t0+20s ... t0+24s; event 7 keeps only a salt
func auditFixture(t *testing.T, open func(t *testing.T) store.AuditStore) store.AuditStore {
	t.Helper()
	db := open(t)
	t.Cleanup(func() { db.Close() })
	batch := func(first int64, secs ...int) *store.AuditBatch {
		b := &store.AuditBatch{First: first}
		for i, s := range secs {
			at := t0.Add(time.Duration(s) * time.Second)
			if i == 0 || at.Before(b.MinTime) {
				b.MinTime = at
			}
			if at.After(b.MaxTime) {
				b.MaxTime = at
			}
			idx := first + int64(i)
			b.Leaves = append(b.Leaves, &store.AuditLeaf{Index: idx, Data: fmt.Appendf(nil, `{"index":%d}`, idx)})
		}
		return b
	}
	a, b, c := batch(0, 0, 1, 2), batch(3, 10, 11), batch(5, 20, 21, 22, 23, 24)
	a.Leaves[1].Input = &store.AuditBlob{Salt: []byte("s1"), Data: []byte("prompt")}
	a.Leaves[1].Output = &store.AuditBlob{Salt: []byte("s2"), Data: []byte{}}
	c.Leaves[2].Output = &store.AuditBlob{Salt: []byte("s3")}
	for _, b := range []*store.AuditBatch{a, b, c} {
		err := db.AppendAudit(context.Background(), func(tx store.AuditTx) error { return tx.InsertBatch(b) })
		if err != nil {
			t.Fatal(err)
		}
	}
	return db
}

func scanIndexes(t *testing.T, db store.AuditStore, r store.AuditRange) []int64 {
	t.Helper()
	var got []int64
	err := db.ScanAudit(context.Background(), r, func(l *store.AuditLeaf) error {
		if want := fmt.Sprintf(`{"index":%d}`, l.Index); string(l.Data) != want {
			return fmt.Errorf("event %d holds %s", l.Index, l.Data)
		}
		got = append(got, l.Index)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func testAuditScanRanges(t *testing.T, open func(t *testing.T) store.AuditStore) {
	db := auditFixture(t, open)
	if n, err := db.AuditSize(context.Background()); err != nil || n != 10 {
		t.Fatalf("size %d %v", n, err)
	}
	span := func(from, to int64) []int64 {
		var out []int64
		for i := from; i < to; i++ {
			out = append(out, i)
		}
		return out
	}
	tests := []struct {
		name string
		r    store.AuditRange
		want []int64
	}{
		{"all", store.AuditRange{}, span(0, 10)},
		{"inside batches", store.AuditRange{FromIndex: 4, BeforeIndex: 7}, span(4, 7)},
		{"from mid-batch", store.AuditRange{FromIndex: 1}, span(1, 10)},
		{"one event", store.AuditRange{FromIndex: 6, BeforeIndex: 7}, []int64{6}},
		{"past the end", store.AuditRange{FromIndex: 10}, nil},
		{"limit across batches", store.AuditRange{FromIndex: 2, Limit: 3}, []int64{2, 3, 4}},
		{"newest first", store.AuditRange{Descending: true, Limit: 3}, []int64{9, 8, 7}},
		{"newest first in a range", store.AuditRange{FromIndex: 2, BeforeIndex: 5, Descending: true}, []int64{4, 3, 2}},
		{"since selects overlapping batches", store.AuditRange{Since: t0.Add(11 * time.Second)}, span(3, 10)},
		{"since after everything", store.AuditRange{Since: t0.Add(time.Hour)}, nil},
		{"until", store.AuditRange{Until: t0.Add(5 * time.Second)}, span(0, 3)},
		{"since and until", store.AuditRange{Since: t0.Add(5 * time.Second), Until: t0.Add(15 * time.Second)}, span(3, 5)},
		{"until, newest first", store.AuditRange{Until: t0.Add(15 * time.Second), Descending: true, Limit: 1}, []int64{4}},
		{"since with an index bound", store.AuditRange{FromIndex: 6, Since: t0}, span(6, 10)},
	}
	for _, tc := range tests {
		if got := scanIndexes(t, db, tc.r); !slices.Equal(got, tc.want) {
			t.Errorf("%s: got %v, want %v", tc.name, got, tc.want)
		}
	}
}

func testAuditPayloadsAndErasure(t *testing.T, open func(t *testing.T) store.AuditStore) {
	db := auditFixture(t, open)
	ctx := context.Background()
	l, err := db.AuditLeaf(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	if l.Input == nil || string(l.Input.Data) != "prompt" || l.Output == nil || l.Output.Data == nil || len(l.Output.Data) != 0 {
		t.Fatalf("event 1 payloads: %+v %+v", l.Input, l.Output)
	}
	if l, _ := db.AuditLeaf(ctx, 7); l.Output == nil || l.Output.Data != nil || string(l.Output.Salt) != "s3" {
		t.Fatalf("event 7 kept salt: %+v", l.Output)
	}
	db.ScanAudit(ctx, store.AuditRange{FromIndex: 1, BeforeIndex: 2}, func(l *store.AuditLeaf) error {
		if l.Input != nil {
			t.Error("payloads returned without WithPayloads")
		}
		return nil
	})
	if _, err := db.AuditLeaf(ctx, 10); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("missing event: %v", err)
	}

	var erased []int64
	err = db.AppendAudit(ctx, func(tx store.AuditTx) error {
		var err error
		erased, err = tx.ErasePayloads([]int64{1, 3}, 0) // 3 has none
		return err
	})
	if err != nil || !slices.Equal(erased, []int64{1}) {
		t.Fatalf("erase: %v %v", erased, err)
	}
	if l, _ := db.AuditLeaf(ctx, 1); l.Input != nil || l.Output != nil || string(l.Data) != `{"index":1}` {
		t.Fatalf("after erasure: %+v", l)
	}
	if l, _ := db.AuditLeaf(ctx, 7); l.Output == nil {
		t.Fatal("erasing event 1 touched event 7")
	}
	err = db.AppendAudit(ctx, func(tx store.AuditTx) error {
		erased, err = tx.ErasePayloads(nil, 8)
		return err
	})
	if err != nil || !slices.Equal(erased, []int64{7}) {
		t.Fatalf("erase before 8: %v %v", erased, err)
	}
	if got := scanIndexes(t, db, store.AuditRange{WithPayloads: true}); len(got) != 10 {
		t.Fatalf("events lost by erasure: %v", got)
	}
}

func testAuditHashRuns(t *testing.T, open func(t *testing.T) store.AuditStore) {
	db := auditFixture(t, open)
	ctx := context.Background()
	h := func(i int) []byte { return bytes.Repeat([]byte{byte(i)}, 32) }
	err := db.AppendAudit(ctx, func(tx store.AuditTx) error {
		if err := tx.InsertHashes(0, [][]byte{h(0), h(1), h(2)}); err != nil {
			return err
		}
		return tx.InsertHashes(3, [][]byte{h(3), h(4)})
	})
	if err != nil {
		t.Fatal(err)
	}
	got, err := db.AuditHashes(ctx, []int64{4, 1, 3, 0})
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range []int{4, 1, 3, 0} {
		if !bytes.Equal(got[i], h(want)) {
			t.Fatalf("hash %d: %x", want, got[i])
		}
	}
	if _, err := db.AuditHashes(ctx, []int64{5}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("hash past the end: %v", err)
	}
	var seen []int64
	db.ScanAuditHashes(ctx, 4, func(i int64, b []byte) error {
		if !bytes.Equal(b, h(int(i))) {
			t.Errorf("scanned hash %d: %x", i, b)
		}
		seen = append(seen, i)
		return nil
	})
	if !slices.Equal(seen, []int64{0, 1, 2, 3}) {
		t.Fatalf("scanned %v", seen)
	}
	err = db.AppendAudit(ctx, func(tx store.AuditTx) error { return tx.InsertHashes(5, [][]byte{[]byte("short")}) })
	if err == nil {
		t.Fatal("stored a hash of the wrong size")
	}
}

func testAuditAppendIsAtomic(t *testing.T, open func(t *testing.T) store.AuditStore) {
	db := auditFixture(t, open)
	ctx := context.Background()
	boom := errors.New("boom")
	err := db.AppendAudit(ctx, func(tx store.AuditTx) error {
		b := &store.AuditBatch{First: 10, MinTime: t0, MaxTime: t0, Leaves: []*store.AuditLeaf{{Index: 10, Data: []byte(`{}`)}}}
		if err := tx.InsertBatch(b); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatal(err)
	}
	if n, _ := db.AuditSize(ctx); n != 10 {
		t.Fatalf("a failed append left its batch: size %d", n)
	}
	// A batch that overlaps a stored one is refused.
	err = db.AppendAudit(ctx, func(tx store.AuditTx) error {
		return tx.InsertBatch(&store.AuditBatch{First: 5, MinTime: t0, MaxTime: t0, Leaves: []*store.AuditLeaf{{Index: 5, Data: []byte(`{}`)}}})
	})
	if err == nil {
		t.Fatal("stored a second batch at 5")
	}
	// The write connection recovers.
	err = db.AppendAudit(ctx, func(tx store.AuditTx) error {
		return tx.InsertBatch(&store.AuditBatch{First: 10, MinTime: t0, MaxTime: t0, Leaves: []*store.AuditLeaf{{Index: 10, Data: []byte(`{"index":10}`)}}})
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if n, _ := db.AuditSize(ctx); n != 11 {
		t.Fatalf("size %d", n)
	}
}

func testAuditCursors(t *testing.T, open func(t *testing.T) store.AuditStore) {
	db := auditFixture(t, open)
	ctx := context.Background()
	if n, err := db.AuditCursor(ctx, "siem"); err != nil || n != 0 {
		t.Fatalf("new cursor %d %v", n, err)
	}
	for _, next := range []int64{5, 9} {
		if err := db.SetAuditCursor(ctx, "siem", next); err != nil {
			t.Fatal(err)
		}
	}
	if n, _ := db.AuditCursor(ctx, "siem"); n != 9 {
		t.Fatalf("cursor %d", n)
	}
}

// RunAudit runs the audit store conformance tests. open must return an
// empty audit store; the tests close it.
func RunAudit(t *testing.T, open func(t *testing.T) store.AuditStore) {
	tests := []struct {
		name string
		fn   func(t *testing.T, open func(t *testing.T) store.AuditStore)
	}{
		{"AuditScanRanges", testAuditScanRanges},
		{"AuditPayloadsAndErasure", testAuditPayloadsAndErasure},
		{"AuditHashRuns", testAuditHashRuns},
		{"AuditAppendIsAtomic", testAuditAppendIsAtomic},
		{"AuditCursors", testAuditCursors},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, open) })
	}
}
