package bom

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/modelgate/modelgate/finding"
	"github.com/modelgate/modelgate/internal/cdxschema"
	"github.com/modelgate/modelgate/registry"
	"github.com/modelgate/modelgate/registry/card"
	"github.com/modelgate/modelgate/supplychain/deps"
)

func sampleModel() *registry.Model {
	now := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	return &registry.Model{
		Name: "fraud", Version: "3", Path: "/models/fraud-3", Stage: registry.Production, RiskTier: "high",
		ThreatModel: "TM-12", Datasets: []string{"transactions@2026-10"},
		Metrics: map[string]float64{"accuracy": 0.94, "demographic_parity_difference": 0.04},
		Manifest: registry.Manifest{Digest: strings.Repeat("ab", 32), ShardSize: 1e9, Files: []registry.File{
			{Name: "config.json", Size: 10, Format: "unknown", SHA256: strings.Repeat("01", 32)},
			{Name: "model.safetensors", Size: 3e9, Format: "safetensors", Shards: []string{strings.Repeat("02", 32), strings.Repeat("03", 32), strings.Repeat("04", 32)}},
		}},
		Scan: registry.ScanSummary{Scanned: true, BySeverity: map[string]int{"medium": 1}, Errors: 1, Files: []finding.File{
			{Path: "/models/fraud-3/extra.pkl", Format: "pickle", Findings: []finding.Finding{{RuleID: "pickle-unknown-global",
				Severity: finding.Medium, Title: "imports a callable not on the allowlist", Location: "offset 12",
				Evidence: "mylib.helpers.load", References: []string{"CWE-502", "LLM03"}}}},
			{Path: "/models/fraud-3/broken.npy", Format: "numpy", Error: "truncated header"},
		}},
		Card: &card.Card{Fields: map[string]string{card.IntendedUse: "fraud review", card.Limitations: "EU only",
			card.OutOfScope: "automated closure", card.License: "apache-2.0"}},
		Signature: registry.Signature{Signed: true, Valid: true, Digest: strings.Repeat("cd", 32), Path: "/models/fraud-3/model.sig"},
		Gate:      &registry.GateResult{Allow: true, Violations: []string{}, At: now},
		CreatedAt: now, UpdatedAt: now,
	}
}

func TestBOMIsValidCycloneDX16(t *testing.T) {
	reqs, err := deps.ParseRequirements("requirements.txt", []byte("torch==2.4.1\nnumpy>=1.26\nscikit_learn\n"))
	if err != nil {
		t.Fatal(err)
	}
	ds := []*registry.Dataset{{Name: "transactions", Version: "2026-10", Contract: registry.ContractPassed,
		Manifest: registry.Manifest{Digest: strings.Repeat("ef", 32), Files: []registry.File{{Name: "t.parquet", SHA256: strings.Repeat("05", 32)}}}}}
	var buf bytes.Buffer
	b := Build(Input{Model: sampleModel(), Datasets: ds, Requirements: reqs, ToolVersion: "test", Now: time.Now()})
	if err := Write(&buf, b); err != nil {
		t.Fatal(err)
	}
	if err := cdxschema.Validate(buf.Bytes()); err != nil {
		t.Fatalf("the BOM is not valid CycloneDX 1.6: %v\n%s", err, buf.String())
	}

	var doc struct {
		SpecVersion string `json:"specVersion"`
		Components  []struct {
			BOMRef     string          `json:"bom-ref"`
			Type       string          `json:"type"`
			Name       string          `json:"name"`
			PURL       string          `json:"purl"`
			ModelCard  json.RawMessage `json:"modelCard"`
			Properties []struct{ Name, Value string }
			Components []struct {
				Name   string
				Hashes []struct{ Alg, Content string }
			}
		}
		Vulnerabilities []struct {
			ID   string `json:"id"`
			CWEs []int  `json:"cwes"`
		}
	}
	if err := json.Unmarshal(buf.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	if doc.SpecVersion != "1.6" {
		t.Fatalf("spec version %q", doc.SpecVersion)
	}
	model := doc.Components[0]
	var compact bytes.Buffer
	json.Compact(&compact, model.ModelCard)
	model.ModelCard = compact.Bytes()
	if model.Type != "machine-learning-model" || !bytes.Contains(model.ModelCard, []byte(`"ref":"dataset:transactions@2026-10"`)) ||
		!bytes.Contains(model.ModelCard, []byte(`"demographic_parity_difference"`)) {
		t.Fatalf("model component %+v\n%s", model, model.ModelCard)
	}
	if len(model.Components) != 2 || model.Components[0].Hashes[0].Content != strings.Repeat("01", 32) || len(model.Components[1].Hashes) != 0 {
		t.Fatalf("file components %+v", model.Components)
	}
	props := map[string]string{}
	for _, p := range model.Properties {
		props[p.Name] = p.Value
	}
	if props[propSignature] != "valid" || props[propManifest] != strings.Repeat("ab", 32) || props[propRiskTier] != "high" {
		t.Fatalf("model properties %v", props)
	}
	if doc.Components[1].Type != "data" {
		t.Fatalf("dataset component %+v", doc.Components[1])
	}
	unpinned := map[string]bool{}
	for _, c := range doc.Components[2:] {
		for _, p := range c.Properties {
			if p.Name == propUnpinned {
				unpinned[c.Name] = true
			}
		}
	}
	if len(unpinned) != 2 || !unpinned["numpy"] || !unpinned["scikit-learn"] || doc.Components[2].PURL != "pkg:pypi/torch@2.4.1" {
		t.Fatalf("libraries %+v, unpinned %v", doc.Components[2:], unpinned)
	}
	if len(doc.Vulnerabilities) != 2 || doc.Vulnerabilities[0].CWEs[0] != 502 || doc.Vulnerabilities[1].ID != "unreadable-file" {
		t.Fatalf("vulnerabilities %+v", doc.Vulnerabilities)
	}
}

// TestSchemaCatchesInvalidBOMs keeps the validation honest: the schema
// rejects what a broken writer would produce.
func TestSchemaCatchesInvalidBOMs(t *testing.T) {
	var buf bytes.Buffer
	if err := Write(&buf, Build(Input{Model: sampleModel(), ToolVersion: "test", Now: time.Now()})); err != nil {
		t.Fatal(err)
	}
	for name, edit := range map[string]func(string) string{
		"bad component type": func(s string) string {
			return strings.Replace(s, `"machine-learning-model"`, `"neural-net"`, 1)
		},
		"bad hash": func(s string) string { return strings.Replace(s, strings.Repeat("01", 32), "xyz", 1) },
		"bad severity": func(s string) string {
			return strings.Replace(s, `"severity": "medium"`, `"severity": "scary"`, 1)
		},
	} {
		if err := cdxschema.Validate([]byte(edit(buf.String()))); err == nil {
			t.Errorf("%s: the schema accepted it", name)
		}
	}
}

func TestMinimalModel(t *testing.T) {
	m := &registry.Model{Name: "m", Version: "1", Stage: registry.Candidate, RiskTier: "low",
		Manifest: registry.Manifest{Digest: strings.Repeat("00", 32)}}
	var buf bytes.Buffer
	if err := Write(&buf, Build(Input{Model: m, Now: time.Now()})); err != nil {
		t.Fatal(err)
	}
	if err := cdxschema.Validate(buf.Bytes()); err != nil {
		t.Fatalf("minimal BOM: %v\n%s", err, buf.String())
	}
}
