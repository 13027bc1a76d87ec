package inventory

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"path/filepath"
	"testing"
	"time"

	"github.com/modelgate/modelgate/finding"
	"github.com/modelgate/modelgate/internal/cdxschema"
	"github.com/modelgate/modelgate/internal/osvtest"
	"github.com/modelgate/modelgate/internal/sarifschema"
	"github.com/modelgate/modelgate/modelscan"
	"github.com/modelgate/modelgate/registry"
	"github.com/modelgate/modelgate/registry/bom"
	"github.com/modelgate/modelgate/store"
	"github.com/modelgate/modelgate/supplychain/vulndb"
)

func sha(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func registeredModel(name, version, path string, body []byte, stage registry.Stage, signed bool) *registry.Model {
	return &registry.Model{Name: name, Version: version, Path: path, Stage: stage,
		Manifest:  registry.Manifest{Files: []registry.File{{Name: filepath.Base(path), Size: int64(len(body)), SHA256: sha(body)}}},
		Signature: registry.Signature{Signed: signed, Valid: signed},
		Scan:      registry.ScanSummary{Scanned: true, BySeverity: map[string]int{}}}
}

func TestAssess(t *testing.T) {
	dir := t.TempDir()
	served := write(t, dir, "prod/fraud.pkl", pickleProto4)
	changed := write(t, dir, "prod/churn.pkl", pickleProto4)
	unknown := write(t, dir, "scratch/mine.pkl", []byte("\x80\x04\x95\n\x00\x00\x00\x00\x00\x00\x00}\x94\x8c\x01b\x94K\x02s."))
	evil := write(t, dir, "scratch/evil.bin", pickleCallsSystem)
	copyOf := write(t, dir, "copies/fraud-copy.pkl", pickleProto4)
	ev := Evidence{
		Models: []*registry.Model{
			registeredModel("fraud", "3", served, pickleProto4, registry.Production, true),
			registeredModel("churn", "1", changed, []byte("what was registered"), registry.Staging, false),
		},
		Routes: []*store.Route{{Model: "fraud-detector", Registry: "fraud"}, {Model: "other", Upstream: store.Upstream{Model: "someone/else"}}},
		Calls:  map[string]Calls{"fraud-detector": {N: 42, Last: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)}},
	}
	inv := scan(t, &Scanner{Hash: true}, dir)
	if err := inv.Assess(context.Background(), ev); err != nil {
		t.Fatal(err)
	}
	get := func(p string) Asset {
		t.Helper()
		as := byPath(inv, p)[KindModel]
		if len(as) != 1 {
			t.Fatalf("%s: %d models", p, len(as))
		}
		return as[0]
	}

	a := get(served)
	if st := a.Status; st.Registered != "fraud@3" || st.Stage != "production" || st.Signature != "valid" || st.Calls != 42 ||
		len(st.Routes) != 1 || st.Routes[0] != "fraud-detector" || st.Changed {
		t.Errorf("served model: %+v", st)
	}
	if len(a.Findings) != 0 {
		t.Errorf("served, signed, scanned model has findings: %+v", a.Findings)
	}

	c := get(changed)
	if !c.Status.Changed || !hasRule(c, "INV-MODEL-CHANGED") || !hasRule(c, "INV-MODEL-UNSIGNED") {
		t.Errorf("changed model: %+v %+v", c.Status, c.Findings)
	}

	u := get(unknown)
	if u.Status.Registered != "" || !hasRule(u, "INV-MODEL-UNKNOWN") || !hasRule(u, "INV-MODEL-UNSCANNED") {
		t.Errorf("unknown model: %+v %+v", u.Status, u.Findings)
	}

	cp := get(copyOf)
	if cp.Status.Registered != "fraud@3" {
		t.Errorf("a copy of a registered file (same SHA-256) is not matched: %+v", cp.Status)
	}

	// With the scanner, the malicious pickle is a finding as severe as
	// the scanner's.
	inv = scan(t, nil, dir)
	ev.Scanner = &modelscan.Scanner{}
	if err := inv.Assess(context.Background(), ev); err != nil {
		t.Fatal(err)
	}
	e := get(evil)
	if e.Status.Scan != "findings" || !hasRule(e, "INV-MODEL-SCAN") {
		t.Fatalf("malicious pickle: %+v %+v", e.Status, e.Findings)
	}
	for _, f := range e.Findings {
		if f.RuleID == "INV-MODEL-SCAN" && f.Severity < finding.High {
			t.Errorf("os.system in a pickle is only %s", f.Severity)
		}
	}
	if get(unknown).Status.Scan != "clean" || hasRule(get(unknown), "INV-MODEL-UNSCANNED") {
		t.Errorf("scanned model still unscanned: %+v", get(unknown))
	}
}

