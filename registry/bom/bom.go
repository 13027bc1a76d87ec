// Package bom writes an AI bill of materials for a registered model in
// CycloneDX 1.6 JSON: the model as a machine-learning-model component with
// its model card, its files with their digests, the datasets it was
// trained on as data components, its signature, what the model scanner
// found (as vulnerabilities), and the Python packages declared beside it,
// with the unpinned ones flagged.
package bom

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	cdx "github.com/CycloneDX/cyclonedx-go"
	"github.com/modelgate/modelgate/finding"
	"github.com/modelgate/modelgate/registry"
	"github.com/modelgate/modelgate/registry/card"
	"github.com/modelgate/modelgate/supplychain/deps"
)

// Input is what a BOM describes.
type Input struct {
	Model        *registry.Model
	Datasets     []*registry.Dataset // the model's lineage, as registered
	Requirements []deps.Requirement
	ToolVersion  string
	Now          time.Time
}

// Property names, in the modelgate namespace (CycloneDX property taxonomy
// convention).
const (
	propStage       = "modelgate:stage"
	propRiskTier    = "modelgate:risk_tier"
	propManifest    = "modelgate:manifest_digest"
	propSignature   = "modelgate:signature"
	propSigDigest   = "modelgate:signature_subject_digest"
	propSigBundle   = "modelgate:signature_bundle"
	propGate        = "modelgate:gate"
	propViolation   = "modelgate:gate_violation"
	propThreatModel = "modelgate:threat_model"
	propFormat      = "modelgate:format"
	propShard       = "modelgate:shard_sha256"
	propContract    = "modelgate:contract"
	propUnpinned    = "modelgate:unpinned"
	propRequirement = "modelgate:requirement"
	propDeclaredIn  = "modelgate:declared_in"
)

// Build assembles the BOM.
func Build(in Input) *cdx.BOM {
	m := in.Model
	b := cdx.NewBOM()
	b.SerialNumber = "urn:uuid:" + NewSerial()
	modelRef := "model:" + m.Ref()
	model := cdx.Component{
		BOMRef:     modelRef,
		Type:       cdx.ComponentTypeMachineLearningModel,
		Name:       m.Name,
		Version:    m.Version,
		Properties: modelProperties(m),
		ModelCard:  modelCard(m),
	}
	if m.Card != nil && m.Card.Fields[card.License] != "" {
		model.Licenses = &cdx.Licenses{{License: &cdx.License{Name: m.Card.Fields[card.License]}}}
	}
	files := make([]cdx.Component, 0, len(m.Manifest.Files))
	for _, f := range m.Manifest.Files {
		c := cdx.Component{BOMRef: modelRef + "/" + f.Name, Type: cdx.ComponentTypeFile, Name: f.Name,
			Properties: &[]cdx.Property{{Name: propFormat, Value: f.Format}}}
		if f.SHA256 != "" {
			c.Hashes = &[]cdx.Hash{{Algorithm: cdx.HashAlgoSHA256, Value: f.SHA256}}
		}
		for i, s := range f.Shards {
			*c.Properties = append(*c.Properties, cdx.Property{Name: propShard, Value: fmt.Sprintf("%d:%s", i, s)})
		}
		files = append(files, c)
	}
	model.Components = &files
	b.Metadata = &cdx.Metadata{
		Timestamp: in.Now.UTC().Format(time.RFC3339),
		Tools: &cdx.ToolsChoice{Components: &[]cdx.Component{{Type: cdx.ComponentTypeApplication, Name: "modelgate",
			Version: in.ToolVersion}}},
		Component: &cdx.Component{BOMRef: "system:" + m.Ref(), Type: cdx.ComponentTypeApplication, Name: m.Name,
			Version: m.Version, Description: "the system serving " + m.Ref()},
	}

	components := []cdx.Component{model}
	var modelDeps []string
	for _, d := range in.Datasets {
		ref := "dataset:" + d.Ref()
		modelDeps = append(modelDeps, ref)
		c := cdx.Component{BOMRef: ref, Type: cdx.ComponentTypeData, Name: d.Name, Version: d.Version,
			Data: &[]cdx.ComponentData{{Type: cdx.ComponentDataTypeDataset, Name: d.Ref(),
				Contents: &cdx.ComponentDataContents{Properties: &[]cdx.Property{{Name: propManifest, Value: d.Manifest.Digest}}}}},
			Properties: &[]cdx.Property{{Name: propContract, Value: d.Contract}, {Name: propManifest, Value: d.Manifest.Digest}}}
		var hashes []cdx.Hash
		for _, f := range d.Manifest.Files {
			if f.SHA256 != "" {
				hashes = append(hashes, cdx.Hash{Algorithm: cdx.HashAlgoSHA256, Value: f.SHA256})
			}
		}
		if len(hashes) > 0 {
			c.Hashes = &hashes
		}
		components = append(components, c)
	}
	seen := map[string]bool{}
	for _, r := range in.Requirements {
		ref := "python:" + r.Ecosystem + "/" + r.Name + "@" + r.Spec + "#" + r.Source
		if seen[ref] {
			continue
		}
		seen[ref] = true
		modelDeps = append(modelDeps, ref)
		c := cdx.Component{BOMRef: ref, Type: cdx.ComponentTypeLibrary, Name: r.Name, Version: r.Version,
			PackageURL: r.PURL(), Properties: &[]cdx.Property{{Name: propDeclaredIn, Value: r.Source}}}
		if r.Spec != "" {
			*c.Properties = append(*c.Properties, cdx.Property{Name: propRequirement, Value: r.Spec})
		}
		if !r.Pinned {
			*c.Properties = append(*c.Properties, cdx.Property{Name: propUnpinned, Value: "true"})
		}
		components = append(components, c)
	}
	b.Components = &components
	deps := []cdx.Dependency{{Ref: "system:" + m.Ref(), Dependencies: &[]string{modelRef}}, {Ref: modelRef, Dependencies: &modelDeps}}
	b.Dependencies = &deps
	if vulns := vulnerabilities(m, modelRef); len(vulns) > 0 {
		b.Vulnerabilities = &vulns
	}
	return b
}

