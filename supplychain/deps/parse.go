// Package deps reads Python dependencies from the files that declare,
// lock or install them, for the AI-BOM and the vulnerability scan.
package deps

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"github.com/pelletier/go-toml/v2"
	"go.yaml.in/yaml/v3"
)

// Requirement is a Python dependency: declared in a requirements file,
// pyproject.toml or a conda environment, locked, or installed.
type Requirement struct {
	Name string // normalised as PEP 503 does: lower case, runs of -_. as -
	// Ecosystem is "pypi", or "conda" for a conda package.
	Ecosystem string
	// Spec is the version constraint as written ("==2.1.0", ">=1.4",
	// "^1.2", "@ https://..."), "" when there is none.
	Spec string
	// Version is the exact version when the requirement pins one.
	Version string
	Pinned  bool
	Source  string // FILE:LINE, or FILE and a key for TOML
	// Kind says where the version comes from: declared, locked or
	// installed. A locked or installed version is exact.
	Kind string
	// Hashed says the requirement carries --hash options.
	Hashed bool
	// Markers are its environment markers (python_version < "3.10").
	Markers string
}

// Kinds of requirement.
const (
	Declared  = "declared"
	Locked    = "locked"
	Installed = "installed"
)

// PURL returns the requirement's package URL.
func (r Requirement) PURL() string {
	p := "pkg:" + r.Ecosystem + "/" + r.Name
	if r.Pinned {
		p += "@" + r.Version
	}
	return p
}

// maxDepsFile bounds the size of a dependency file read, so that a hostile
// model directory cannot make the BOM read gigabytes.
const maxDepsFile = 4 << 20

// FindRequirements reads the Python dependency files beside a model: in
// the model directory, or beside a single-file model: requirements*.txt,
// pyproject.toml and environment.yml (or .yaml). A file that cannot be
// parsed is an error naming it; a model with none has no requirements.
func FindRequirements(modelPath string) ([]Requirement, error) {
	dir := modelPath
	if info, err := os.Stat(modelPath); err != nil {
		return nil, err
	} else if !info.IsDir() {
		dir = filepath.Dir(modelPath)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var out []Requirement
	for _, e := range entries {
		name := e.Name()
		lower := strings.ToLower(name)
		var parse func(string, []byte) ([]Requirement, error)
		switch {
		case strings.HasPrefix(lower, "requirements") && strings.HasSuffix(lower, ".txt"):
			parse = ParseRequirements
		case lower == "pyproject.toml":
			parse = ParsePyproject
		case lower == "environment.yml" || lower == "environment.yaml":
			parse = ParseEnvironment
		default:
			continue
		}
		if !e.Type().IsRegular() {
			continue
		}
		b, err := readBounded(filepath.Join(dir, name))
		if err != nil {
			return nil, err
		}
		reqs, err := parse(name, b)
		if err != nil {
			return nil, err
		}
		out = append(out, reqs...)
	}
	return out, nil
}

func readBounded(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxDepsFile+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxDepsFile {
		return nil, fmt.Errorf("%s is larger than a dependency file may be (%d bytes)", path, maxDepsFile)
	}
	return b, nil
}

// pep508 is a PEP 508 requirement: a name, extras, then a version
// specifier or a direct reference, then markers.
var (
	pep508Name = regexp.MustCompile(`^([A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)\s*(\[[^\]]*\])?\s*(.*)$`)
	normalise  = regexp.MustCompile(`[-_.]+`)
)

// ParseRequirements parses a pip requirements file. Options (-r, -c, -e,
// --index-url) are skipped; a requirement is pinned when its only
// specifier is == (or ===) of a version without wildcards.
func ParseRequirements(name string, b []byte) ([]Requirement, error) {
	var out []Requirement
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 0, 64<<10), maxDepsFile)
	lineNo, start := 0, 0
	var pending strings.Builder
	for sc.Scan() {
		lineNo++
		line := sc.Text()
		if pending.Len() == 0 {
			start = lineNo
		}
		// A trailing backslash continues the line.
		if strings.HasSuffix(line, "\\") {
			pending.WriteString(strings.TrimSuffix(line, "\\"))
			pending.WriteByte(' ')
			continue
		}
		pending.WriteString(line)
		full := pending.String()
		pending.Reset()
		if i := strings.Index(full, " #"); i >= 0 {
			full = full[:i]
		}
		full = strings.TrimSpace(full)
		if full == "" || strings.HasPrefix(full, "#") || strings.HasPrefix(full, "-") {
			continue
		}
		// Per-requirement options (--hash=...) follow the requirement.
		hashed := strings.Contains(full, "--hash")
		if i := strings.Index(full, " --"); i >= 0 {
			full = strings.TrimSpace(full[:i])
		}
		r, err := parsePEP508(full)
		r.Hashed = hashed
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %w", name, start, err)
		}
		if r.Name == "" {
			continue // a bare URL or path: nothing to name
		}
		r.Source = fmt.Sprintf("%s:%d", name, start)
		out = append(out, r)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return out, nil
}

