package audit

import (
	"bytes"
	"context"
	"slices"
	"testing"

	"github.com/go-json-experiment/json"
	"golang.org/x/mod/sumdb/tlog"
)

// Checkpoints, proofs and index lists arrive from outside: files an
// auditor is handed, and command-line arguments. Their parsers must refuse
// what is wrong without crashing, and accept only what verifies.

func FuzzOpenCheckpoint(f *testing.F) {
	signer, verifier, err := LoadOrCreateKeys(f.TempDir())
	if err != nil {
		f.Fatal(err)
	}
	good, err := signCheckpoint(signer, tlog.Tree{N: 5, Hash: tlog.RecordHash([]byte("root"))})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add([]byte("origin\n5\nAAAA\n\n— origin AAAA\n"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, msg []byte) {
		cp, err := OpenCheckpoint(msg, verifier)
		if err != nil {
			return
		}
		// Only what the key signed opens: the signed body must be exactly
		// the checkpoint that came out.
		if !bytes.HasPrefix(msg, checkpointBody(verifier.Name(), cp.Tree)) {
			t.Fatalf("opened a checkpoint whose body is not its own: %q", msg)
		}
	})
}

func FuzzVerifyProof(f *testing.F) {
	tl := openTestLogTB(f, f.TempDir(), Options{})
	ctx := context.Background()
	for i := range 5 {
		if err := tl.log.Append(ctx, testEvent(i)); err != nil {
			f.Fatal(err)
		}
	}
	if _, err := tl.log.Checkpoint(ctx); err != nil {
		f.Fatal(err)
	}
	p, err := BuildProof(ctx, tl.store, tl.verifier, 3)
	if err != nil {
		f.Fatal(err)
	}
	good, _ := json.Marshal(p)
	f.Add(good)
	f.Add([]byte(`{"index":0,"event":{},"tree_size":0,"inclusion_proof":["x"],"checkpoint":""}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		var p Proof
		if json.Unmarshal(b, &p) != nil {
			return
		}
		ev, err := VerifyProof(&p, tl.verifier)
		if err != nil {
			return
		}
		// Whatever verifies is one of the five events, at its own index.
		if ev.Index < 0 || ev.Index >= 5 || ev.RequestID != testEvent(int(ev.Index)).RequestID {
			t.Fatalf("verified an event that is not in the log: %+v", ev)
		}
	})
}

func FuzzParseRanges(f *testing.F) {
	for _, s := range []string{"1-3,5,9,12-13", "0", "5-3", "0-16777216", "1,1,1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		idx, err := ParseRanges(s)
		if err != nil {
			return
		}
		if len(idx) == 0 || len(idx) > maxRangeIndexes {
			t.Fatalf("%q gave %d indexes", s, len(idx))
		}
		back, err := ParseRanges(FormatRanges(idx))
		if err != nil {
			t.Fatalf("FormatRanges output %q does not parse: %v", FormatRanges(idx), err)
		}
		want := slices.Compact(slices.Sorted(slices.Values(idx)))
		if !slices.Equal(back, want) || want[0] < 0 {
			t.Fatalf("%q: round trip gave %v, want %v", s, back, want)
		}
	})
}
