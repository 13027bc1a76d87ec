package audit

import (
	"context"
	"strings"
	"testing"

	"github.com/go-json-experiment/json"
)

// TestBundle: a bundle of events verifies offline with the log's key; an
// event changed, dropped into another bundle's checkpoint, or a rewritten
// history (a consistency proof that does not hold) fails.
func TestBundle(t *testing.T) {
	ctx := context.Background()
	tl := openTestLog(t, t.TempDir(), Options{})
	appendN(t, tl, 10, false)
	early, err := tl.log.Checkpoint(ctx)
	if err != nil {
		t.Fatal(err)
	}
	appendN(t, tl, 10, false)
	if _, err := tl.log.Checkpoint(ctx); err != nil {
		t.Fatal(err)
	}
	b, err := BuildBundle(ctx, tl.store, tl.verifier, "INC-1", []int64{12, 3, 12, 17}, early.Note)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := json.Marshal(b)
	if err != nil {
		t.Fatal(err)
	}
	var back Bundle
	if err := json.Unmarshal(raw, &back); err != nil {
		t.Fatal(err)
	}
	evs, err := VerifyBundle(&back, tl.verifier)
	if err != nil || len(evs) != 3 || evs[0].Index != 3 || evs[2].Index != 17 {
		t.Fatalf("%d events, %v", len(evs), err)
	}

	tampered := strings.Replace(string(raw), `\"req_3\"`, `\"req_X\"`, 1)
	if tampered == string(raw) {
		tampered = strings.Replace(string(raw), `req_3`, `req_X`, 1)
	}
	var bad Bundle
	json.Unmarshal([]byte(tampered), &bad)
	if _, err := VerifyBundle(&bad, tl.verifier); err == nil {
		t.Error("a bundle with a changed event verified")
	}
	bad = back
	bad.Consistency = append([]string(nil), back.Consistency...)
	bad.Consistency[0] = back.Proofs[0].LeafHash
	if _, err := VerifyBundle(&bad, tl.verifier); err == nil || !strings.Contains(err.Error(), "does not extend") {
		t.Errorf("a bad consistency proof: %v", err)
	}
	_, other, _ := LoadOrCreateKeys(t.TempDir())
	if _, err := VerifyBundle(&back, other); err == nil {
		t.Error("verified with another log's key")
	}
	bad = back
	bad.Format = "x"
	if _, err := VerifyBundle(&bad, tl.verifier); err == nil {
		t.Error("a wrong format verified")
	}
}

func FuzzVerifyBundle(f *testing.F) {
	f.Add([]byte(`{"format":"modelgate-evidence-bundle/1","checkpoint":"x","proofs":[{"index":1}]}`))
	f.Add([]byte(`{"format":"modelgate-evidence-bundle/1","checkpoint":"x","proofs":[null]}`))
	_, v, _ := LoadOrCreateKeys(f.TempDir())
	f.Fuzz(func(t *testing.T, b []byte) {
		var bundle Bundle
		if json.Unmarshal(b, &bundle) != nil {
			return
		}
		VerifyBundle(&bundle, v)
	})
}