// parsePEP508 parses one requirement; a URL or a path is skipped (Name "").
func parsePEP508(s string) (Requirement, error) {
	markers := ""
	if i := strings.IndexByte(s, ';'); i >= 0 {
		s, markers = strings.TrimSpace(s[:i]), strings.TrimSpace(s[i+1:])
	}
	if strings.Contains(s, "://") && !strings.Contains(s, "@") || strings.HasPrefix(s, ".") || strings.HasPrefix(s, "/") {
		return Requirement{}, nil
	}
	m := pep508Name.FindStringSubmatch(s)
	if m == nil {
		return Requirement{}, fmt.Errorf("%q is not a requirement (PEP 508)", s)
	}
	r := Requirement{Name: normaliseName(m[1]), Ecosystem: "pypi", Spec: strings.TrimSpace(m[3]), Kind: Declared, Markers: markers}
	spec := strings.ReplaceAll(r.Spec, " ", "")
	switch {
	case strings.HasPrefix(spec, "("):
		spec = strings.Trim(spec, "()")
		r.Spec = spec
	case strings.HasPrefix(spec, "@"):
		return r, nil // a direct reference: not a version pin
	}
	for _, op := range []string{"===", "=="} {
		v, ok := strings.CutPrefix(spec, op)
		if ok && v != "" && !strings.ContainsAny(v, ",*<>=!~") {
			r.Version, r.Pinned = v, true
			break
		}
	}
	return r, nil
}

func normaliseName(s string) string {
	return strings.ToLower(normalise.ReplaceAllString(s, "-"))
}

// ParsePyproject reads [project] dependencies and optional dependencies
// (PEP 621) and [tool.poetry] dependencies. A bare Poetry version is
// exact, so pinned; ^, ~ and ranges are not.
func ParsePyproject(name string, b []byte) ([]Requirement, error) {
	var doc struct {
		Project struct {
			Dependencies         []string            `toml:"dependencies"`
			OptionalDependencies map[string][]string `toml:"optional-dependencies"`
		} `toml:"project"`
		Tool struct {
			Poetry struct {
				Dependencies    map[string]any `toml:"dependencies"`
				DevDependencies map[string]any `toml:"dev-dependencies"`
				Group           map[string]struct {
					Dependencies map[string]any `toml:"dependencies"`
				} `toml:"group"`
			} `toml:"poetry"`
			PDM struct {
				DevDependencies map[string][]string `toml:"dev-dependencies"`
			} `toml:"pdm"`
			UV struct {
				DevDependencies []string `toml:"dev-dependencies"`
			} `toml:"uv"`
		} `toml:"tool"`
		// DependencyGroups (PEP 735) hold requirements and
		// {include-group = "..."} tables, which add nothing new.
		DependencyGroups map[string][]any `toml:"dependency-groups"`
	}
	if err := toml.Unmarshal(b, &doc); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	var out []Requirement
	add := func(key string, specs []string) error {
		for i, s := range specs {
			r, err := parsePEP508(strings.TrimSpace(s))
			if err != nil {
				return fmt.Errorf("%s: %s[%d]: %w", name, key, i, err)
			}
			if r.Name != "" {
				r.Source = fmt.Sprintf("%s: %s[%d]", name, key, i)
				out = append(out, r)
			}
		}
		return nil
	}
	if err := add("project.dependencies", doc.Project.Dependencies); err != nil {
		return nil, err
	}
	for _, group := range sortedKeys(doc.Project.OptionalDependencies) {
		if err := add("project.optional-dependencies."+group, doc.Project.OptionalDependencies[group]); err != nil {
			return nil, err
		}
	}
	for _, group := range sortedKeys(doc.Tool.PDM.DevDependencies) {
		if err := add("tool.pdm.dev-dependencies."+group, doc.Tool.PDM.DevDependencies[group]); err != nil {
			return nil, err
		}
	}
	if err := add("tool.uv.dev-dependencies", doc.Tool.UV.DevDependencies); err != nil {
		return nil, err
	}
	for _, group := range sortedKeys(doc.DependencyGroups) {
		var specs []string
		for _, e := range doc.DependencyGroups[group] {
			if s, ok := e.(string); ok {
				specs = append(specs, s)
			}
		}
		if err := add("dependency-groups."+group, specs); err != nil {
			return nil, err
		}
	}
	poetry := []struct {
		key  string
		deps map[string]any
	}{{"tool.poetry.dependencies", doc.Tool.Poetry.Dependencies}, {"tool.poetry.dev-dependencies", doc.Tool.Poetry.DevDependencies}}
	for _, g := range sortedKeys(doc.Tool.Poetry.Group) {
		poetry = append(poetry, struct {
			key  string
			deps map[string]any
		}{"tool.poetry.group." + g + ".dependencies", doc.Tool.Poetry.Group[g].Dependencies})
	}
	for _, table := range poetry {
		for _, pkg := range sortedKeys(table.deps) {
			if strings.EqualFold(pkg, "python") {
				continue
			}
			spec := ""
			switch v := table.deps[pkg].(type) {
			case string:
				spec = v
			case map[string]any:
				spec, _ = v["version"].(string)
			}
			r := Requirement{Name: normaliseName(pkg), Ecosystem: "pypi", Spec: spec, Source: name + ": " + table.key + "." + pkg, Kind: Declared}
			v := strings.TrimPrefix(strings.TrimSpace(spec), "==")
			if v != "" && !strings.ContainsAny(v, "^~*<>=!, |") {
				r.Version, r.Pinned = v, true
			}
			out = append(out, r)
		}
	}
	return out, nil
}

