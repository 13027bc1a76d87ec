package audit

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// witnessedLog is a log in dir with a directory witness in wdir, holding
// 20 events appended one by one and checkpoints at 10 and 20.
func witnessedLog(t *testing.T, dir, wdir string) *testLog {
	t.Helper()
	_, v, err := LoadOrCreateKeys(dir)
	if err != nil {
		t.Fatal(err)
	}
	w := &DirWitness{Dir: wdir, Logs: note.VerifierList(v)}
	tl := openTestLog(t, dir, Options{CheckpointEvery: 10, Witnesses: []Witness{w}})
	appendN(t, tl, 20, false)
	if _, err := tl.log.Checkpoint(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := tl.log.Close(); err != nil {
		t.Fatal(err)
	}
	return tl
}

// cutBack deletes every event from index n on, with their tree hashes and
// the checkpoints that cover them: what someone with write access to the
// database does to make events disappear.
func cutBack(t *testing.T, tl *testLog, n int64) {
	raw := rawDB(t, tl)
	exec(t, raw, `DELETE FROM audit_batches WHERE first >= ?`, n)
	exec(t, raw, `DELETE FROM audit_hashes WHERE first >= ?`, tlog.StoredHashIndex(0, n))
	exec(t, raw, `DELETE FROM audit_checkpoints WHERE size > ?`, n)
}

// TestWitnessCatchesTruncation is the red team's case: a log cut back to
// an earlier checkpoint, with everything after it, still verifies on its
// own; the witness holds the newer checkpoint, so the check fails and the
// log will not open again.
func TestWitnessCatchesTruncation(t *testing.T) {
	dir, wdir := t.TempDir(), t.TempDir()
	tl := witnessedLog(t, dir, wdir)
	w := &DirWitness{Dir: wdir, Logs: note.VerifierList(tl.verifier)}
	ctx := context.Background()
	if cp, _ := w.Latest(ctx, tl.verifier.Name()); !bytes.Contains(cp, []byte("\n20\n")) {
		t.Fatalf("the witness holds %q, want the checkpoint of 20", cp)
	}
	cutBack(t, tl, 10)
	if _, err := Verify(ctx, tl.store, tl.verifier); err != nil {
		t.Fatalf("the cut-back log should verify on its own (that is the attack): %v", err)
	}
	tr, _ := NewTreeReader(ctx, tl.store, tl.verifier)
	if _, err := CheckWitness(ctx, tr, w); !errors.Is(err, ErrTruncated) {
		t.Fatalf("CheckWitness: %v, want ErrTruncated", err)
	}
	_, err := Open(ctx, tl.store, tl.signer, tl.verifier, Options{Witnesses: []Witness{w}})
	if !errors.Is(err, ErrTruncated) || !strings.Contains(err.Error(), "refusing to open") {
		t.Fatalf("Open: %v, want a refusal naming the truncation", err)
	}
}

// TestWitnessCatchesDeletedCheckpoint: deleting only the newest checkpoint
// also leaves a log that verifies alone; the witness says a newer one
// existed. Opening the log signs the tree again, which loses nothing.
func TestWitnessCatchesDeletedCheckpoint(t *testing.T) {
	dir, wdir := t.TempDir(), t.TempDir()
	tl := witnessedLog(t, dir, wdir)
	exec(t, rawDB(t, tl), `DELETE FROM audit_checkpoints WHERE size = 20`)
	ctx := context.Background()
	w := &DirWitness{Dir: wdir, Logs: note.VerifierList(tl.verifier)}
	tr, _ := NewTreeReader(ctx, tl.store, tl.verifier)
	if _, err := CheckWitness(ctx, tr, w); !errors.Is(err, ErrTruncated) || !strings.Contains(err.Error(), "deleted") {
		t.Fatalf("CheckWitness: %v", err)
	}
	l, err := Open(ctx, tl.store, tl.signer, tl.verifier, Options{Witnesses: []Witness{w}})
	if err != nil {
		t.Fatalf("Open after a deleted checkpoint, events intact: %v", err)
	}
	l.Close()
}

// TestWitnessCatchesRewrite: another log of the same size under the same
// key (the key lives beside the log) is not the tree the witness saw.
func TestWitnessCatchesRewrite(t *testing.T) {
	dir, wdir := t.TempDir(), t.TempDir()
	tl := witnessedLog(t, dir, wdir)
	other := t.TempDir()
	for _, f := range []string{SignerKeyFile, VerifierKeyFile} {
		b, _ := os.ReadFile(filepath.Join(dir, f))
		os.WriteFile(filepath.Join(other, f), b, 0o600)
	}
	forged := openTestLog(t, other, Options{})
	for i := range 20 {
		ev := testEvent(i)
		ev.Resource.Model = "rewritten"
		if err := forged.log.Append(context.Background(), ev); err != nil {
			t.Fatal(err)
		}
	}
	forged.log.Checkpoint(context.Background())
	w := &DirWitness{Dir: wdir, Logs: note.VerifierList(tl.verifier)}
	tr, _ := NewTreeReader(context.Background(), forged.store, forged.verifier)
	if _, err := CheckWitness(context.Background(), tr, w); !errors.Is(err, ErrWitnessRootConflict) {
		t.Fatalf("CheckWitness on a rewritten log: %v", err)
	}
}

// TestHTTPWitness runs the witness protocol end to end: a log pushes its
// checkpoints to a witness server and gets cosignatures it verifies; the
// server answers each protocol error with its status; a truncated log is
// caught through the protocol alone.
func TestHTTPWitness(t *testing.T) {
	skey, vkey, err := GenerateCosigner("witness.example/w1")
	if err != nil {
		t.Fatal(err)
	}
	cos, err := NewCosigner(skey)
	if err != nil {
		t.Fatal(err)
	}
	cv, err := NewCosignatureVerifier(vkey)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	_, v, _ := LoadOrCreateKeys(dir)
	store := &DirWitness{Dir: t.TempDir(), Logs: note.VerifierList(v), Cosigner: cos}
	srv := httptest.NewServer(WitnessHandler("/w", store))
	defer srv.Close()
	hw := &HTTPWitness{URL: srv.URL + "/w", Key: cv}

	tl := openTestLog(t, dir, Options{CheckpointEvery: 10, Witnesses: []Witness{hw}})
	appendN(t, tl, 20, false)
	tl.log.Checkpoint(context.Background())
	tl.log.Close()
	if st := tl.log.WitnessStatus(); len(st) != 1 || st[0].Size != 20 || st[0].LastError != "" {
		t.Fatalf("witness status %+v", st)
	}
	held, _ := store.Latest(context.Background(), v.Name())
	n, err := note.Open(held, note.VerifierList(v, cv))
	if err != nil || len(n.Sigs) != 2 {
		t.Fatalf("the witness holds %q: %v (want the log's signature and its cosignature)", held, err)
	}

	// The protocol's refusals.
	cp := held[:bytes.LastIndex(held, []byte("— witness"))]
	post := func(body string) (int, string, string) {
		resp, err := http.Post(srv.URL+"/w/add-checkpoint", "text/plain", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, resp.Header.Get("Content-Type"), string(b)
	}
	if code, ct, body := post("old 5\n\n" + string(cp)); code != 409 || ct != "text/x.tlog.size" || body != "20\n" {
		t.Errorf("wrong old size: %d %s %q", code, ct, body)
	}
	if code, _, _ := post("old 30\n\n" + string(cp)); code != 400 {
		t.Errorf("old size above the checkpoint: %d", code)
	}
	if code, _, _ := post("garbage"); code != 400 {
		t.Errorf("malformed: %d", code)
	}
	other := t.TempDir()
	os.WriteFile(filepath.Join(other, "x"), nil, 0o600)
	s2, _, _ := LoadOrCreateKeys(other)
	foreign, _ := note.Sign(&note.Note{Text: fmt.Sprintf("%s\n5\n%s\n", s2.Name(), tlog.Hash{}.String())}, s2)
	if code, _, _ := post("old 0\n\n" + string(foreign)); code != 404 {
		t.Errorf("unknown log: %d", code)
	}
	badSig := bytes.Replace(cp, []byte("20\n"), []byte("21\n"), 1)
	if code, _, _ := post("old 20\n\n" + string(badSig)); code != 403 {
		t.Errorf("signature that does not verify: %d", code)
	}

	// A truncated log, checked through the protocol alone (no reads).
	cutBack(t, tl, 10)
	tr, _ := NewTreeReader(context.Background(), tl.store, tl.verifier)
	if _, err := CheckWitness(context.Background(), tr, protocolOnly{hw}); !errors.Is(err, ErrTruncated) {
		t.Fatalf("CheckWitness through the protocol: %v", err)
	}
}

// protocolOnly hides a witness's reader, as a third-party witness would.
type protocolOnly struct{ w Witness }

func (p protocolOnly) Name() string { return p.w.Name() }
func (p protocolOnly) AddCheckpoint(ctx context.Context, old int64, proof tlog.TreeProof, cp []byte) ([]byte, error) {
	return p.w.AddCheckpoint(ctx, old, proof, cp)
}

// TestCosignatureKeys: keys round-trip, a cosignature verifies only for
// its checkpoint, and keys with a wrong hash are refused.
func TestCosignatureKeys(t *testing.T) {
	skey, vkey, err := GenerateCosigner("w.example/a")
	if err != nil {
		t.Fatal(err)
	}
	c, _ := NewCosigner(skey)
	v, _ := NewCosignatureVerifier(vkey)
	body := []byte("log.example\n3\n" + tlog.Hash{}.String() + "\n")
	sig, _ := c.Sign(body)
	if !v.Verify(body, sig) || v.Verify(append(body, 'x'), sig) || c.KeyHash() != v.KeyHash() {
		t.Fatal("cosignature does not verify as it should")
	}
	if _, ok := CosignatureTime(sig); !ok {
		t.Error("no timestamp")
	}
	name, rest, _ := strings.Cut(vkey, "+")
	if _, err := NewCosignatureVerifier(name + "+00000000" + rest[8:]); err == nil {
		t.Error("a verifier key with a wrong hash was accepted")
	}
	if _, err := NewCosigner(vkey); err == nil {
		t.Error("a verifier key was accepted as a private key")
	}
}

// FuzzDecodeAddCheckpoint: the witness parses any request body without
// panicking, and what it accepts renders back to the same body.
func FuzzDecodeAddCheckpoint(f *testing.F) {
	f.Add([]byte("old 0\n\nlog\n1\nAAAA\n\n— log sig\n"))
	f.Add([]byte("old 12\n" + tlog.Hash{}.String() + "\n\ncp"))
	f.Add([]byte("old -1\n\n"))
	f.Fuzz(func(t *testing.T, body []byte) {
		old, proof, cp, err := DecodeAddCheckpoint(body)
		if err != nil {
			if !errors.Is(err, ErrWitnessBadRequest) {
				t.Fatalf("error %v is not a bad request", err)
			}
			return
		}
		if got := EncodeAddCheckpoint(old, proof, cp); !bytes.Equal(got, body) {
			t.Fatalf("re-encoded %q as %q", body, got)
		}
	})
}
