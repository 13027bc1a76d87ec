package deps

import (
	"bufio"
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// File is a dependency file and what it holds.
type File struct {
	Path         string        `json:"path"`
	Format       string        `json:"format"`
	Requirements []Requirement `json:"requirements"`
}

// parserFor returns the parser of a dependency file by its name (and,
// for installed packages, its directory), or nil.
func parserFor(path string) (string, func(string, []byte) ([]Requirement, error)) {
	base := filepath.Base(path)
	lower := strings.ToLower(base)
	dir := filepath.Base(filepath.Dir(path))
	switch {
	case strings.HasPrefix(lower, "requirements") && strings.HasSuffix(lower, ".txt"),
		strings.HasSuffix(lower, ".txt") && strings.HasPrefix(strings.ToLower(dir), "requirements"):
		return "requirements", ParseRequirements
	case lower == "pyproject.toml":
		return "pyproject", ParsePyproject
	case lower == "poetry.lock", lower == "uv.lock", lower == "pylock.toml",
		strings.HasPrefix(lower, "pylock.") && strings.HasSuffix(lower, ".toml"):
		return strings.TrimSuffix(lower, filepath.Ext(lower)), ParseTOMLLock
	case lower == "pipfile.lock":
		return "pipfile.lock", ParsePipfileLock
	case lower == "environment.yml", lower == "environment.yaml":
		return "conda-environment", ParseEnvironment
	case dir == "conda-meta" && strings.HasSuffix(lower, ".json"):
		return "conda-meta", ParseCondaMeta
	case base == "METADATA" && strings.HasSuffix(dir, ".dist-info"), base == "PKG-INFO" && strings.HasSuffix(dir, ".egg-info"):
		return "installed", ParseMetadata
	}
	return "", nil
}

// skipDirs hold no dependency files of the project's own.
var skipDirs = map[string]bool{".git": true, ".hg": true, ".svn": true, "node_modules": true, "__pycache__": true,
	".mypy_cache": true, ".pytest_cache": true, ".ruff_cache": true, ".tox": true}

// Find walks the roots (directories or files) for dependency files and
// parses them; requirements files are followed into the files they
// include (-r, -c). A file that cannot be read or parsed is an error
// naming it: a scan that skipped one would under-report.
func Find(roots []string) ([]File, error) {
	var out []File
	seen := map[string]bool{}
	var add func(path, format string, parse func(string, []byte) ([]Requirement, error), depth int) error
	add = func(path, format string, parse func(string, []byte) ([]Requirement, error), depth int) error {
		abs, err := filepath.Abs(path)
		if err != nil {
			return err
		}
		if seen[abs] {
			return nil
		}
		seen[abs] = true
		b, err := readBounded(path)
		if err != nil {
			return err
		}
		reqs, err := parse(path, b)
		if err != nil {
			return err
		}
		out = append(out, File{Path: path, Format: format, Requirements: reqs})
		if format != "requirements" {
			return nil
		}
		for _, inc := range includes(b) {
			if depth >= 8 {
				return fmt.Errorf("%s: includes nest deeper than 8", path)
			}
			p := filepath.Join(filepath.Dir(path), inc)
			if err := add(p, "requirements", ParseRequirements, depth+1); err != nil {
				return fmt.Errorf("included from %s: %w", path, err)
			}
		}
		return nil
	}
	for _, root := range roots {
		fi, err := os.Stat(root)
		if err != nil {
			return nil, err
		}
		if !fi.IsDir() {
			format, parse := parserFor(root)
			if parse == nil {
				format, parse = "requirements", ParseRequirements // a file named on the command line
			}
			if err := add(root, format, parse, 0); err != nil {
				return nil, err
			}
			continue
		}
		err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() {
				if p != root && skipDirs[d.Name()] {
					return filepath.SkipDir
				}
				return nil
			}
			if !d.Type().IsRegular() {
				return nil
			}
			if format, parse := parserFor(p); parse != nil {
				return add(p, format, parse, 0)
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// includes lists the files a requirements file includes with -r or -c
// (and their long forms).
func includes(b []byte) []string {
	var out []string
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(nil, maxDepsFile)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 0 {
			continue
		}
		switch {
		case (f[0] == "-r" || f[0] == "-c" || f[0] == "--requirement" || f[0] == "--constraint") && len(f) > 1:
			out = append(out, f[1])
		case strings.HasPrefix(f[0], "--requirement="), strings.HasPrefix(f[0], "--constraint="):
			_, v, _ := strings.Cut(f[0], "=")
			out = append(out, v)
		case strings.HasPrefix(f[0], "-r") && len(f[0]) > 2, strings.HasPrefix(f[0], "-c") && len(f[0]) > 2:
			out = append(out, f[0][2:])
		}
	}
	return out
}

// Beside returns the dependency files beside a model: in its directory,
// or in the directory of a single-file model, not below.
func Beside(modelPath string) ([]File, error) {
	dir := modelPath
	fi, err := os.Stat(modelPath)
	if err != nil {
		return nil, err
	}
	if !fi.IsDir() {
		dir = filepath.Dir(modelPath)
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var paths []string
	for _, e := range ents {
		p := filepath.Join(dir, e.Name())
		if _, parse := parserFor(p); parse != nil && e.Type().IsRegular() {
			paths = append(paths, p)
		}
	}
	if len(paths) == 0 {
		return nil, nil
	}
	return Find(paths)
}

// IsDependencyFile reports whether a path names a file Find reads.
func IsDependencyFile(path string) bool {
	_, parse := parserFor(path)
	return parse != nil
}
