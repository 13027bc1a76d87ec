// Package posture checks AI infrastructure configuration: Dockerfiles,
// Kubernetes manifests, compose files and Terraform, read into one set of
// documents that Rego rules judge together (a bucket's encryption may be
// declared in a resource of its own).
package posture

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Kinds of document.
const (
	KindDockerfile = "dockerfile"
	KindKubernetes = "kubernetes"
	KindCompose    = "compose"
	KindTerraform  = "terraform"
)

// Document is one configuration object as the rules see it: a Dockerfile,
// one Kubernetes object, one compose file, or one Terraform file.
type Document struct {
	Kind string `json:"kind"`
	Path string `json:"path"`
	// Index is the document's place in a multi-document YAML file.
	Index int `json:"index"`
	// Line is where the document starts.
	Line int `json:"line"`
	// Content is the parsed document: for Kubernetes and compose the YAML
	// as JSON values; for a Dockerfile its stages and instructions; for
	// Terraform its resources.
	Content any `json:"content"`
}

// maxFile bounds a configuration file read.
const maxFile = 16 << 20

// skipDirs hold no configuration of the estate's own.
var skipDirs = map[string]bool{".git": true, "node_modules": true, ".terraform": true, "vendor": true, "__pycache__": true}

// Load reads the configuration files under the paths (directories or
// files). A file that is a configuration but does not parse is an error
// naming it and where: a rule cannot judge what it cannot read.
func Load(paths []string) ([]Document, error) {
	var out []Document
	for _, root := range paths {
		fi, err := os.Stat(root)
		if err != nil {
			return nil, err
		}
		if !fi.IsDir() {
			docs, err := loadFile(root, true)
			if err != nil {
				return nil, err
			}
			out = append(out, docs...)
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
			docs, err := loadFile(p, false)
			out = append(out, docs...)
			return err
		})
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// kindOf names a file's kind from its name; named says the user named the
// file, so that a YAML file is read whatever it is called.
func kindOf(path string, named bool) string {
	base := strings.ToLower(filepath.Base(path))
	ext := filepath.Ext(base)
	switch {
	case base == "dockerfile", strings.HasPrefix(base, "dockerfile."), strings.HasSuffix(base, ".dockerfile"), base == "containerfile":
		return KindDockerfile
	case ext == ".tf":
		return KindTerraform
	case ext == ".yaml", ext == ".yml":
		return "yaml"
	case named && ext == ".json":
		return "yaml" // JSON is YAML
	}
	return ""
}

func loadFile(path string, named bool) ([]Document, error) {
	kind := kindOf(path, named)
	if kind == "" {
		if named {
			return nil, fmt.Errorf("%s: not a Dockerfile, Kubernetes or compose YAML, or Terraform file", path)
		}
		return nil, nil
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxFile+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxFile {
		return nil, fmt.Errorf("%s: larger than %d bytes", path, maxFile)
	}
	switch kind {
	case KindDockerfile:
		d, err := ParseDockerfile(path, b)
		if err != nil {
			return nil, err
		}
		return []Document{d}, nil
	case KindTerraform:
		d, err := ParseTerraform(path, b)
		if err != nil {
			return nil, err
		}
		return []Document{d}, nil
	}
	return ParseYAML(path, b)
}

// ParseYAML reads the documents of a YAML file that are Kubernetes
// objects (apiVersion and kind) or compose files (services); other YAML
// is not configuration the rules judge and is left out.
func ParseYAML(path string, b []byte) ([]Document, error) {
	dec := yaml.NewDecoder(bytes.NewReader(b))
	var out []Document
	for i := 0; ; i++ {
		var node yaml.Node
		err := dec.Decode(&node)
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("%s: document %d: %w", path, i+1, err)
		}
		var v any
		if err := node.Decode(&v); err != nil {
			return nil, fmt.Errorf("%s: document %d: %w", path, i+1, err)
		}
		m, ok := jsonable(v).(map[string]any)
		if !ok {
			continue
		}
		line := node.Line
		if len(node.Content) > 0 {
			line = node.Content[0].Line
		}
		switch {
		case m["apiVersion"] != nil && m["kind"] != nil:
			out = append(out, Document{Kind: KindKubernetes, Path: path, Index: i, Line: line, Content: m})
			// A List holds objects: each is judged as one.
			if items, ok := m["items"].([]any); ok && strings.HasSuffix(fmt.Sprint(m["kind"]), "List") {
				for _, it := range items {
					if im, ok := it.(map[string]any); ok && im["kind"] != nil {
						out = append(out, Document{Kind: KindKubernetes, Path: path, Index: i, Line: line, Content: im})
					}
				}
			}
		case m["services"] != nil:
			if _, ok := m["services"].(map[string]any); ok {
				out = append(out, Document{Kind: KindCompose, Path: path, Index: i, Line: line, Content: m})
			}
		}
	}
}

// jsonable turns YAML values into JSON ones: maps with string keys.
func jsonable(v any) any {
	switch v := v.(type) {
	case map[string]any:
		for k, x := range v {
			v[k] = jsonable(x)
		}
		return v
	case map[any]any:
		m := make(map[string]any, len(v))
		for k, x := range v {
			m[fmt.Sprint(k)] = jsonable(x)
		}
		return m
	case []any:
		for i, x := range v {
			v[i] = jsonable(x)
		}
		return v
	}
	return v
}
