// Package registry keeps the inventory of models and datasets: what each
// version is made of (a manifest of file digests), what the scanner found
// in it, its model card, signature and lineage, and where it stands in its
// life (candidate, staging, production, retired, quarantined). Promotion to
// production and serving both depend on the policy gate.
package registry

import (
	"fmt"
	"strings"
	"time"

	"github.com/modelgate/modelgate/finding"
	"github.com/modelgate/modelgate/policy"
	"github.com/modelgate/modelgate/registry/card"
)

// Risk tiers.
const (
	RiskLow    = "low"
	RiskMedium = "medium"
	RiskHigh   = "high"
)

// Model is one registered version of a model.
type Model struct {
	Name    string `json:"name"`
	Version string `json:"version"`
	// Path is where the model's files are: a file or a directory,
	// absolute.
	Path   string `json:"path"`
	Stage  Stage  `json:"stage"`
	Golden bool   `json:"golden,omitempty"`

	RiskTier    string             `json:"risk_tier"`
	ThreatModel string             `json:"threat_model,omitempty"`
	Metrics     map[string]float64 `json:"metrics,omitempty"`
	Datasets    []string           `json:"datasets,omitempty"` // NAME@VERSION

	Manifest  Manifest    `json:"manifest"`
	Scan      ScanSummary `json:"scan"`
	Card      *card.Card  `json:"card,omitempty"`
	CardScore *card.Score `json:"card_score,omitempty"`
	Signature Signature   `json:"signature"`
	Gate      *GateResult `json:"gate,omitempty"`
	// Dependencies is the vulnerability check of the Python packages
	// declared beside the model; nil when it declares none (or no
	// checker was configured).
	Dependencies *DependencyCheck `json:"dependencies,omitempty"`

	// Reason is why the version is in its stage, when someone gave one
	// (a quarantine's reason).
	Reason       string    `json:"reason,omitempty"`
	RegisteredBy string    `json:"registered_by,omitempty"`
	CreatedAt    time.Time `json:"created_at"`
	UpdatedAt    time.Time `json:"updated_at"`
}

// Ref returns NAME@VERSION.
func (m *Model) Ref() string { return m.Name + "@" + m.Version }

// Serving reports whether the gateway may serve the version: in
// production and allowed by the gate when it was promoted.
func (m *Model) Serving() bool {
	return m.Stage == Production && m.Gate != nil && m.Gate.Allow
}

// Manifest is the digest of every file of a model, as OMS model signing
// computes it: by files (one digest per file), or in shards, where a file
// up to ShardSize is one resource, whose digest is the file's SHA-256, and
// a larger one several resources named path:start:end, hashed in
// parallel. The registry hashes a signed model the way its signature did,
// and an unsigned one in 1 GB shards.
type Manifest struct {
	// Digest is the SHA-256 over the resources' raw digests in order:
	// the OMS subject digest of the model serialised by Method.
	Digest    string `json:"digest"`
	Method    string `json:"method,omitempty"` // files or shards ("" in older records: shards)
	ShardSize int64  `json:"shard_size,omitempty"`
	Files     []File `json:"files"`
}

// File is one file of a model.
type File struct {
	Name   string `json:"name"` // relative to the model root, with /
	Size   int64  `json:"size"`
	Format string `json:"format"`
	// SHA256 is the file's digest when it is a single shard; Shards
	// hold the digests of a larger file's shards in order.
	SHA256 string   `json:"sha256,omitempty"`
	Shards []string `json:"shards,omitempty"`
}

// ScanSummary is what the model scanner found.
type ScanSummary struct {
	Scanned    bool           `json:"scanned"`
	BySeverity map[string]int `json:"by_severity"`
	Errors     int            `json:"errors"`
	// Files are the scanned files that had findings or could not be read.
	Files []finding.File `json:"files,omitempty"`
}

// DependencyCheck is what a vulnerability check of a model's declared
// dependencies found.
type DependencyCheck struct {
	// Checked is false when the dependencies could not be checked (no
	// vulnerability database); Error says why.
	Checked  bool   `json:"checked"`
	Error    string `json:"error,omitempty"`
	Files    int    `json:"files"`
	Packages int    `json:"packages"`
	// Affected counts the advisories that affect an exact version, by
	// severity; Possibly those a declared range may resolve into;
	// Malicious the malicious packages.
	Affected  map[string]int `json:"affected"`
	Possibly  map[string]int `json:"possibly_affected"`
	Malicious int            `json:"malicious"`
	// Advisories are the ids found, for the record.
	Advisories []string  `json:"advisories,omitempty"`
	Database   string    `json:"database,omitempty"` // what was checked against
	At         time.Time `json:"at"`
}

