// Package threat keeps threat models as code: a system's assets, data
// flows and trust boundaries in a YAML file, judged against a library of
// STRIDE and AI threats, with each mitigation checked against what is
// actually deployed (routes, guards, keys, the audit log, the registry)
// rather than taken on the author's word.
package threat

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Asset types.
const (
	AssetModel    = "model"
	AssetDataset  = "dataset"
	AssetEndpoint = "endpoint"
	AssetStore    = "store"
	AssetTool     = "tool"
	AssetAgent    = "agent"
	AssetUser     = "user"
	AssetService  = "service"
	AssetExternal = "external"
)

var assetTypes = []string{AssetModel, AssetDataset, AssetEndpoint, AssetStore, AssetTool, AssetAgent, AssetUser, AssetService, AssetExternal}

// Data classifications, in increasing order of sensitivity.
var classifications = []string{"public", "internal", "confidential", "restricted"}

// Values of an asset to the business, in increasing order.
var values = []string{"low", "medium", "high", "critical"}

// Risk statuses.
const (
	StatusOpen          = "open"
	StatusMitigated     = "mitigated"
	StatusAccepted      = "accepted"
	StatusFalsePositive = "false_positive"
)

// Model is a threat model: one system.
type Model struct {
	System     System     `yaml:"system" json:"system"`
	Boundaries []Boundary `yaml:"boundaries" json:"boundaries"`
	Assets     []Asset    `yaml:"assets" json:"assets"`
	Flows      []Flow     `yaml:"flows" json:"flows"`
	Risks      []Risk     `yaml:"risks,omitempty" json:"risks,omitempty"`
}

// System names what is modelled and who answers for it.
type System struct {
	Name        string `yaml:"name" json:"name"`
	Owner       string `yaml:"owner,omitempty" json:"owner"`
	Description string `yaml:"description,omitempty" json:"description,omitempty"`
}

// Boundary is a trust boundary; Parent nests it in another.
type Boundary struct {
	ID     string `yaml:"id" json:"id"`
	Name   string `yaml:"name" json:"name"`
	Parent string `yaml:"parent,omitempty" json:"parent,omitempty"`
	// Trusted says whether what is inside is under the system's control
	// (default true); the internet, a vendor's cloud and users' devices
	// are not.
	Trusted *bool `yaml:"trusted,omitempty" json:"trusted,omitempty"`
}

// Asset is an element of the system.
type Asset struct {
	ID       string `yaml:"id" json:"id"`
	Name     string `yaml:"name" json:"name"`
	Type     string `yaml:"type" json:"type"`
	Boundary string `yaml:"boundary,omitempty" json:"boundary,omitempty"`
	// Classification is of the data the asset holds or handles.
	Classification string `yaml:"classification,omitempty" json:"classification,omitempty"`
	Value          string `yaml:"value,omitempty" json:"value,omitempty"`
	// Ref binds the asset to live state, so that mitigations are checked:
	// route:MODEL (a gateway route), registry:NAME[@VERSION|@STAGE],
	// dataset:NAME@VERSION, key:NAME, identity:NAME.
	Ref string `yaml:"ref,omitempty" json:"ref,omitempty"`
	// Tags say more than the type: llm, classifier, rag, agent, pii,
	// fine-tuned, third-party, tools, output-rendered, …
	Tags []string `yaml:"tags,omitempty" json:"tags,omitempty"`
	line int
}

// Flow is data moving from one asset to another.
type Flow struct {
	ID   string `yaml:"id" json:"id"`
	From string `yaml:"from" json:"from"`
	To   string `yaml:"to" json:"to"`
	// Protocol: https, http, grpc, sql, s3, …
	Protocol string `yaml:"protocol,omitempty" json:"protocol,omitempty"`
	// Auth: none, key, mtls, oauth, iam, password.
	Auth           string   `yaml:"auth,omitempty" json:"auth,omitempty"`
	Encrypted      bool     `yaml:"encrypted" json:"encrypted"`
	Classification string   `yaml:"classification,omitempty" json:"classification,omitempty"`
	Tags           []string `yaml:"tags,omitempty" json:"tags,omitempty"`
	line           int
}

