package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/modelgate/modelgate/internal/pgtest"
	"github.com/modelgate/modelgate/internal/sarifschema"
)

const completeCard = `---
license: apache-2.0
---
# Fraud detector
## Intended Uses
Scoring transactions for analyst review.
### Out-of-Scope Use
Closing accounts automatically.
## Training Data
Twelve months of labelled transactions.
## Evaluation Results
Accuracy 0.94 on the holdout.
## Bias, Risks, and Limitations
Under-represents merchants outside the EU.
## Model Card Contact
ml-platform@example.com
`

// registryFixture makes a signed model and a data directory that trusts
// its key.
func registryFixture(t *testing.T) (dataDir, model string) {
	t.Helper()
	dir := t.TempDir()
	dataDir, model = filepath.Join(dir, "data"), filepath.Join(dir, "fraud")
	if err := os.MkdirAll(model, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, body := range map[string]string{"config.json": `{"layers":2}`, "README.md": completeCard, "weights.bin": strings.Repeat("w", 1000)} {
		if err := os.WriteFile(filepath.Join(model, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	keys := filepath.Join(dir, "keys")
	for _, args := range [][]string{
		{"keygen", "--out", keys},
		{"sign", model, "--key", filepath.Join(keys, "private.pem")},
		{"models", "trust", filepath.Join(keys, "public.pem"), "--data-dir", dataDir},
	} {
		if code, _, stderr := cli(t, args...); code != 0 {
			t.Fatalf("%v: %d %s", args, code, stderr)
		}
	}
	return dataDir, model
}

func TestModelsCLI(t *testing.T) {
	data, model := registryFixture(t)
	dd := []string{"--data-dir", data}
	run := func(want int, args ...string) string {
		t.Helper()
		code, out, errOut := cli(t, append(args, dd...)...)
		if code != want {
			t.Fatalf("%v: exit %d, want %d\n%s%s", args, code, want, out, errOut)
		}
		return out + errOut
	}
	// Commands that read the registry refuse a data directory without one.
	if code, _, stderr := cli(t, "models", "list", "--data-dir", filepath.Join(t.TempDir(), "none")); code != 2 || !strings.Contains(stderr, "no registry") {
		t.Fatalf("list without a registry: %d %s", code, stderr)
	}
	out := run(0, "models", "register", "fraud", "--version", "1", "--path", model, "--card", filepath.Join(model, "README.md"), "--risk-tier", "high")
	if !strings.Contains(out, "signature valid") || !strings.Contains(out, "card      100% complete") {
		t.Fatalf("register:\n%s", out)
	}
	out = run(1, "gate", "fraud@1")
	if !strings.Contains(out, "DENY fraud@1") || !strings.Contains(out, "a high-risk model needs a threat model") {
		t.Fatalf("gate:\n%s", out)
	}
	out = run(1, "gate", "fraud@1", "--format", "json")
	var dec struct {
		Allow      bool     `json:"allow"`
		Violations []string `json:"violations"`
	}
	if err := json.Unmarshal([]byte(out[:strings.LastIndex(out, "}")+1]), &dec); err != nil || dec.Allow || len(dec.Violations) != 3 {
		t.Fatalf("gate json: %v\n%s", err, out)
	}
	out = run(1, "gate", "fraud@1", "--format", "sarif")
	if !strings.Contains(out, `"ruleId": "gate/threat-model-missing"`) {
		t.Fatalf("gate sarif:\n%s", out)
	}
	if err := sarifschema.Validate([]byte(out[:strings.LastIndex(out, "}")+1])); err != nil {
		t.Errorf("the gate's SARIF does not validate: %v", err)
	}
	// A high-risk model's threat-model reference must be a threat model
	// file, and the file must pass against the registry's own state.
	run(0, "models", "register", "fraud", "--version", "8", "--path", model, "--card", filepath.Join(model, "README.md"),
		"--risk-tier", "high", "--threat-model", "TM-1", "--metric", "demographic_parity_difference=0.01", "--metric", "equalized_odds_difference=0.02")
	if out := run(1, "gate", "fraud@8"); !strings.Contains(out, `"TM-1" is not a threat model file`) {
		t.Errorf("a ticket as the threat model:\n%s", out)
	}
	failing := filepath.Join(t.TempDir(), "failing.yaml")
	os.WriteFile(failing, []byte("system: {name: fraud}\nassets:\n  - {id: u, type: user}\n  - {id: fraud, type: model, ref: \"route:fraud\", tags: [classifier]}\nflows:\n  - {id: f, from: u, to: fraud, auth: none}\n"), 0o644)
	run(0, "models", "register", "fraud", "--version", "7", "--path", model, "--card", filepath.Join(model, "README.md"),
		"--risk-tier", "high", "--threat-model", failing, "--metric", "demographic_parity_difference=0.01", "--metric", "equalized_odds_difference=0.02")
	if out := run(1, "gate", "fraud@7"); !strings.Contains(out, "failing.yaml does not pass") || !strings.Contains(out, "critical") {
		t.Errorf("a threat model with open threats:\n%s", out)
	}
	tm := filepath.Join(t.TempDir(), "threatmodel.yaml")
	os.WriteFile(tm, []byte("system: {name: fraud}\nassets:\n  - {id: fraud, type: model, ref: \"registry:fraud@2\", tags: [classifier]}\n"), 0o644)
	run(0, "models", "register", "fraud", "--version", "2", "--path", model, "--card", filepath.Join(model, "README.md"),
		"--risk-tier", "high", "--threat-model", tm, "--metric", "demographic_parity_difference=0.01", "--metric", "equalized_odds_difference=0.02")
	run(2, "models", "promote", "fraud@2", "--to", "production")
	run(0, "models", "promote", "fraud@2", "--to", "staging")
	run(0, "gate", "fraud@2")
	run(0, "models", "promote", "fraud@2", "--to", "production")
	run(0, "models", "golden", "fraud@2")
	run(2, "models", "golden", "fraud@1")

	// A policy added from a directory takes effect and denies.
	pol := t.TempDir()
	if err := os.WriteFile(filepath.Join(pol, "owner.rego"), []byte("package modelgate.gate\n\nimport rego.v1\n\ndeny contains \"no production on Sundays\" if input.name == \"fraud\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out = run(1, "gate", "fraud@2", "--policy", pol)
	if !strings.Contains(out, "no production on Sundays") || !strings.Contains(out, "owner.rego") {
		t.Fatalf("gate with a user policy:\n%s", out)
	}
	run(2, "gate", "fraud@2", "--policy", filepath.Join(pol, "absent"))

	run(2, "models", "quarantine", "fraud@2")
	out = run(0, "models", "quarantine", "fraud@2", "--reason", "data exfiltration in outputs")
	if !strings.Contains(out, "quarantined: data exfiltration") {
		t.Fatalf("quarantine:\n%s", out)
	}
	run(2, "models", "rollback", "fraud") // nothing left that served
	out = run(0, "models", "show", "fraud@2")
	if !strings.Contains(out, "stage       quarantined") || !strings.Contains(out, "reason      data exfiltration") {
		t.Fatalf("show:\n%s", out)
	}
	out = run(0, "models", "history", "fraud")
	for _, want := range []string{"model.register", "model.gate", "model.promote", "model.golden", "model.quarantine"} {
		if !strings.Contains(out, want) {
			t.Errorf("history lacks %s:\n%s", want, out)
		}
	}
	// Every change is in the audit log, which still verifies.
	out = run(0, "audit", "tail", "-n", "100")
	// Re-signing with the data directory's log in place is recorded too.
	keys := filepath.Join(filepath.Dir(data), "keys")
	run(0, "sign", model, "--key", filepath.Join(keys, "private.pem"))
	out = run(0, "audit", "tail", "-n", "100")
	for _, want := range []string{"model.sign", "registry.trust", "policy.change", "model.register", "model.gate", "model.promote", "model.golden", "model.quarantine"} {
		if !strings.Contains(out, want) {
			t.Errorf("audit log lacks %s:\n%s", want, out)
		}
	}
	run(0, "audit", "verify")

	// The AI-BOM names the model, its files and the packages beside it.
	if err := os.WriteFile(filepath.Join(model, "requirements.txt"), []byte("torch==2.4.1\nnumpy\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out = run(0, "bom", "fraud@2")
	for _, want := range []string{`"specVersion": "1.6"`, `"type": "machine-learning-model"`, `"purl": "pkg:pypi/torch@2.4.1"`, `"name": "modelgate:unpinned"`} {
		if !strings.Contains(out, want) {
			t.Errorf("bom lacks %s", want)
		}
	}
	bomFile := filepath.Join(t.TempDir(), "bom.json")
	if out = run(0, "bom", "fraud@2", "--out", bomFile); !strings.Contains(out, "2 Python packages (1 unpinned)") {
		t.Errorf("bom --out: %s", out)
	}
	run(2, "models", "show", "fraud@9")
	run(2, "models", "promote", "fraud@1", "--to", "deployed")
}

func TestDatasetsCLI(t *testing.T) {
	data, model := registryFixture(t)
	dir := t.TempDir()
	csv := filepath.Join(dir, "train.csv")
	contract := filepath.Join(dir, "c.yaml")
	os.WriteFile(csv, []byte("id,amount\n1,10\n2,-5\n"), 0o644)
	os.WriteFile(contract, []byte("apiVersion: v3.0.2\nkind: DataContract\nid: t\nschema:\n  - name: t\n    properties:\n      - {name: amount, logicalType: number, minimum: 0}\n"), 0o644)
	code, out, stderr := cli(t, "datasets", "register", "train", "--version", "1", "--path", csv, "--contract", contract, "--data-dir", data)
	if code != 0 || !strings.Contains(out, "contract failed") {
		t.Fatalf("%d %s %s", code, out, stderr)
	}
	code, _, stderr = cli(t, "models", "register", "fraud", "--version", "1", "--path", model, "--dataset", "train@2", "--data-dir", data)
	if code != 2 || !strings.Contains(stderr, "train@2") {
		t.Fatalf("unknown dataset: %d %s", code, stderr)
	}
	cli(t, "models", "register", "fraud", "--version", "1", "--path", model, "--card", filepath.Join(model, "README.md"), "--dataset", "train@1", "--data-dir", data)
	code, out, _ = cli(t, "gate", "fraud@1", "--data-dir", data)
	if code != 1 || !strings.Contains(out, "dataset train@1 fails its data contract (failed)") {
		t.Fatalf("gate: %d %s", code, out)
	}
	code, out, _ = cli(t, "datasets", "list", "--data-dir", data)
	if code != 0 || !strings.Contains(out, "train") || !strings.Contains(out, "failed") {
		t.Fatalf("list: %d %s", code, out)
	}
	// The dataset found bad: which models learnt from it.
	code, out, _ = cli(t, "datasets", "lineage", "train@1", "--data-dir", data)
	if code != 0 || !regexp.MustCompile(`fraud@1\s+\w+\s+false\s+train@1`).MatchString(out) {
		t.Fatalf("lineage: %d %s", code, out)
	}
	if _, out, _ = cli(t, "datasets", "lineage", "train@9", "--data-dir", data); !strings.Contains(out, "no registered model") {
		t.Errorf("lineage of another version: %s", out)
	}
}

// TestCommandsOnPostgres: with --postgres-dsn-env the commands that change
// state work on the store replicas share, and record in its audit log.
func TestCommandsOnPostgres(t *testing.T) {
	dsn := pgtest.DSN(t)
	t.Setenv("MG_TEST_CLI_PG", dsn)
	data, model := registryFixture(t)
	pg := []string{"--data-dir", data, "--postgres-dsn-env", "MG_TEST_CLI_PG"}
	run := func(want int, args ...string) string {
		t.Helper()
		code, out, errOut := cli(t, append(args, pg...)...)
		if code != want {
			t.Fatalf("%v: exit %d, want %d\n%s%s", args, code, want, out, errOut)
		}
		return out
	}
	run(0, "keys", "create", "--name", "ops", "--scopes", "admin", "--models", "*")
	if out := run(0, "keys", "list"); !strings.Contains(out, "ops") {
		t.Fatalf("keys list:\n%s", out)
	}
	run(0, "models", "register", "fraud", "--version", "1", "--path", model, "--card", filepath.Join(model, "README.md"), "--risk-tier", "low")
	run(0, "models", "promote", "fraud@1", "--to", "staging")
	run(0, "models", "promote", "fraud@1", "--to", "production")
	if out := run(0, "models", "list"); !strings.Contains(out, "production") {
		t.Fatalf("models list:\n%s", out)
	}
	// Nothing went to the data directory's SQLite store.
	if _, err := os.Stat(filepath.Join(data, "modelgate.db")); err == nil {
		if code, out, _ := cli(t, "models", "list", "--data-dir", data); code == 0 && strings.Contains(out, "fraud") {
			t.Fatal("the registry was written to SQLite")
		}
	}
	out := run(0, "audit", "verify")
	if !strings.Contains(out, "OK:") {
		t.Fatalf("audit verify:\n%s", out)
	}
	out = run(0, "audit", "tail", "-n", "50")
	for _, want := range []string{"key.create", "model.register", "model.promote"} {
		if !strings.Contains(out, want) {
			t.Errorf("the shared audit log lacks %s:\n%s", want, out)
		}
	}
}
