package secrets

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
)

// Baseline is a set of accepted leaks, each keyed by rule, path and the
// value's digest — not its line, so that a baseline does not churn when
// code moves.
type Baseline struct {
	Version int             `json:"version"`
	Entries []BaselineEntry `json:"entries"`
	keys    map[string]bool
}

// BaselineEntry is one accepted leak.
type BaselineEntry struct {
	Rule         string `json:"rule"`
	Path         string `json:"path"`
	SecretSHA256 string `json:"secret_sha256"`
}

// NewBaseline accepts the given leaks.
func NewBaseline(leaks []Leak) *Baseline {
	b := &Baseline{Version: 1, Entries: []BaselineEntry{}}
	seen := map[string]bool{}
	for _, l := range leaks {
		if !seen[l.Key()] {
			seen[l.Key()] = true
			b.Entries = append(b.Entries, BaselineEntry{l.Rule, l.Path, l.SecretSHA256})
		}
	}
	slices.SortFunc(b.Entries, func(x, y BaselineEntry) int {
		return strings.Compare(x.Path+x.Rule+x.SecretSHA256, y.Path+y.Rule+y.SecretSHA256)
	})
	return b
}

// LoadBaseline reads a baseline file.
func LoadBaseline(path string) (*Baseline, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var b Baseline
	if err := json.Unmarshal(raw, &b); err != nil {
		return nil, fmt.Errorf("%s: not a baseline: %w", path, err)
	}
	if b.Version != 1 {
		return nil, fmt.Errorf("%s: baseline version %d, this modelgate reads 1", path, b.Version)
	}
	for i, e := range b.Entries {
		if e.Rule == "" || e.Path == "" || len(e.SecretSHA256) != 64 {
			return nil, fmt.Errorf("%s: entry %d needs a rule, a path and a 64-digit secret_sha256", path, i)
		}
	}
	return &b, nil
}

// Write writes the baseline as indented JSON.
func (b *Baseline) Write(path string) error {
	raw, err := json.MarshalIndent(b, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(raw, '\n'), 0o644)
}

// Accepts reports whether the baseline holds a leak.
func (b *Baseline) Accepts(l *Leak) bool {
	if b == nil {
		return false
	}
	if b.keys == nil {
		b.keys = map[string]bool{}
		for _, e := range b.Entries {
			b.keys[e.Rule+"\x00"+e.Path+"\x00"+e.SecretSHA256] = true
		}
	}
	return b.keys[l.Key()]
}

// Ignore is a .gitleaksignore: fingerprints of findings to skip, as
// gitleaks writes them (path:rule:line, or commit:path:rule:line).
type Ignore map[string]bool

// LoadIgnore reads a .gitleaksignore; a missing file ignores nothing.
func LoadIgnore(path string) (Ignore, error) {
	f, err := os.Open(path)
	if os.IsNotExist(err) {
		return Ignore{}, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	ig := Ignore{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line != "" && !strings.HasPrefix(line, "#") {
			ig[strings.ReplaceAll(line, "\\", "/")] = true
		}
	}
	return ig, sc.Err()
}

// Ignores reports whether a leak's fingerprint is listed.
func (ig Ignore) Ignores(l *Leak, relPath string) bool {
	fp := relPath + ":" + l.Rule + ":" + strconv.Itoa(l.Line)
	if l.Commit != "" {
		return ig[l.Commit+":"+fp]
	}
	return ig[fp]
}
