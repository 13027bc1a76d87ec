package server

import (
	"context"
	"database/sql"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/modelgate/modelgate/audit"
	"github.com/modelgate/modelgate/config"
	"golang.org/x/mod/sumdb/tlog"
)

// TestServerRefusesATruncatedLog: a server with a directory witness
// pushes its checkpoints there; after its log is cut back to an earlier
// checkpoint (the attack that verifies on its own), it will not start.
func TestServerRefusesATruncatedLog(t *testing.T) {
	wdir := t.TempDir()
	f := newAuditFixture(t, func(c *config.Config) {
		c.Audit.Witnesses = []config.Witness{{Dir: wdir}}
		c.Audit.CheckpointEvery = 5
	})
	auth := []string{"Authorization", "Bearer " + f.key}
	for range 12 {
		if resp, out := f.post(body, auth...); resp.StatusCode != 200 {
			t.Fatalf("%d %s", resp.StatusCode, out)
		}
		f.waitSequenced() // one small batch per request, to cut between
	}
	path := f.srv.auditDB.(interface{ Path() string }).Path()
	dataDir := f.srv.cfg.DataDir
	f.stop()

	held, _ := os.ReadDir(wdir)
	if len(held) < 2 { // the checkpoint and the lock
		t.Fatalf("the witness directory holds %d files", len(held))
	}
	raw, err := sql.Open("sqlite", path+"?_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	for _, q := range []string{`DELETE FROM audit_batches WHERE first >= 5`, `DELETE FROM audit_hashes WHERE first >= ?`, `DELETE FROM audit_checkpoints WHERE size > 5`} {
		if _, err := raw.Exec(q, tlog.StoredHashIndex(0, 5)); err != nil {
			t.Fatal(err)
		}
	}
	again := testConfig(t)
	again.DataDir = dataDir
	again.Audit.Witnesses = []config.Witness{{Dir: wdir}}
	_, err = New(context.Background(), again, quiet())
	if !errors.Is(err, audit.ErrTruncated) {
		t.Fatalf("New on a truncated log: %v, want a refusal", err)
	}
	if !strings.Contains(err.Error(), wdir) {
		t.Errorf("the refusal does not name the witness: %v", err)
	}
}

// TestWitnessServerOnAdminListener: a server can witness other logs on its
// admin listener, over the tlog-witness protocol.
func TestWitnessServerOnAdminListener(t *testing.T) {
	keys := t.TempDir()
	skey, vkey, err := audit.GenerateCosigner("witness.test/a")
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(keys, "witness.key"), []byte(skey), 0o600)
	logDir := t.TempDir()
	_, v, _ := audit.LoadOrCreateKeys(logDir)
	vk, _ := os.ReadFile(filepath.Join(logDir, audit.VerifierKeyFile))
	wsDir := t.TempDir()
	f := newAuditFixture(t, func(c *config.Config) {
		c.Audit.WitnessServer = &config.WitnessServer{Dir: wsDir, KeyFile: filepath.Join(keys, "witness.key"), Logs: []string{strings.TrimSpace(string(vk))}}
	})
	cv, _ := audit.NewCosignatureVerifier(vkey)
	hw := &audit.HTTPWitness{URL: "http://" + f.srv.AdminAddr().String() + witnessPrefix, Key: cv}

	// A log elsewhere witnessed by this server.
	l, db, err := OpenAudit(context.Background(), logDir, audit.Options{Witnesses: []audit.Witness{hw}})
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		l.Append(context.Background(), &audit.Event{Action: audit.ActionConfigLoad, Actor: audit.Actor{Kind: audit.ActorSystem}})
	}
	l.Checkpoint(context.Background())
	l.Close()
	db.Close()
	if st := l.WitnessStatus(); st[0].Size != 3 || st[0].LastError != "" {
		t.Fatalf("witness status %+v", st)
	}
	resp, err := http.Get(hw.URL + "/checkpoint?origin=" + v.Name())
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("reading the witnessed checkpoint: %v %v", resp, err)
	}
	resp.Body.Close()
}
