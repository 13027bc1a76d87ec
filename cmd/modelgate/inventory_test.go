package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/modelgate/modelgate/internal/cdxschema"
	"github.com/modelgate/modelgate/internal/pgtest"
	"github.com/modelgate/modelgate/internal/sarifschema"
	"github.com/modelgate/modelgate/inventory"
)

// A protocol 4 pickle of {"a": 1} and of {"b": 2}.
const (
	pickleA = "\x80\x04\x95\n\x00\x00\x00\x00\x00\x00\x00}\x94\x8c\x01a\x94K\x01s."
	pickleB = "\x80\x04\x95\n\x00\x00\x00\x00\x00\x00\x00}\x94\x8c\x01b\x94K\x02s."
)

// inventoryFixture is an estate: a registered, signed model, and an
// unregistered one.
func inventoryFixture(t *testing.T) (tree, data string) {
	t.Helper()
	dir := t.TempDir()
	tree, data = filepath.Join(dir, "estate"), filepath.Join(dir, "data")
	files := map[string]string{
		"models/fraud/weights.pkl": pickleA,
		"models/fraud/README.md":   completeCard,
		"scratch/experiment.bin":   pickleB,
	}
	for name, body := range files {
		p := filepath.Join(tree, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	keys := filepath.Join(dir, "keys")
	model := filepath.Join(tree, "models", "fraud")
	for _, args := range [][]string{
		{"keygen", "--out", keys},
		{"sign", model, "--key", filepath.Join(keys, "private.pem")},
		{"models", "trust", filepath.Join(keys, "public.pem"), "--data-dir", data},
		{"models", "register", "fraud", "--version", "1", "--path", model, "--card", filepath.Join(model, "README.md"), "--risk-tier", "low", "--data-dir", data},
	} {
		if code, out, stderr := cli(t, args...); code != 0 {
			t.Fatalf("%v: %d %s%s", args, code, out, stderr)
		}
	}
	return tree, data
}

func TestInventoryCLI(t *testing.T) {
	tree, data := inventoryFixture(t)
	run := func(want int, args ...string) string {
		t.Helper()
		code, out, errOut := cli(t, append(args, "--data-dir", data)...)
		if code != want {
			t.Fatalf("%v: exit %d, want %d\n%s%s", args, code, want, out, errOut)
		}
		return out
	}

	// The unregistered model is a medium finding: exit 1 at the default
	// threshold, 0 at high.
	out := run(1, "inventory", "scan", tree, "--format", "json")
	var inv inventory.Inventory
	if err := json.Unmarshal([]byte(out), &inv); err != nil {
		t.Fatalf("scan json: %v\n%s", err, out)
	}
	status := map[string]*inventory.Status{}
	for _, a := range inv.Assets {
		if a.Kind == inventory.KindModel {
			status[filepath.Base(a.Path)] = a.Status
		}
	}
	if st := status["weights.pkl"]; st == nil || st.Registered != "fraud@1" || st.Signature != "valid" || st.Stage != "candidate" || st.Scan != "clean" {
		t.Errorf("registered model's status: %+v", st)
	}
	if st := status["experiment.bin"]; st == nil || st.Registered != "" {
		t.Errorf("unregistered model's status: %+v", st)
	}
	run(0, "inventory", "scan", tree, "--fail-on", "high")
	if out := run(1, "inventory", "scan", tree); !strings.Contains(out, "INV-MODEL-UNKNOWN") || !strings.Contains(out, "fraud@1 candidate, sig valid") {
		t.Errorf("table:\n%s", out)
	}
	if err := cdxschema.Validate([]byte(run(1, "inventory", "scan", tree, "--format", "cyclonedx"))); err != nil {
		t.Errorf("the AI-BOM does not validate: %v", err)
	}
	if err := sarifschema.Validate([]byte(run(1, "inventory", "scan", tree, "--format", "sarif"))); err != nil {
		t.Errorf("the SARIF does not validate: %v", err)
	}

	// A file name that is not UTF-8 does not stop a JSON report.
	if err := os.WriteFile(filepath.Join(tree, "scratch", "odd\xff.pkl"), []byte(pickleB), 0o644); err != nil {
		t.Fatal(err)
	}
	if out := run(1, "inventory", "scan", tree, "--format", "json"); !json.Valid([]byte(out)) || !strings.Contains(out, `odd\ufffd.pkl`) {
		t.Errorf("a non-UTF-8 name: %s", out)
	}
	os.Remove(filepath.Join(tree, "scratch", "odd\xff.pkl"))

	// Bad input is exit 2.
	run(2, "inventory", "scan", filepath.Join(tree, "missing"))
	run(2, "inventory", "scan", tree, "--format", "xml")
	run(2, "inventory", "diff", "nope", "latest")

	// Snapshots: two, with an AI key added between them.
	before := filepath.Join(t.TempDir(), "before.json")
	run(1, "inventory", "scan", tree, "--format", "json", "--out", before)
	if out := run(0, "inventory", "snapshot", tree); !strings.Contains(out, "snapshot ") {
		t.Fatalf("snapshot: %s", out)
	}
	k := "sk-ant-api03-" + strings.Repeat("Zq7xK2mP9vR4tW1y", 6)[:93] + "AA"
	if err := os.WriteFile(filepath.Join(tree, "scratch", ".env"), []byte("ANTHROPIC_API_KEY="+k+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	run(0, "inventory", "snapshot", tree)
	if out := run(0, "inventory", "list"); strings.Count(out, "\n") != 3 {
		t.Errorf("list:\n%s", out)
	}
	// A threat model drafted here takes the latest snapshot's models,
	// datasets and servers.
	if out := run(0, "threat", "init", "--name", "estate"); !strings.Contains(out, "from-inventory") || !strings.Contains(out, "type: model") || !strings.Contains(out, "unregistered") {
		t.Errorf("threat init with an inventory:\n%s", out)
	}
	if out := run(0, "threat", "init", "--name", "estate", "--inventory", "none"); strings.Contains(out, "from-inventory") {
		t.Errorf("threat init --inventory none:\n%s", out)
	}
	out = run(0, "inventory", "show", "latest", "--format", "json")
	if err := json.Unmarshal([]byte(out), &inv); err != nil || inv.ID == "" || inv.Count(inventory.KindKey) != 1 {
		t.Errorf("show latest: %v %+v", err, inv.Stats)
	}
	if strings.Contains(out, k) {
		t.Fatal("the key's value is in the snapshot")
	}
	out = run(1, "inventory", "diff", "latest~1", "latest")
	if !strings.Contains(out, "+ ai-key") || !strings.Contains(out, "INV-AI-KEY") {
		t.Errorf("diff:\n%s", out)
	}
	run(0, "inventory", "diff", "latest~1", "latest", "--fail-on", "critical")
	run(0, "inventory", "diff", "latest~1", "latest", "--fail-on", "none")
	run(0, "inventory", "diff", "latest", "latest")
	run(1, "inventory", "diff", before, "latest")
	run(2, "inventory", "diff", "latest~5", "latest")

	// The snapshots are events of the audit log, which still verifies.
	if out := run(0, "audit", "verify"); !strings.Contains(out, "OK:") {
		t.Errorf("audit verify:\n%s", out)
	}
}

// TestInventoryOnPostgres keeps snapshots in the store replicas share.
func TestInventoryOnPostgres(t *testing.T) {
	dsn := pgtest.DSN(t)
	t.Setenv("MG_TEST_INV_PG", dsn)
	tree, data := inventoryFixture(t)
	pg := []string{"--data-dir", data, "--postgres-dsn-env", "MG_TEST_INV_PG"}
	code, out, errOut := cli(t, append([]string{"inventory", "snapshot", tree}, pg...)...)
	if code != 0 {
		t.Fatalf("snapshot: %d %s%s", code, out, errOut)
	}
	id := strings.Fields(out)[1]
	id = strings.TrimSuffix(id, ":")
	code, out, errOut = cli(t, append([]string{"inventory", "list"}, pg...)...)
	if code != 0 || !strings.Contains(out, id) {
		t.Fatalf("list on PostgreSQL: %d %s%s", code, out, errOut)
	}
	code, out, _ = cli(t, append([]string{"inventory", "show", id, "--format", "json"}, pg...)...)
	var inv inventory.Inventory
	if code != 0 || json.Unmarshal([]byte(out), &inv) != nil || inv.ID != id {
		t.Fatalf("show on PostgreSQL: %d %s", code, out)
	}
}
