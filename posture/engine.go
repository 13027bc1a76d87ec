package posture

import (
	"context"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io/fs"
	"maps"
	"path"
	"slices"
	"strings"

	"github.com/modelgate/modelgate/finding"
	"github.com/modelgate/modelgate/policy"
	"github.com/open-policy-agent/opa/v1/rego"
)

//go:embed rules/*.rego
var rulesFS embed.FS

// pinnedDigest is the digest of the embedded rule pack as reviewed. A
// binary built from rules that differ refuses to judge: the digest in a
// report must name the rules that were reviewed, not whatever the build
// tree held. TestPinnedDigest says the new value when a rule changes.
//
//go:embed rules.sha256
var pinnedDigest string

// Query is the set of findings the rules produce.
const Query = "data.modelgate.posture.deny"

// Engine evaluates the rule pack over a set of documents.
type Engine struct {
	query   rego.PreparedEvalQuery
	mods    map[string]string
	Modules []string
	// Digest identifies the rule set in use (SHA-256 over module names
	// and sources), for the record of what judged a configuration.
	Digest string
	// PackDigest is the embedded pack's pinned digest; Digest differs
	// from it when user rules were added or replaced embedded ones.
	PackDigest string
}

// Rule is a rule's metadata, as the pack declares it.
type Rule struct {
	ID          string   `json:"id"`
	Severity    string   `json:"severity"`
	Title       string   `json:"title"`
	Remediation string   `json:"remediation"`
	Refs        []string `json:"refs"`
}

// DefaultRules returns the embedded rule modules by file name.
func DefaultRules() (map[string]string, error) {
	mods := map[string]string{}
	err := fs.WalkDir(rulesFS, "rules", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := rulesFS.ReadFile(p)
		mods[path.Base(p)] = string(b)
		return err
	})
	return mods, err
}

// NewEngine prepares the embedded rules and, when dir is not empty, the
// .rego files in it: a file named like an embedded one replaces it,
// others add rules (in package modelgate.posture, adding to deny).
func NewEngine(ctx context.Context, dir string) (*Engine, error) {
	mods, err := DefaultRules()
	if err != nil {
		return nil, err
	}
	pack := PackDigest(mods)
	if want := strings.TrimSpace(pinnedDigest); pack != want {
		return nil, fmt.Errorf("posture rules: the embedded rule pack's digest %s is not the pinned %s: this binary was built from unreviewed rules", pack, want)
	}
	if dir != "" {
		if err := policy.ReadModules(dir, mods); err != nil {
			return nil, err
		}
	}
	q, names, digest, err := policy.Prepare(ctx, mods, Query)
	if err != nil {
		return nil, fmt.Errorf("posture rules: %w", err)
	}
	return &Engine{query: q, mods: mods, Modules: names, Digest: digest, PackDigest: pack}, nil
}

// PackDigest is the digest policy.Prepare gives a set of modules, without
// compiling them.
func PackDigest(mods map[string]string) string {
	names := slices.Sorted(maps.Keys(mods))
	h := sha256.New()
	for _, name := range names {
		fmt.Fprintf(h, "%d:%s%d:%s", len(name), name, len(mods[name]), mods[name])
	}
	return hex.EncodeToString(h.Sum(nil))
}

// Rules returns the metadata of every rule in use, by id.
func (e *Engine) Rules(ctx context.Context) ([]Rule, error) {
	q, _, _, err := policy.Prepare(ctx, e.mods, "data.modelgate.posture.meta")
	if err != nil {
		return nil, fmt.Errorf("posture rules: %w", err)
	}
	rs, err := q.Eval(ctx)
	if err != nil {
		return nil, fmt.Errorf("posture rules: %w", err)
	}
	if len(rs) == 0 || len(rs[0].Expressions) == 0 {
		return nil, fmt.Errorf("posture rules: data.modelgate.posture.meta is undefined")
	}
	b, err := json.Marshal(rs[0].Expressions[0].Value)
	if err != nil {
		return nil, err
	}
	var byID map[string]Rule
	if err := json.Unmarshal(b, &byID); err != nil {
		return nil, fmt.Errorf("posture rules: meta: %w", err)
	}
	out := make([]Rule, 0, len(byID))
	for id, r := range byID {
		r.ID = id
		out = append(out, r)
	}
	slices.SortFunc(out, func(a, b Rule) int { return strings.Compare(a.ID, b.ID) })
	return out, nil
}

// Evaluate judges the documents together and returns the findings by
// file. Every file read is in the report, clean or not.
func (e *Engine) Evaluate(ctx context.Context, docs []Document) (*finding.Report, error) {
	rs, err := e.query.Eval(ctx, rego.EvalInput(map[string]any{"documents": docs}))
	if err != nil {
		return nil, fmt.Errorf("posture rules: %w", err)
	}
	if len(rs) == 0 {
		return nil, fmt.Errorf("posture rules: %s is undefined: no rule defines it", Query)
	}
	byPath := map[string]*finding.File{}
	for _, d := range docs {
		if byPath[d.Path] == nil {
			byPath[d.Path] = &finding.File{Path: d.Path, Format: d.Kind, Findings: []finding.Finding{}}
		}
	}
	for _, r := range rs {
		for _, ex := range r.Expressions {
			set, ok := ex.Value.([]any)
			if !ok {
				return nil, fmt.Errorf("posture rules: %s is not a set", Query)
			}
			for _, v := range set {
				p, f, err := toFinding(v)
				if err != nil {
					return nil, err
				}
				if byPath[p] == nil {
					byPath[p] = &finding.File{Path: p, Format: "unknown", Findings: []finding.Finding{}}
				}
				byPath[p].Findings = append(byPath[p].Findings, f)
			}
		}
	}
	rep := &finding.Report{Files: []finding.File{}}
	for _, f := range byPath {
		slices.SortFunc(f.Findings, func(a, b finding.Finding) int {
			return strings.Compare(a.RuleID+a.Location, b.RuleID+b.Location)
		})
		rep.Files = append(rep.Files, *f)
	}
	rep.Summarise()
	return rep, nil
}

// toFinding reads one denial: {"rule", "severity", "title", "msg",
// "path", "line", "remediation", "refs"}. A denial without a rule id, a
// severity or a path is an error of the rule that made it, not a finding
// to drop.
func toFinding(v any) (string, finding.Finding, error) {
	m, ok := v.(map[string]any)
	if !ok {
		return "", finding.Finding{}, fmt.Errorf("posture rules: a denial is %T, not an object", v)
	}
	str := func(k string) string { s, _ := m[k].(string); return s }
	id, p := str("rule"), str("path")
	sev, err := finding.ParseSeverity(str("severity"))
	if id == "" || p == "" || err != nil {
		return "", finding.Finding{}, fmt.Errorf("posture rules: denial %v needs a rule, a path and a severity", m)
	}
	f := finding.Finding{RuleID: id, Severity: sev, Title: str("title"), Evidence: str("msg"), Remediation: str("remediation")}
	if line, ok := m["line"].(float64); ok && line > 0 {
		f.Location = fmt.Sprintf("line %d", int(line))
	} else if n, ok := m["line"].(interface{ String() string }); ok {
		f.Location = "line " + n.String()
	}
	if refs, ok := m["refs"].([]any); ok {
		for _, r := range refs {
			if s, ok := r.(string); ok {
				f.References = append(f.References, s)
			}
		}
	}
	return p, f, nil
}
