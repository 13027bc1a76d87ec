package audit

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/modelgate/modelgate/store"
	"golang.org/x/mod/sumdb/tlog"
)

// A tampering is something done to the database file by someone with
// write access to it: SQL, or an edit of the events inside a stored batch
// re-encoded so that the batch still reads.
type tampering func(t *testing.T, raw *sql.DB)

func sqlTamper(qs ...string) tampering {
	return func(t *testing.T, raw *sql.DB) {
		for _, q := range qs {
			exec(t, raw, q)
		}
	}
}

// editEvent edits event index inside its stored batch.
func editEvent(index int64, edit func(l *store.AuditLeaf)) tampering {
	return func(t *testing.T, raw *sql.DB) {
		rewriteBatch(t, raw, index, func(leaves []*store.AuditLeaf) []*store.AuditLeaf {
			for _, l := range leaves {
				if l.Index == index {
					edit(l)
				}
			}
			return leaves
		})
	}
}

func replaceData(old, new string) func(l *store.AuditLeaf) {
	return func(l *store.AuditLeaf) { l.Data = bytes.Replace(l.Data, []byte(old), []byte(new), 1) }
}

// TestTamperIsDetected alters a verified log one way at a time and checks
// that Verify fails and names the right event. Events are appended one at
// a time, so each is a batch of its own and batch rows are events.
func TestTamperIsDetected(t *testing.T) {
	tests := []struct {
		name   string
		tamper tampering
		index  int64 // the event Verify must name; -1: not one event
		what   string
	}{
		{"alter event data", editEvent(7, replaceData(`"status":200`, `"status":201`)), 7, "leaf hash"},
		{"alter the request id", editEvent(7, replaceData(`req_7`, `req_X`)), 7, "leaf hash"},
		{"non-canonical data", editEvent(5, replaceData(`{"action"`, `{ "action"`)), 5, "canonical"},
		{"not an event", editEvent(5, func(l *store.AuditLeaf) { l.Data = []byte(`{"hello":"world"}`) }), 5, "not an event"},
		{"delete an event", sqlTamper(`DELETE FROM audit_batches WHERE first = 11`), 11, "missing"},
		{"truncate the tail", sqlTamper(`DELETE FROM audit_batches WHERE first >= 15`), 15, "truncated"},
		{"reorder two events", sqlTamper(
			`UPDATE audit_batches SET first = -1 WHERE first = 4`,
			`UPDATE audit_batches SET first = 4 WHERE first = 5`,
			`UPDATE audit_batches SET first = 5 WHERE first = -1`), 4, "its data says it is event 5"},
		{"replay an event at the end", sqlTamper(
			`INSERT INTO audit_batches SELECT 21, count, min_time, max_time, leaves, payloads FROM audit_batches WHERE first = 3`),
			21, "its data says it is event 3"},
		{"overlap two batches", sqlTamper(
			`UPDATE audit_batches SET count = 2, leaves = CAST(leaves || (SELECT leaves FROM audit_batches WHERE first = 7) AS BLOB), payloads = NULL WHERE first = 6`),
			7, "out of order"},
		{"cut a batch short", sqlTamper(`UPDATE audit_batches SET leaves = substr(leaves, 1, length(leaves) - 3) WHERE first = 9`), 9, "cannot be read"},
		{"lie about a batch's count", sqlTamper(`UPDATE audit_batches SET count = 2 WHERE first = 9`), 9, "cannot be read"},
		{"garble a batch's payloads", sqlTamper(`UPDATE audit_batches SET payloads = CAST(X'ff' || payloads AS BLOB) WHERE first = 12`), 12, "cannot be read"},
		{"alter a leaf hash", sqlTamper(zeroHash(10)), 6, "leaf hash"},
		{"alter an interior hash", sqlTamper(zeroHash(2)), 1, "tree hash 2"},
		{"delete a hash", sqlTamper(dropHash(20)), 11, "hash"},
		{"delete a run of hashes", sqlTamper(`DELETE FROM audit_hashes WHERE first = (SELECT MAX(first) FROM audit_hashes)`), 20, "missing"},
		{"alter a payload", editEvent(8, func(l *store.AuditLeaf) { l.Input.Data = []byte("other prompt") }), 8, "does not match the digest"},
		{"delete a payload without an erasure", editEvent(13, func(l *store.AuditLeaf) { l.Input = nil }), 13, "no recorded erasure"},
		{"delete a batch's payloads", sqlTamper(`UPDATE audit_batches SET payloads = NULL WHERE first = 13`), 13, "no recorded erasure"},
		{"strip payload bytes, keep salt", editEvent(2, func(l *store.AuditLeaf) { l.Input.Data = nil }), 2, "bytes are missing"},
		{"inject a payload", editEvent(14, func(l *store.AuditLeaf) {
			l.Input, l.Output = &store.AuditBlob{Salt: []byte{0}, Data: []byte{0}}, nil
		}), 14, "does not match"},
		{"add a payload the event never had", editEvent(20, func(l *store.AuditLeaf) { l.Input = &store.AuditBlob{Salt: []byte{0}} }), 20, "does not commit to"},
		{"forge a checkpoint signature", sqlTamper(`UPDATE audit_checkpoints SET note = CAST(replace(CAST(note AS TEXT), '— ', '— x') AS BLOB) WHERE size = 10`), -1, "signature"},
		{"move a checkpoint", sqlTamper(`UPDATE audit_checkpoints SET size = 9 WHERE size = 10`), -1, "signed for size 10"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tl := openTestLog(t, t.TempDir(), Options{CheckpointEvery: 5})
			appendN(t, tl, 20, true)
			if err := tl.log.Append(context.Background(), testEvent(20)); err != nil { // no payloads
				t.Fatal(err)
			}
			if _, err := tl.log.Checkpoint(context.Background()); err != nil {
				t.Fatal(err)
			}
			mustVerify(t, tl)
			tl.log.Close()
			tc.tamper(t, rawDB(t, tl))
			expectTamper(t, tl, tc.index, tc.what)
		})
	}
}