// Write encodes a BOM as CycloneDX 1.6 JSON.
func Write(w io.Writer, b *cdx.BOM) error {
	return cdx.NewBOMEncoder(w, cdx.BOMFileFormatJSON).SetPretty(true).SetEscapeHTML(false).EncodeVersion(b, cdx.SpecVersion1_6)
}

func modelProperties(m *registry.Model) *[]cdx.Property {
	p := []cdx.Property{
		{Name: propStage, Value: string(m.Stage)},
		{Name: propRiskTier, Value: m.RiskTier},
		{Name: propManifest, Value: m.Manifest.Digest},
		{Name: propSignature, Value: m.Signature.Status()},
	}
	if m.Signature.Valid {
		p = append(p, cdx.Property{Name: propSigDigest, Value: m.Signature.Digest}, cdx.Property{Name: propSigBundle, Value: m.Signature.Path})
	}
	if m.ThreatModel != "" {
		p = append(p, cdx.Property{Name: propThreatModel, Value: m.ThreatModel})
	}
	if m.Gate != nil {
		verdict := "deny"
		if m.Gate.Allow {
			verdict = "allow"
		}
		p = append(p, cdx.Property{Name: propGate, Value: verdict + " " + m.Gate.At.UTC().Format(time.RFC3339)})
		for _, v := range m.Gate.Violations {
			p = append(p, cdx.Property{Name: propViolation, Value: v})
		}
	}
	return &p
}

