package deps

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"net/textproto"
	"strings"

	"github.com/pelletier/go-toml/v2"
)

// locked makes a requirement for an exact version from a lock file or an
// installation.
func locked(name, version, ecosystem, kind, source string) Requirement {
	return Requirement{Name: normaliseName(name), Ecosystem: ecosystem, Spec: "==" + version, Version: version,
		Pinned: true, Kind: kind, Source: source}
}

// ParseTOMLLock reads the lock files that list packages as TOML tables of
// a name and a version: poetry.lock and uv.lock ([[package]]) and PEP 751
// pylock.toml ([[packages]]). A package without a version (uv's editable
// project itself) is skipped.
func ParseTOMLLock(name string, b []byte) ([]Requirement, error) {
	var doc struct {
		Package []struct {
			Name    string `toml:"name"`
			Version string `toml:"version"`
		} `toml:"package"`
		Packages []struct {
			Name    string `toml:"name"`
			Version string `toml:"version"`
			Wheels  []any  `toml:"wheels"`
		} `toml:"packages"`
	}
	if err := toml.Unmarshal(b, &doc); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	var out []Requirement
	for i, p := range doc.Package {
		if p.Name != "" && p.Version != "" {
			out = append(out, locked(p.Name, p.Version, "pypi", Locked, fmt.Sprintf("%s: package[%d]", name, i)))
		}
	}
	for i, p := range doc.Packages {
		if p.Name != "" && p.Version != "" {
			r := locked(p.Name, p.Version, "pypi", Locked, fmt.Sprintf("%s: packages[%d]", name, i))
			r.Hashed = true // pylock.toml records a hash for every artifact
			out = append(out, r)
		}
	}
	return out, nil
}

// ParsePipfileLock reads a Pipfile.lock: default and develop packages,
// each with its "==version" and hashes.
func ParsePipfileLock(name string, b []byte) ([]Requirement, error) {
	var doc map[string]json.RawMessage
	if err := json.Unmarshal(b, &doc); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	var out []Requirement
	for _, section := range []string{"default", "develop"} {
		var pkgs map[string]struct {
			Version string   `json:"version"`
			Hashes  []string `json:"hashes"`
			Markers string   `json:"markers"`
		}
		if raw, ok := doc[section]; ok {
			if err := json.Unmarshal(raw, &pkgs); err != nil {
				return nil, fmt.Errorf("%s: %s: %w", name, section, err)
			}
		}
		for _, pkg := range sortedKeys(pkgs) {
			p := pkgs[pkg]
			v := strings.TrimPrefix(p.Version, "==")
			if v == "" {
				continue // a VCS or path dependency
			}
			r := locked(pkg, v, "pypi", Locked, name+": "+section+"."+pkg)
			r.Hashed, r.Markers = len(p.Hashes) > 0, p.Markers
			out = append(out, r)
		}
	}
	return out, nil
}

// ParseCondaMeta reads a conda-meta/*.json record of an installed conda
// package.
func ParseCondaMeta(name string, b []byte) ([]Requirement, error) {
	var rec struct {
		Name    string `json:"name"`
		Version string `json:"version"`
	}
	if err := json.Unmarshal(b, &rec); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if rec.Name == "" || rec.Version == "" {
		return nil, fmt.Errorf("%s: a conda-meta record needs a name and a version", name)
	}
	return []Requirement{locked(rec.Name, rec.Version, "conda", Installed, name)}, nil
}

// ParseMetadata reads an installed distribution's METADATA (or an egg's
// PKG-INFO): its Name and Version headers.
func ParseMetadata(name string, b []byte) ([]Requirement, error) {
	// The headers end at the first empty line; the description follows.
	if i := bytes.Index(b, []byte("\n\n")); i >= 0 {
		b = b[:i+1]
	}
	h, err := textproto.NewReader(bufio.NewReader(bytes.NewReader(append(b, '\n')))).ReadMIMEHeader()
	if err != nil && len(h) == 0 {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	pkg, version := h.Get("Name"), h.Get("Version")
	if pkg == "" || version == "" {
		return nil, fmt.Errorf("%s: no Name and Version headers", name)
	}
	return []Requirement{locked(pkg, version, "pypi", Installed, name)}, nil
}

// PEP440 returns a requirement's constraint as a PEP 440 specifier set:
// as written for pip's formats, translated for Poetry's ^ and ~ and
// bare versions and for conda's = and bare versions. It reports false for
// what has no PEP 440 equivalent (a direct URL, an OR of conda specs).
func (r Requirement) PEP440() (string, bool) {
	spec := strings.TrimSpace(r.Spec)
	switch {
	case spec == "" || spec == "*":
		return "", true
	case strings.HasPrefix(spec, "@"), strings.Contains(spec, "||"), strings.Contains(spec, "|"):
		return "", false
	}
	if r.Ecosystem == "conda" {
		spec, _, _ = strings.Cut(spec, " ") // a build string
		if v, ok := strings.CutPrefix(spec, "=="); ok {
			v, _, _ = strings.Cut(v, "=")
			return "==" + v, true
		}
		if v, ok := strings.CutPrefix(spec, "="); ok {
			v, _, _ = strings.Cut(v, "=")
			if strings.HasSuffix(v, "*") {
				return "==" + strings.TrimSuffix(strings.TrimSuffix(v, "*"), ".") + ".*", true
			}
			return "==" + v, true
		}
		if spec[0] >= '0' && spec[0] <= '9' {
			return "==" + spec, true
		}
		return spec, true
	}
	var parts []string
	for part := range strings.SplitSeq(spec, ",") {
		part = strings.TrimSpace(part)
		switch {
		case strings.HasPrefix(part, "^"):
			parts = append(parts, caret(strings.TrimPrefix(part, "^")))
		case strings.HasPrefix(part, "~") && !strings.HasPrefix(part, "~="):
			parts = append(parts, tilde(strings.TrimPrefix(part, "~")))
		case part != "" && (part[0] >= '0' && part[0] <= '9'):
			parts = append(parts, "=="+part) // Poetry: a bare version is exact
		default:
			parts = append(parts, part)
		}
	}
	return strings.Join(parts, ","), true
}

// caret is Poetry's ^: up to the next change of the first non-zero part.
func caret(v string) string {
	nums := strings.Split(v, ".")
	i := 0
	for i < len(nums)-1 && nums[i] == "0" {
		i++
	}
	return ">=" + v + ",<" + bumpAt(nums, i)
}

// tilde is Poetry's ~: patch changes allowed (minor ones for ~X).
func tilde(v string) string {
	nums := strings.Split(v, ".")
	at := 1
	if len(nums) == 1 {
		at = 0
	}
	return ">=" + v + ",<" + bumpAt(nums, at)
}

func bumpAt(nums []string, i int) string {
	out := make([]string, i+1)
	copy(out, nums[:i+1])
	n := 0
	fmt.Sscanf(out[i], "%d", &n)
	out[i] = fmt.Sprint(n + 1)
	return strings.Join(out, ".")
}
