package audit

import (
	"context"
	"errors"
	"strings"
	"testing"

	"golang.org/x/mod/sumdb/tlog"
)

// TestTamperIsDetected alters a verified log the way someone with write
// access to the file would, one way at a time, and checks that Verify
// fails and names the right event.
func TestTamperIsDetected(t *testing.T) {
	tests := []struct {
		name  string
		sql   []string
		index int64 // the event Verify must name; -1: not one event
		what  string
	}{
		{"alter event data", []string{`UPDATE audit_events SET data = CAST(replace(data, '"status":200', '"status":201') AS BLOB) WHERE idx = 7`}, 7, "leaf hash"},
		{"alter data and its column together", []string{
			`UPDATE audit_events SET data = CAST(replace(data, 'req_7', 'req_X') AS BLOB), request_id = 'req_X' WHERE idx = 7`}, 7, "leaf hash"},
		{"alter actor column", []string{`UPDATE audit_events SET actor_id = 'someone-else' WHERE idx = 9`}, 9, "actor_id column"},
		{"alter time column", []string{`UPDATE audit_events SET time_ns = time_ns + 1 WHERE idx = 3`}, 3, "time column"},
		{"alter outcome column", []string{`UPDATE audit_events SET outcome = 'denied' WHERE idx = 12`}, 12, "outcome column"},
		{"alter model column", []string{`UPDATE audit_events SET model = 'other' WHERE idx = 0`}, 0, "model column"},
		{"non-canonical data", []string{`UPDATE audit_events SET data = CAST(replace(data, '{"action"', '{ "action"') AS BLOB) WHERE idx = 5`}, 5, "canonical"},
		{"delete an event", []string{`DELETE FROM audit_events WHERE idx = 11`}, 11, "missing"},
		{"truncate the tail", []string{`DELETE FROM audit_events WHERE idx >= 15`}, 15, "truncated"},
		{"reorder two events", []string{
			`UPDATE audit_events SET idx = -1 WHERE idx = 4`,
			`UPDATE audit_events SET idx = 4 WHERE idx = 5`,
			`UPDATE audit_events SET idx = 5 WHERE idx = -1`}, 4, "its data says it is event 5"},
		{"alter a leaf hash", []string{`UPDATE audit_hashes SET hash = zeroblob(32) WHERE idx = 10`}, 6, "leaf hash"},
		{"alter an interior hash", []string{`UPDATE audit_hashes SET hash = zeroblob(32) WHERE idx = 2`}, 1, "tree hash 2"},
		{"delete a hash", []string{`DELETE FROM audit_hashes WHERE idx = 20`}, 11, "hash"},
		{"alter a payload", []string{`UPDATE audit_events SET in_data = CAST('other prompt' AS BLOB) WHERE idx = 8`}, 8, "does not match the digest"},
		{"delete a payload without an erasure", []string{`UPDATE audit_events SET in_salt = NULL, in_data = NULL WHERE idx = 13`}, 13, "no recorded erasure"},
		{"strip payload bytes, keep salt", []string{`UPDATE audit_events SET in_data = NULL WHERE idx = 2`}, 2, "bytes are missing"},
		{"inject a payload", []string{`UPDATE audit_events SET in_salt = X'00', in_data = X'00', out_salt = NULL, out_data = NULL WHERE idx = 14`}, 14, "does not match"},
		{"add a payload the event never had", []string{`UPDATE audit_events SET in_salt = X'00' WHERE idx = 20`}, 20, "does not commit to"},
		{"forge a checkpoint signature", []string{`UPDATE audit_checkpoints SET note = CAST(replace(CAST(note AS TEXT), '— ', '— x') AS BLOB) WHERE size = 10`}, -1, "signature"},
		{"move a checkpoint", []string{`UPDATE audit_checkpoints SET size = 9 WHERE size = 10`}, -1, "signed for size 10"},
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
			raw := rawDB(t, tl)
			for _, q := range tc.sql {
				exec(t, raw, q)
			}
			_, err := Verify(context.Background(), tl.store, tl.verifier)
			var ve *VerifyError
			if !errors.As(err, &ve) {
				t.Fatalf("tampering was not detected: %v", err)
			}
			if ve.Index != tc.index || !strings.Contains(ve.What, tc.what) {
				t.Fatalf("verify said %q (index %d); want index %d and %q", ve.What, ve.Index, tc.index, tc.what)
			}
		})
	}
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
	if _, err := Verify(context.Background(), tl.store, tl.verifier); !errors.Is(err, err) || err == nil || !strings.Contains(err.Error(), "signature") {
		t.Fatalf("a checkpoint signed by another key verified: %v", err)
	}
}