// TestOutputsValidate writes an inventory with every kind of asset as a
// CycloneDX 1.6 BOM and as SARIF, and validates both against their
// schemas.
func TestOutputsValidate(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "hub/models--org--m/snapshots/r1/model.safetensors", safetensors(t, map[string][]int64{"w": {2, 2}}, 8))
	write(t, dir, "hub/models--org--m/snapshots/r1/README.md", []byte("---\nlicense: apache-2.0\npipeline_tag: text-generation\nbase_model: org/base\n---\n# m\n"))
	write(t, dir, "data/people.csv", []byte("name,email\nAnn,ann@example.com\nBob,bob@example.org\n"))
	write(t, dir, "app/main.py", []byte("from openai import OpenAI\nc = OpenAI(base_url=\"http://gateway.internal:8080/v1\")\nc.chat.completions.create(model=\"org/m\", messages=[])\n"))
	write(t, dir, "k8s/serve.yaml", []byte("apiVersion: serving.kserve.io/v1beta1\nkind: InferenceService\nmetadata: {name: m}\nspec:\n  predictor:\n    model:\n      modelFormat: {name: huggingface}\n      storageUri: hf://org/m\n"))
	write(t, dir, ".vscode/mcp.json", []byte("{\n  // servers\n  \"servers\": {\"api\": {\"type\": \"http\", \"url\": \"http://tools.example.com/mcp\",},},\n}\n"))
	write(t, dir, "app/requirements.txt", []byte("openai==1.55.0\ntorch>=2.3\n"))
	write(t, dir, "app/.env", []byte("OPENAI_API_KEY="+key("sk-proj-", 74, alnum)+"T3BlbkFJ"+key("", 74, alnum)+"\n"))
	inv := scan(t, nil, dir)
	if err := inv.Assess(context.Background(), Evidence{}); err != nil {
		t.Fatal(err)
	}
	for _, k := range []Kind{KindModel, KindModelCard, KindDataset, KindCode, KindServing, KindMCP, KindPackages, KindKey} {
		if inv.Count(k) == 0 {
			t.Errorf("no %s found", k)
		}
	}
	m := inv.Assets[slicesIndex(inv, KindModel)]
	if m.Attrs["license"] != "apache-2.0" || m.Attrs["card"] == "" {
		t.Errorf("model card not linked to its model: %v", m.Attrs)
	}
	var buf bytes.Buffer
	if err := writeBOM(&buf, inv); err != nil {
		t.Fatal(err)
	}
	if err := cdxschema.Validate(buf.Bytes()); err != nil {
		t.Fatalf("BOM does not validate: %v\n%s", err, buf.String())
	}
	var doc struct {
		Components []struct {
			Type string `json:"type"`
			PURL string `json:"purl"`
		} `json:"components"`
		Services []struct {
			Name string `json:"name"`
		} `json:"services"`
		Vulnerabilities []struct {
			ID string `json:"id"`
		} `json:"vulnerabilities"`
	}
	json.Unmarshal(buf.Bytes(), &doc)
	types := map[string]int{}
	for _, c := range doc.Components {
		types[c.Type]++
	}
	if types["machine-learning-model"] != 1 || types["data"] != 1 || types["library"] != 2 {
		t.Errorf("component types %v", types)
	}
	if len(doc.Services) < 3 { // the InferenceService, the MCP server, the gateway the code calls
		t.Errorf("services %+v", doc.Services)
	}
	buf.Reset()
	if err := finding.WriteSARIF(&buf, inv.Report(), "modelgate", "test"); err != nil {
		t.Fatal(err)
	}
	if err := sarifschema.Validate(buf.Bytes()); err != nil {
		t.Fatalf("SARIF does not validate: %v", err)
	}
}

func slicesIndex(inv *Inventory, k Kind) int {
	for i, a := range inv.Assets {
		if a.Kind == k {
			return i
		}
	}
	return -1
}

func writeBOM(buf *bytes.Buffer, inv *Inventory) error {
	return bomWrite(buf, inv.BOM("test"))
}

var bomWrite = bom.Write

// TestPackagesPatchStatus gives declared packages their vulnerability
// findings when a database is present.
func TestPackagesPatchStatus(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "app/requirements.txt", []byte("torch==2.3.0\nnumpy>=1.26\n"))
	exp := filepath.Join(t.TempDir(), "all.zip")
	osvtest.Write(t, exp, osvtest.Advisory("GHSA-t", "torch", "introduced", "0", "fixed", "2.6.0").
		With("database_specific", map[string]string{"severity": "HIGH"}))
	idx := filepath.Join(t.TempDir(), vulndb.FileName)
	if _, err := vulndb.Import(idx, []string{exp}, time.Now()); err != nil {
		t.Fatal(err)
	}
	db, err := vulndb.Open(idx)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	inv := scan(t, nil, dir)
	if err := inv.Assess(context.Background(), Evidence{VulnDB: db}); err != nil {
		t.Fatal(err)
	}
	pk := inv.Assets[slicesIndex(inv, KindPackages)]
	if !hasRule(pk, "DEP-VULN") || pk.Attrs["vulnerability_findings"] != "1" || hasRule(pk, "DEP-UNPINNED") {
		t.Errorf("python-deps: %+v %+v", pk.Attrs, pk.Findings)
	}
}