func modelCard(m *registry.Model) *cdx.MLModelCard {
	mc := &cdx.MLModelCard{}
	if len(m.Datasets) > 0 {
		ds := make([]cdx.MLDatasetChoice, len(m.Datasets))
		for i, d := range m.Datasets {
			ds[i] = cdx.MLDatasetChoice{Ref: "dataset:" + d}
		}
		mc.ModelParameters = &cdx.MLModelParameters{Datasets: &ds}
	}
	if len(m.Metrics) > 0 {
		var pm []cdx.MLPerformanceMetric
		for _, k := range slices.Sorted(maps.Keys(m.Metrics)) {
			pm = append(pm, cdx.MLPerformanceMetric{Type: k, Value: strconv.FormatFloat(m.Metrics[k], 'g', -1, 64)})
		}
		mc.QuantitativeAnalysis = &cdx.MLQuantitativeAnalysis{PerformanceMetrics: &pm}
	}
	if m.Card != nil {
		c := &cdx.MLModelCardConsiderations{}
		if v := m.Card.Fields[card.IntendedUse]; v != "" {
			c.UseCases = &[]string{v}
		}
		if v := m.Card.Fields[card.Limitations]; v != "" {
			c.TechnicalLimitations = &[]string{v}
		}
		if v := m.Card.Fields[card.OutOfScope]; v != "" {
			c.EthicalConsiderations = &[]cdx.MLModelCardEthicalConsideration{{Name: "out-of-scope use: " + v}}
		}
		if c.UseCases != nil || c.TechnicalLimitations != nil || c.EthicalConsiderations != nil {
			mc.Considerations = c
		}
	}
	if mc.ModelParameters == nil && mc.QuantitativeAnalysis == nil && mc.Considerations == nil {
		return nil
	}
	return mc
}

// vulnerabilities lists the scan's findings, each affecting the model.
func vulnerabilities(m *registry.Model, modelRef string) []cdx.Vulnerability {
	var out []cdx.Vulnerability
	n := 0
	for _, f := range m.Scan.Files {
		for _, fd := range f.Findings {
			n++
			v := cdx.Vulnerability{
				BOMRef:      fmt.Sprintf("finding-%d", n),
				ID:          fd.RuleID,
				Source:      &cdx.Source{Name: "modelgate scan model"},
				Ratings:     &[]cdx.VulnerabilityRating{{Severity: Severity(fd.Severity), Method: cdx.ScoringMethodOther}},
				Description: fd.Title,
				Detail:      strings.TrimSpace(f.Path + " " + fd.Location + ": " + fd.Evidence),
				Affects:     &[]cdx.Affects{{Ref: modelRef}},
			}
			if fd.Remediation != "" {
				v.Recommendation = fd.Remediation
			}
			v.CWEs = CWEs(fd.References)
			out = append(out, v)
		}
		if f.Error != "" {
			n++
			out = append(out, cdx.Vulnerability{BOMRef: fmt.Sprintf("finding-%d", n), ID: "unreadable-file",
				Source:      &cdx.Source{Name: "modelgate scan model"},
				Ratings:     &[]cdx.VulnerabilityRating{{Severity: cdx.SeverityUnknown, Method: cdx.ScoringMethodOther}},
				Description: "the scanner could not read this file, so it is not known to be safe",
				Detail:      f.Path + ": " + f.Error, Affects: &[]cdx.Affects{{Ref: modelRef}}})
		}
	}
	return out
}

// CWEs returns the CWE numbers among a finding's references, or nil.
func CWEs(refs []string) *[]int {
	var cwes []int
	for _, r := range refs {
		if id, ok := strings.CutPrefix(r, "CWE-"); ok {
			if x, err := strconv.Atoi(id); err == nil {
				cwes = append(cwes, x)
			}
		}
	}
	if len(cwes) == 0 {
		return nil
	}
	return &cwes
}

// Severity maps a finding's severity to CycloneDX's.
func Severity(s finding.Severity) cdx.Severity {
	switch s {
	case finding.Critical:
		return cdx.SeverityCritical
	case finding.High:
		return cdx.SeverityHigh
	case finding.Medium:
		return cdx.SeverityMedium
	case finding.Low:
		return cdx.SeverityLow
	}
	return cdx.SeverityInfo
}

// NewSerial returns a random (version 4) UUID: CycloneDX wants a new
// serial number for every BOM, even one whose contents did not change.
func NewSerial() string {
	var b [16]byte
	rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}
