package main

import (
	"database/sql"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/modelgate/modelgate/store/sqlite"
	"golang.org/x/mod/sumdb/tlog"
	_ "modernc.org/sqlite"
)

// TestVerifyWithWitness: a server pushes its checkpoints to a directory
// witness; audit verify --witness confirms the log extends them, and
// after the log is cut back (which plain verify cannot see) says so and
// exits 1; the server then refuses to start.
func TestVerifyWithWitness(t *testing.T) {
	if testing.Short() {
		t.Skip("starts server processes")
	}
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"choices":[{"message":{"content":"ok"}}]}`)
	}))
	defer upstream.Close()
	wdir := filepath.Join(t.TempDir(), "witness")
	g := newGateway(t, upstream.URL, fmt.Sprintf("audit:\n  checkpoint_every: 4\n  witnesses:\n    - dir: %s\n", wdir))
	data, key, listen := g.data, g.key, g.listen
	srv := g.start(t)
	for range 10 {
		req, _ := http.NewRequest("POST", "http://"+listen+"/v1/chat/completions", strings.NewReader(`{"model":"m","messages":[{"role":"user","content":"hi"}]}`))
		req.Header.Set("Authorization", "Bearer "+key)
		resp, err := http.DefaultClient.Do(req)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("%v %v", resp, err)
		}
		resp.Body.Close()
		waitSequenced(t, data) // one small batch per request, to cut between
	}
	srv.stop(t)
	if code, out, errOut := cli(t, "audit", "verify", "--data-dir", data, "--witness", wdir); code != 0 || !strings.Contains(out, "witnessed:") {
		t.Fatalf("verify with the witness: %d\n%s%s", code, out, errOut)
	}

	raw, err := sql.Open("sqlite", filepath.Join(data, sqlite.AuditFileName))
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{`DELETE FROM audit_batches WHERE first >= 4`, `DELETE FROM audit_hashes WHERE first >= ?`, `DELETE FROM audit_checkpoints WHERE size > 4`} {
		if _, err := raw.Exec(q, tlog.StoredHashIndex(0, 4)); err != nil {
			t.Fatal(err)
		}
	}
	raw.Close()
	if code, out, errOut := cli(t, "audit", "verify", "--data-dir", data); code != 0 {
		t.Fatalf("the cut-back log should verify on its own (that is the attack): %d %s%s", code, out, errOut)
	}
	code, out, _ := cli(t, "audit", "verify", "--data-dir", data, "--witness", wdir)
	if code != 1 || !strings.Contains(out, "truncated") {
		t.Fatalf("verify --witness on the cut-back log: %d %s", code, out)
	}
	code, _, errOut := cli(t, "serve", "--config", g.cfgPath)
	if code != 1 || !strings.Contains(errOut, "truncated") {
		t.Fatalf("serve on the cut-back log: exit %d: %s", code, errOut)
	}
}