// TestTamperInsideABatch edits events that share a stored batch.
func TestTamperInsideABatch(t *testing.T) {
	tests := []struct {
		name  string
		edit  func(leaves []*store.AuditLeaf) []*store.AuditLeaf
		index func(first int64) int64
		what  string
	}{
		{"swap two events", func(ls []*store.AuditLeaf) []*store.AuditLeaf {
			ls[0].Data, ls[1].Data = ls[1].Data, ls[0].Data
			return ls
		}, func(first int64) int64 { return first }, "its data says it is event"},
		{"drop an event from the middle", func(ls []*store.AuditLeaf) []*store.AuditLeaf {
			return append(ls[:1], ls[2:]...)
		}, func(first int64) int64 { return first + 1 }, "its data says it is event"},
		{"alter the last event", func(ls []*store.AuditLeaf) []*store.AuditLeaf {
			last := ls[len(ls)-1]
			last.Data = bytes.Replace(last.Data, []byte(`"status":200`), []byte(`"status":500`), 1)
			return ls
		}, nil, "leaf hash"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tl := openTestLog(t, t.TempDir(), Options{})
			for i := range 64 {
				if err := tl.log.Submit(testEvent(i)); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := tl.log.Checkpoint(context.Background()); err != nil {
				t.Fatal(err)
			}
			mustVerify(t, tl)
			tl.log.Close()
			raw := rawDB(t, tl)
			var first, count int64
			if err := raw.QueryRow(`SELECT first, count FROM audit_batches WHERE count >= 3 ORDER BY first LIMIT 1`).Scan(&first, &count); err != nil {
				t.Fatalf("no batch of three or more events to tamper with: %v", err)
			}
			var want int64
			rewriteBatch(t, raw, first, func(ls []*store.AuditLeaf) []*store.AuditLeaf {
				out := tc.edit(ls)
				want = out[len(out)-1].Index
				return out
			})
			if tc.index != nil {
				want = tc.index(first)
			}
			expectTamper(t, tl, want, tc.what)
		})
	}
}

func expectTamper(t *testing.T, tl *testLog, index int64, what string) {
	t.Helper()
	_, err := Verify(context.Background(), tl.store, tl.verifier)
	var ve *VerifyError
	if !errors.As(err, &ve) {
		t.Fatalf("tampering was not detected: %v", err)
	}
	if ve.Index != index || !strings.Contains(ve.What, what) {
		t.Fatalf("verify said %q (index %d); want index %d and %q", ve.What, ve.Index, index, what)
	}
}

// rewriteBatch decodes the stored batch holding event index, lets edit
// change its events, and stores the result re-encoded in its place.
func rewriteBatch(t *testing.T, raw *sql.DB, index int64, edit func([]*store.AuditLeaf) []*store.AuditLeaf) {
	t.Helper()
	var (
		first, count     int64
		leaves, payloads []byte
	)
	err := raw.QueryRow(`SELECT first, count, leaves, payloads FROM audit_batches WHERE first <= ? ORDER BY first DESC LIMIT 1`, index).
		Scan(&first, &count, &leaves, &payloads)
	if err != nil {
		t.Fatal(err)
	}
	ls, err := store.DecodeBatch(first, int(count), leaves, payloads)
	if err != nil {
		t.Fatal(err)
	}
	ls = edit(ls)
	var p any
	if enc := store.EncodePayloads(ls); enc != nil {
		p = enc
	}
	exec(t, raw, `UPDATE audit_batches SET count = ?, leaves = ?, payloads = ? WHERE first = ?`, len(ls), store.EncodeLeaves(ls), p, first)
}

// TestForgedCheckpointFromAnotherKey replaces the latest checkpoint with
// one signed by a different key over the same tree.
func TestForgedCheckpointFromAnotherKey(t *testing.T) {
	tl := openTestLog(t, t.TempDir(), Options{})
	appendN(t, tl, 4, false)
	cp, err := tl.log.Checkpoint(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	tl.log.Close()
	otherSigner, _, _ := LoadOrCreateKeys(t.TempDir())
	forged, _ := signCheckpoint(otherSigner, tlog.Tree{N: cp.Tree.N, Hash: cp.Tree.Hash})
	exec(t, rawDB(t, tl), `UPDATE audit_checkpoints SET note = ? WHERE size = 4`, forged)
	if _, err := Verify(context.Background(), tl.store, tl.verifier); err == nil || !strings.Contains(err.Error(), "signature") {
		t.Fatalf("a checkpoint signed by another key verified: %v", err)
	}
}

// zeroHash is SQL that overwrites stored hash i inside its run.
func zeroHash(i int) string {
	return fmt.Sprintf(`UPDATE audit_hashes SET hashes = CAST(substr(hashes, 1, (%[1]d - first) * 32) || zeroblob(32) || substr(hashes, (%[1]d - first) * 32 + 33) AS BLOB)
		WHERE first <= %[1]d AND first + length(hashes) / 32 > %[1]d`, i)
}

// dropHash is SQL that cuts stored hash i out of its run.
func dropHash(i int) string {
	return fmt.Sprintf(`UPDATE audit_hashes SET hashes = CAST(substr(hashes, 1, (%[1]d - first) * 32) || substr(hashes, (%[1]d - first) * 32 + 33) AS BLOB)
		WHERE first <= %[1]d AND first + length(hashes) / 32 > %[1]d`, i)
}
