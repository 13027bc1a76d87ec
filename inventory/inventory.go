// Package inventory finds an estate's AI assets by what files contain, not
// by what they are called: model files of every format the model scanner
// knows (and their Hugging Face cache coordinates and metadata), datasets
// with the personal data and credentials their columns hold, code and
// notebooks that call AI services, serving and training configurations,
// MCP server configurations, and AI API keys. Assess then joins each asset
// to what modelgate knows about it (scan verdict, registry stage and
// signature, the routes that serve it, the calls the audit log shows), and
// an inventory becomes a CycloneDX AI-BOM, a diff against an earlier one,
// or a dated snapshot.
package inventory

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"time"

	"github.com/modelgate/modelgate/datacheck/classify"
	"github.com/modelgate/modelgate/finding"
)

// Kind is what an asset is.
type Kind string

// Kinds of asset.
const (
	KindModel     Kind = "model"
	KindModelCard Kind = "model-card"
	KindDataset   Kind = "dataset"
	KindCode      Kind = "ai-code"     // source that calls AI services
	KindNotebook  Kind = "notebook"    // a Jupyter notebook (calls AI or holds data)
	KindServing   Kind = "serving"     // a serving or training configuration
	KindMCP       Kind = "mcp-server"  // one server of an MCP client configuration
	KindKey       Kind = "ai-key"      // an AI provider's API key, never its value
	KindPackages  Kind = "python-deps" // declared Python dependencies
)

// Kinds lists every kind, in the order reports show them.
var Kinds = []Kind{KindModel, KindModelCard, KindDataset, KindCode, KindNotebook, KindServing, KindMCP, KindKey, KindPackages}

// FormatVersion is the version of the inventory's JSON shape.
const FormatVersion = 1

// Inventory is what one scan found.
type Inventory struct {
	FormatVersion int       `json:"format_version"`
	ID            string    `json:"id,omitempty"` // a snapshot's id
	TakenAt       time.Time `json:"taken_at"`
	Roots         []string  `json:"roots"`
	Assets        []Asset   `json:"assets"`
	Stats         Stats     `json:"stats"`
	// Assessed says whether Assess joined the assets to modelgate's
	// registry, routes and audit log; Sources names what it had.
	Assessed bool     `json:"assessed"`
	Sources  []string `json:"sources,omitempty"`
}

// Stats describe a walk.
type Stats struct {
	Files       int64 `json:"files"`
	Dirs        int64 `json:"dirs"`
	SkippedDirs int64 `json:"skipped_dirs"`
	// BytesRead is what classification read, all files together: headers,
	// metadata and text, never tensor data.
	BytesRead int64          `json:"bytes_read"`
	Assets    map[string]int `json:"assets"` // by kind
	// Errors are files and directories that could not be read; an
	// inventory with errors may be missing assets.
	Errors   []PathError `json:"errors,omitempty"`
	Duration Millis      `json:"duration_ms"`
}

// Millis is a duration written as whole milliseconds.
type Millis int64

// PathError is a file or directory the scan could not read.
type PathError struct {
	Path  string `json:"path"`
	Error string `json:"error"`
}

// Asset is one thing found.
type Asset struct {
	// ID is stable across scans of the same estate: it depends on the
	// kind, the path and (for several assets in one file) the name.
	ID   string `json:"id"`
	Kind Kind   `json:"kind"`
	Path string `json:"path"`
	// Name is what the asset is called: a model's repository or file
	// name, a dataset's file name, a key's provider, an MCP server's name.
	Name   string `json:"name"`
	Format string `json:"format,omitempty"`
	Size   int64  `json:"size,omitempty"`
	Line   int    `json:"line,omitempty"`
	// Digest is the SHA-256 of the whole file ("sha256:<hex>"), when it
	// was computed (--sha256, a Hugging Face blob name, or a file the
	// registry knows).
	Digest string `json:"digest,omitempty"`
	// Fingerprint changes when the file does, computed from its size,
	// first and last bytes: how a diff sees a change without reading
	// every byte of a 70 GB model.
	Fingerprint string `json:"fingerprint,omitempty"`
	// Attrs are what the content says: architecture, parameters,
	// quantisation, licence, Hugging Face repository and revision,
	// provider, client library, model names, base URLs, image.
	Attrs map[string]string `json:"attrs,omitempty"`
	// Columns is a dataset's per-column classification, on a sample.
	Columns []classify.Column `json:"columns,omitempty"`
	// Packages are the dependencies a python-deps asset declares.
	Packages []Package `json:"packages,omitempty"`
	Status   *Status   `json:"status,omitempty"`
	// Findings are the problems the asset is (an AI key in a file) or
	// has (an unscanned, unsigned or unregistered model).
	Findings []finding.Finding `json:"findings,omitempty"`
}

// Status is what modelgate knows about an asset.
type Status struct {
	// Scan is the model scanner's verdict: clean, findings, error or
	// "" when it did not run.
	Scan        string `json:"scan,omitempty"`
	ScanHighest string `json:"scan_highest,omitempty"`
	// Registered is NAME@VERSION of the registry version this file
	// belongs to, or "".
	Registered string `json:"registered,omitempty"`
	Stage      string `json:"stage,omitempty"`
	Signature  string `json:"signature,omitempty"` // valid, invalid or unsigned
	// Changed says the file differs from what the registry recorded.
	Changed bool     `json:"changed,omitempty"`
	Routes  []string `json:"routes,omitempty"`
	// Calls counts the inference events of the routes that serve it in
	// the audit log's window; LastCall is the newest.
	Calls    int64     `json:"calls,omitempty"`
	LastCall time.Time `json:"last_call,omitzero"`
}

// assetID derives an asset's stable id.
func assetID(kind Kind, path, name string) string {
	h := sha256.New()
	h.Write([]byte(kind))
	h.Write([]byte{0})
	h.Write([]byte(path))
	h.Write([]byte{0})
	h.Write([]byte(name))
	return hex.EncodeToString(h.Sum(nil)[:8])
}

func (a *Asset) attr(k, v string) {
	if v == "" {
		return
	}
	if a.Attrs == nil {
		a.Attrs = map[string]string{}
	}
	a.Attrs[k] = v
}

// Count returns the number of assets of a kind.
func (inv *Inventory) Count(k Kind) int {
	n := 0
	for i := range inv.Assets {
		if inv.Assets[i].Kind == k {
			n++
		}
	}
	return n
}

// Package is one declared dependency.
type Package struct {
	Name      string `json:"name"`
	Ecosystem string `json:"ecosystem"` // pypi or conda
	Spec      string `json:"spec,omitempty"`
	Version   string `json:"version,omitempty"`
	Pinned    bool   `json:"pinned"`
	Source    string `json:"source"`
}

// DecodeSnapshot reads a snapshot as the audit log keeps it: the
// inventory as gzip-compressed JSON.
func DecodeSnapshot(data []byte) (*Inventory, error) {
	zr, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		return nil, err
	}
	var inv Inventory
	if err := json.NewDecoder(zr).Decode(&inv); err != nil {
		return nil, err
	}
	return &inv, nil
}
