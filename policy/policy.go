// Package policy decides with OPA (Rego v1, embedded, prepared queries)
// whether a model may be promoted: an embedded default bundle denies
// unsigned or tampered models, dangerous scan findings, incomplete model
// cards, unfair high-risk models, high-risk models without a threat model,
// and datasets that fail their contracts. Users add or replace policies
// from a directory.
package policy

import (
	"context"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/open-policy-agent/opa/v1/rego"
)

//go:embed bundle/*.rego
var bundleFS embed.FS

// Query is the rule the gate evaluates: the set of messages of the rules
// that deny.
const Query = "data.modelgate.gate.deny"

// Engine evaluates the gate.
type Engine struct {
	query   rego.PreparedEvalQuery
	Modules []string // the module files in use, for reports
	// Digest identifies the policy set: SHA-256 over the modules' names
	// and sources, in name order. It changes when any policy does.
	Digest string
}

// DefaultModules returns the embedded default modules (tests included), by file
// name.
func DefaultModules() (map[string]string, error) {
	out := map[string]string{}
	err := fs.WalkDir(bundleFS, "bundle", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := bundleFS.ReadFile(path)
		out[filepath.Base(path)] = string(b)
		return err
	})
	return out, err
}

// New prepares the gate from the default bundle and, if dir is not empty,
// the .rego files in it: a file with a default module's name replaces it,
// others are added. Test files (_test.rego) are not loaded for
// evaluation.
func New(ctx context.Context, dir string) (*Engine, error) {
	mods, err := DefaultModules()
	if err != nil {
		return nil, err
	}
	if dir != "" {
		if err := ReadModules(dir, mods); err != nil {
			return nil, err
		}
	}
	q, names, digest, err := Prepare(ctx, mods, Query)
	if err != nil {
		return nil, fmt.Errorf("policy: %w", err)
	}
	return &Engine{query: q, Modules: names, Digest: digest}, nil
}

// Prepare compiles Rego modules (by file name; _test.rego files left
// out) for a query, and returns the module names in use and their digest:
// SHA-256 over the names and sources in name order.
func Prepare(ctx context.Context, mods map[string]string, query string) (rego.PreparedEvalQuery, []string, string, error) {
	opts := []func(*rego.Rego){rego.Query(query)}
	var names []string
	for name, src := range mods {
		if strings.HasSuffix(name, "_test.rego") {
			continue
		}
		opts = append(opts, rego.Module(name, src))
		names = append(names, name)
	}
	slices.Sort(names)
	h := sha256.New()
	for _, name := range names {
		fmt.Fprintf(h, "%d:%s%d:%s", len(name), name, len(mods[name]), mods[name])
	}
	q, err := rego.New(opts...).PrepareForEval(ctx)
	return q, names, hex.EncodeToString(h.Sum(nil)), err
}

// ReadModules adds the .rego files in dir to mods: a file with an
// existing module's name replaces it.
func ReadModules(dir string, mods map[string]string) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".rego") {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			return err
		}
		mods[e.Name()] = string(b)
	}
	return nil
}

// Decision is the gate's verdict.
type Decision struct {
	Allow bool `json:"allow"`
	// Violations are the denials' messages, sorted; Denials the same
	// with the rule that denied, when the policy named it.
	Violations []string `json:"violations"`
	Denials    []Denial `json:"denials"`
}

// Denial is one rule's refusal. A policy's deny set may hold plain
// messages (Rule is then "") or objects {"rule": ID, "msg": TEXT}, as the
// default bundle's do.
type Denial struct {
	Rule    string `json:"rule,omitempty"`
	Message string `json:"msg"`
}

// Evaluate runs the gate on a model record (any JSON-shaped value).
func (e *Engine) Evaluate(ctx context.Context, input any) (Decision, error) {
	rs, err := e.query.Eval(ctx, rego.EvalInput(input))
	if err != nil {
		return Decision{}, fmt.Errorf("policy: %w", err)
	}
	// A policy set with no deny rule at all (a user replaced gate.rego
	// with a different package) leaves the query undefined; that is a
	// broken gate, not an open one.
	if len(rs) == 0 {
		return Decision{}, fmt.Errorf("policy: %s is undefined: no policy defines it", Query)
	}
	d := Decision{Violations: []string{}, Denials: []Denial{}}
	for _, r := range rs {
		for _, ex := range r.Expressions {
			set, ok := ex.Value.([]any)
			if !ok {
				return Decision{}, fmt.Errorf("policy: %s is not a set of messages", Query)
			}
			for _, m := range set {
				den, err := denial(m)
				if err != nil {
					return Decision{}, err
				}
				d.Denials = append(d.Denials, den)
			}
		}
	}
	slices.SortFunc(d.Denials, func(a, b Denial) int { return strings.Compare(a.Message, b.Message) })
	for _, den := range d.Denials {
		d.Violations = append(d.Violations, den.Message)
	}
	d.Allow = len(d.Denials) == 0
	return d, nil
}

// denial reads one member of the deny set. Anything but a message or a
// {"rule", "msg"} object is an error: a denial the gate cannot read must
// not pass for an allow.
func denial(v any) (Denial, error) {
	switch x := v.(type) {
	case string:
		return Denial{Message: x}, nil
	case map[string]any:
		msg, ok := x["msg"].(string)
		if !ok || msg == "" {
			return Denial{}, fmt.Errorf("policy: a denial %v has no \"msg\" text", x)
		}
		rule, _ := x["rule"].(string)
		return Denial{Rule: rule, Message: msg}, nil
	}
	return Denial{}, fmt.Errorf("policy: a denial %v is neither a message nor {\"rule\", \"msg\"}", v)
}