// Signature is the outcome of verifying a model's signature.
type Signature struct {
	Signed bool   `json:"signed"`
	Valid  bool   `json:"valid"`
	Path   string `json:"path,omitempty"`
	// Digest is the signed subject digest; Method files or shards.
	Digest    string    `json:"digest,omitempty"`
	Method    string    `json:"method,omitempty"`
	Error     string    `json:"error,omitempty"`
	CheckedAt time.Time `json:"checked_at,omitzero"`
}

// Status is valid, invalid (signed, but it does not verify) or unsigned.
func (s Signature) Status() string {
	switch {
	case s.Valid:
		return "valid"
	case s.Signed:
		return "invalid"
	}
	return "unsigned"
}

// GateResult is the policy gate's last decision on a version.
type GateResult struct {
	Allow      bool     `json:"allow"`
	Violations []string `json:"violations"`
	// Denials are the violations with the rules that raised them.
	Denials  []policy.Denial `json:"denials,omitempty"`
	Policies []string        `json:"policies"`
	At       time.Time       `json:"at"`
}

// Contract statuses of a dataset.
const (
	ContractPassed    = "passed"
	ContractFailed    = "failed"
	ContractUnchecked = "unchecked"
)

// Dataset is one registered version of a dataset.
type Dataset struct {
	Name     string   `json:"name"`
	Version  string   `json:"version"`
	Path     string   `json:"path"`
	Manifest Manifest `json:"manifest"`
	// Contract is passed, failed or unchecked (none was given).
	Contract       string    `json:"contract"`
	ContractPath   string    `json:"contract_path,omitempty"`
	ContractFailed []string  `json:"contract_failed,omitempty"` // the rules that failed
	Rows           int64     `json:"rows,omitempty"`
	RegisteredBy   string    `json:"registered_by,omitempty"`
	CreatedAt      time.Time `json:"created_at"`
}

// Ref returns NAME@VERSION.
func (d *Dataset) Ref() string { return d.Name + "@" + d.Version }

// Event is one entry of a model's history.
// Its action, outcome and reason are the ones the audit log records for
// the same change, so the two tell one story: a refused promotion is
// model.promote, denied, for gate_denied or illegal_transition.
type Event struct {
	Name    string `json:"name"`
	Version string `json:"version"`
	Action  string `json:"action"`
	// Outcome is Allowed or Denied; empty in events stored before it was
	// recorded, which were all allowed (a denial was a model.gate event).
	Outcome string `json:"outcome,omitempty"`
	// From and To are the stages of a move; for a denied one, the stage it
	// stayed in and the one it was refused.
	From   Stage     `json:"from,omitempty"`
	To     Stage     `json:"to,omitempty"`
	Reason string    `json:"reason,omitempty"`
	Actor  string    `json:"actor,omitempty"`
	At     time.Time `json:"at"`
}

// Result returns the event's outcome, Allowed for events stored before
// outcomes were.
func (e Event) Result() string {
	if e.Outcome == "" {
		return Allowed
	}
	return e.Outcome
}

// History actions (also the audit log's actions).
const (
	ActionRegister        = "model.register"
	ActionPromote         = "model.promote"
	ActionQuarantine      = "model.quarantine"
	ActionGolden          = "model.golden"
	ActionRollback        = "model.rollback"
	ActionGate            = "model.gate"
	ActionSign            = "model.sign"
	ActionDatasetRegister = "dataset.register"
	ActionTrust           = "registry.trust"
	ActionPolicy          = "policy.change"
)

// PolicyHistory is the name policy-set changes are recorded under in the
// history: no model can have it (names cannot hold ':').
const PolicyHistory = "policy:"

// ParseRef splits NAME@VERSION. Names and versions are short, printable
// and free of '@' and '/', so that they read unambiguously in logs, URLs
// and audit events.
func ParseRef(ref string) (name, version string, err error) {
	name, version, ok := strings.Cut(ref, "@")
	if !ok {
		return "", "", fmt.Errorf("%q is not NAME@VERSION", ref)
	}
	if err := ValidName("name", name); err != nil {
		return "", "", err
	}
	if err := ValidName("version", version); err != nil {
		return "", "", err
	}
	return name, version, nil
}

// ValidName checks a model or dataset name or a version.
func ValidName(what, s string) error {
	if s == "" {
		return fmt.Errorf("the %s is empty", what)
	}
	if len(s) > 128 {
		return fmt.Errorf("the %s is longer than 128 bytes", what)
	}
	for i, c := range s {
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.' || c == '+'
		if !ok {
			return fmt.Errorf("the %s %q has %q at byte %d; use letters, digits, '-', '_', '.' and '+'", what, s, c, i)
		}
	}
	if s == "." || s == ".." {
		return fmt.Errorf("the %s %q is not allowed", what, s)
	}
	return nil
}