// ParseEnvironment reads a conda environment file: conda packages
// ("numpy=1.26.4", "conda-forge::numpy==1.26.4=py311_0") and the pip
// list inside it. A conda package is pinned by an exact version without
// wildcards.
func ParseEnvironment(name string, b []byte) ([]Requirement, error) {
	var doc struct {
		Dependencies []yaml.Node `yaml:"dependencies"`
	}
	if err := yaml.Unmarshal(b, &doc); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	var out []Requirement
	for _, n := range doc.Dependencies {
		switch n.Kind {
		case yaml.ScalarNode:
			r, err := parseConda(n.Value)
			if err != nil {
				return nil, fmt.Errorf("%s:%d: %w", name, n.Line, err)
			}
			r.Source = fmt.Sprintf("%s:%d", name, n.Line)
			out = append(out, r)
		case yaml.MappingNode:
			var pip struct {
				Pip []yaml.Node `yaml:"pip"`
			}
			if err := n.Decode(&pip); err != nil {
				return nil, fmt.Errorf("%s:%d: %w", name, n.Line, err)
			}
			for _, p := range pip.Pip {
				if p.Kind != yaml.ScalarNode || strings.HasPrefix(strings.TrimSpace(p.Value), "-") {
					continue
				}
				r, err := parsePEP508(strings.TrimSpace(p.Value))
				if err != nil {
					return nil, fmt.Errorf("%s:%d: %w", name, p.Line, err)
				}
				if r.Name != "" {
					r.Source = fmt.Sprintf("%s:%d", name, p.Line)
					out = append(out, r)
				}
			}
		default:
			return nil, fmt.Errorf("%s:%d: a dependency must be a package or a pip list", name, n.Line)
		}
	}
	return out, nil
}

var condaSpec = regexp.MustCompile(`^(?:[A-Za-z0-9_.-]+::)?([A-Za-z0-9][A-Za-z0-9_.-]*)\s*(.*)$`)

func parseConda(s string) (Requirement, error) {
	m := condaSpec.FindStringSubmatch(strings.TrimSpace(s))
	if m == nil {
		return Requirement{}, fmt.Errorf("%q is not a conda package spec", s)
	}
	r := Requirement{Name: strings.ToLower(m[1]), Ecosystem: "conda", Spec: strings.TrimSpace(m[2]), Kind: Declared}
	// "=1.2", "==1.2", "=1.2=build" and "1.2 build" forms.
	spec := strings.TrimSpace(r.Spec)
	var v string
	switch {
	case strings.HasPrefix(spec, "=="):
		v = spec[2:]
	case strings.HasPrefix(spec, "="):
		v = spec[1:]
	case spec != "" && spec[0] >= '0' && spec[0] <= '9':
		v = spec
	}
	v, _, _ = strings.Cut(v, "=")
	v, _, _ = strings.Cut(strings.TrimSpace(v), " ")
	if v != "" && !strings.ContainsAny(v, "*<>!,|") {
		r.Version, r.Pinned = v, true
	}
	return r, nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