// Risk records a decision about a threat on an element.
type Risk struct {
	Threat  string `yaml:"threat" json:"threat"`
	Target  string `yaml:"target" json:"target"` // an asset or flow id
	Status  string `yaml:"status" json:"status"`
	Owner   string `yaml:"owner,omitempty" json:"owner,omitempty"`
	Reason  string `yaml:"reason,omitempty" json:"reason,omitempty"`
	Expires string `yaml:"expires,omitempty" json:"expires,omitempty"` // YYYY-MM-DD
	line    int
}

// Error is a problem in a model file, with where it is.
type Error struct {
	File     string
	Problems []string
}

func (e *Error) Error() string {
	return fmt.Sprintf("%s: %d problem(s):\n  %s", e.File, len(e.Problems), strings.Join(e.Problems, "\n  "))
}

// maxModel bounds a model file.
const maxModel = 8 << 20

// Parse reads and validates a threat model. Every problem is reported at
// once, each with its line.
func Parse(name string, r io.Reader) (*Model, error) {
	b, err := io.ReadAll(io.LimitReader(r, maxModel+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxModel {
		return nil, fmt.Errorf("%s: larger than %d bytes", name, maxModel)
	}
	var root yaml.Node
	if err := yaml.Unmarshal(b, &root); err != nil {
		return nil, &Error{File: name, Problems: []string{err.Error()}}
	}
	var m Model
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true) // a misspelt key is an error, not a silent default
	if err := dec.Decode(&m); err != nil && !errors.Is(err, io.EOF) {
		return nil, &Error{File: name, Problems: []string{err.Error()}}
	}
	lines(&root, &m)
	if probs := m.validate(); len(probs) > 0 {
		return nil, &Error{File: name, Problems: probs}
	}
	return &m, nil
}

// lines records where each asset, flow and risk starts, for messages.
func lines(root *yaml.Node, m *Model) {
	if len(root.Content) == 0 || root.Content[0].Kind != yaml.MappingNode {
		return
	}
	top := root.Content[0]
	for i := 0; i+1 < len(top.Content); i += 2 {
		seq := top.Content[i+1]
		if seq.Kind != yaml.SequenceNode {
			continue
		}
		for j, n := range seq.Content {
			switch top.Content[i].Value {
			case "assets":
				if j < len(m.Assets) {
					m.Assets[j].line = n.Line
				}
			case "flows":
				if j < len(m.Flows) {
					m.Flows[j].line = n.Line
				}
			case "risks":
				if j < len(m.Risks) {
					m.Risks[j].line = n.Line
				}
			}
		}
	}
}

func (m *Model) validate() []string {
	var probs []string
	add := func(line int, format string, args ...any) {
		p := fmt.Sprintf(format, args...)
		if line > 0 {
			p = fmt.Sprintf("line %d: %s", line, p)
		}
		probs = append(probs, p)
	}
	if m.System.Name == "" {
		add(0, "system.name is required")
	}
	ids := map[string]string{}
	claim := func(line int, kind, id string) {
		switch {
		case id == "":
			add(line, "%s without an id", kind)
		case ids[id] != "":
			add(line, "%s id %q is already a %s", kind, id, ids[id])
		default:
			ids[id] = kind
		}
	}
	for _, b := range m.Boundaries {
		claim(0, "boundary", b.ID)
	}
	for _, b := range m.Boundaries {
		if b.Parent != "" && ids[b.Parent] != "boundary" {
			add(0, "boundary %s: parent %q is not a boundary", b.ID, b.Parent)
		}
	}
	if cyc := m.boundaryCycle(); cyc != "" {
		add(0, "boundaries nest in a cycle: %s", cyc)
	}
	for _, a := range m.Assets {
		claim(a.line, "asset", a.ID)
		if !slices.Contains(assetTypes, a.Type) {
			add(a.line, "asset %s: type %q is not one of %s", a.ID, a.Type, strings.Join(assetTypes, ", "))
		}
		if a.Boundary != "" && ids[a.Boundary] != "boundary" {
			add(a.line, "asset %s: boundary %q is not a boundary", a.ID, a.Boundary)
		}
		if a.Classification != "" && !slices.Contains(classifications, a.Classification) {
			add(a.line, "asset %s: classification %q is not one of %s", a.ID, a.Classification, strings.Join(classifications, ", "))
		}
		if a.Value != "" && !slices.Contains(values, a.Value) {
			add(a.line, "asset %s: value %q is not one of %s", a.ID, a.Value, strings.Join(values, ", "))
		}
		if a.Ref != "" {
			if _, _, err := ParseRef(a.Ref); err != nil {
				add(a.line, "asset %s: %v", a.ID, err)
			}
		}
	}
	for _, f := range m.Flows {
		claim(f.line, "flow", f.ID)
		for _, end := range []string{f.From, f.To} {
			if ids[end] != "asset" {
				add(f.line, "flow %s: %q is not an asset", f.ID, end)
			}
		}
		if f.Classification != "" && !slices.Contains(classifications, f.Classification) {
			add(f.line, "flow %s: classification %q is not one of %s", f.ID, f.Classification, strings.Join(classifications, ", "))
		}
	}
	for _, r := range m.Risks {
		if ids[r.Target] != "asset" && ids[r.Target] != "flow" {
			add(r.line, "risk %s: target %q is not an asset or a flow", r.Threat, r.Target)
		}
		switch r.Status {
		case StatusOpen, StatusMitigated, StatusFalsePositive:
		case StatusAccepted:
			if r.Owner == "" || r.Reason == "" || r.Expires == "" {
				add(r.line, "risk %s on %s: an accepted risk needs an owner, a reason and an expiry", r.Threat, r.Target)
			}
		default:
			add(r.line, "risk %s on %s: status %q is not open, mitigated, accepted or false_positive", r.Threat, r.Target, r.Status)
		}
		if r.Expires != "" {
			if _, err := time.Parse(time.DateOnly, r.Expires); err != nil {
				add(r.line, "risk %s on %s: expires %q is not a date (YYYY-MM-DD)", r.Threat, r.Target, r.Expires)
			}
		}
		if (r.Status == StatusFalsePositive || r.Status == StatusMitigated) && r.Reason == "" {
			add(r.line, "risk %s on %s: say why (reason) it is %s", r.Threat, r.Target, r.Status)
		}
	}
	return probs
}

func (m *Model) boundaryCycle() string {
	parent := map[string]string{}
	for _, b := range m.Boundaries {
		parent[b.ID] = b.Parent
	}
	for _, b := range m.Boundaries {
		seen := map[string]bool{}
		path := []string{}
		for id := b.ID; id != ""; id = parent[id] {
			if seen[id] {
				return strings.Join(append(path, id), " → ")
			}
			seen[id] = true
			path = append(path, id)
		}
	}
	return ""
}

// ParseRef splits an asset's reference into its kind and name.
func ParseRef(ref string) (kind, name string, err error) {
	kind, name, ok := strings.Cut(ref, ":")
	if !ok || name == "" {
		return "", "", fmt.Errorf("ref %q: want KIND:NAME (route, registry, dataset, key, identity)", ref)
	}
	switch kind {
	case "route", "registry", "dataset", "key", "identity":
		return kind, name, nil
	}
	return "", "", fmt.Errorf("ref %q: kind %q is not route, registry, dataset, key or identity", ref, kind)
}

// asset returns the asset with an id.
func (m *Model) asset(id string) *Asset {
	for i := range m.Assets {
		if m.Assets[i].ID == id {
			return &m.Assets[i]
		}
	}
	return nil
}

// trusted says whether a boundary, and every boundary it is in, is
// trusted; no boundary is the system's own ground.
func (m *Model) trusted(boundary string) bool {
	for id := boundary; id != ""; {
		var b *Boundary
		for i := range m.Boundaries {
			if m.Boundaries[i].ID == id {
				b = &m.Boundaries[i]
			}
		}
		if b == nil {
			return true
		}
		if b.Trusted != nil && !*b.Trusted {
			return false
		}
		id = b.Parent
	}
	return true
}
