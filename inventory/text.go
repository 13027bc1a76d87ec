package inventory

import (
	"bytes"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/modelgate/modelgate/supplychain/deps"
	"go.yaml.in/yaml/v3"
)

// text classifies a text file: a table of data, a notebook, an MCP or
// serving configuration, code that calls AI, a model card, declared Python
// dependencies; and any text may hold AI keys.
func (sn *sniffer) text(f *file) error {
	// A table is judged by its head: its rows are classified as data,
	// credentials included, so the rest need not be read here.
	if kind, comma := textTable(f.name, f.head); kind != "" {
		_ = comma
		return sn.dataset(f, kind)
	}
	b, err := f.all(maxText)
	if err != nil {
		return err
	}
	lower := strings.ToLower(f.name)
	ext := filepath.Ext(lower)
	switch {
	case ext == ".ipynb" || b[0] == '{' && bytes.Contains(b[:min(len(b), 4096)], []byte(`"cells"`)) && bytes.Contains(b, []byte(`"nbformat"`)):
		if ok, err := sn.notebook(f, b); ok || err != nil {
			return err
		}
	case b[0] == '{' || ext == ".json" || ext == ".jsonc":
		if sn.mcpConfig(f, b) {
			sn.keys(f, b, "")
			return nil
		}
	}
	if lang := codeLanguage(f.name, f.head); lang != "" {
		if a := sn.code(f, b, lang, KindCode); a != nil {
			sn.add(*a)
		}
		sn.keys(f, b, "")
		return nil
	}
	sn.serving(f, b)
	switch {
	case ext == ".md" || strings.HasPrefix(lower, "readme") || strings.HasPrefix(lower, "model_card") || strings.HasPrefix(lower, "modelcard"):
		sn.modelCard(f, b)
	case strings.HasPrefix(lower, "requirements") && ext == ".txt", lower == "pyproject.toml",
		lower == "environment.yml", lower == "environment.yaml":
		sn.packages(f, b)
	}
	sn.keys(f, b, "")
	return nil
}

// frontMatter returns a markdown file's YAML front matter.
func frontMatter(b []byte) map[string]any {
	b = bytes.TrimPrefix(b, []byte("\xef\xbb\xbf"))
	if !bytes.HasPrefix(b, []byte("---\n")) && !bytes.HasPrefix(b, []byte("---\r\n")) {
		return nil
	}
	rest := b[bytes.IndexByte(b, '\n')+1:]
	end := bytes.Index(rest, []byte("\n---"))
	if end < 0 {
		return nil
	}
	var m map[string]any
	if yaml.Unmarshal(rest[:end], &m) != nil {
		return nil
	}
	return m
}

// cardKeys are front-matter keys only a model card has (the Hugging Face
// model card metadata); a dataset card has task_categories instead.
var cardKeys = []string{"pipeline_tag", "library_name", "base_model", "model-index", "model_name"}

// modelCard records a model card: a markdown file whose front matter
// describes a model.
func (sn *sniffer) modelCard(f *file, b []byte) {
	fm := frontMatter(b)
	if fm == nil || fm["task_categories"] != nil {
		return
	}
	isCard := false
	for _, k := range cardKeys {
		isCard = isCard || fm[k] != nil
	}
	if !isCard {
		return
	}
	a := Asset{Kind: KindModelCard, Path: f.path, Name: filepath.Base(filepath.Dir(f.path)), Format: "markdown", Size: f.size}
	if repo, rev, _, ok := hfCoordinates(f.path); ok {
		a.Name = repo
		a.attr("hf_revision", rev)
	}
	for _, k := range []string{"license", "pipeline_tag", "library_name", "base_model", "model_name", "datasets", "language"} {
		a.attr(k, yamlText(fm[k]))
	}
	if n := a.Attrs["model_name"]; n != "" {
		a.Name = n
	}
	sn.fingerprint(f, &a)
	sn.add(a)
}

// yamlText writes a scalar or a list of scalars as text.
func yamlText(v any) string {
	switch v := v.(type) {
	case nil:
		return ""
	case []any:
		parts := make([]string, 0, len(v))
		for _, e := range v {
			parts = append(parts, yamlText(e))
		}
		return strings.Join(parts, ",")
	case map[string]any:
		return ""
	}
	return fmt.Sprint(v)
}

// packages records the Python dependencies a file declares, for the BOM.
func (sn *sniffer) packages(f *file, b []byte) {
	var reqs []deps.Requirement
	var err error
	switch lower := strings.ToLower(f.name); {
	case lower == "pyproject.toml":
		reqs, err = deps.ParsePyproject(f.path, b)
	case strings.HasPrefix(lower, "environment."):
		reqs, err = deps.ParseEnvironment(f.path, b)
	default:
		reqs, err = deps.ParseRequirements(f.path, b)
	}
	if err != nil {
		sn.fail(f.path, err)
		return
	}
	if len(reqs) == 0 {
		return
	}
	a := Asset{Kind: KindPackages, Path: f.path, Name: f.name, Format: "python", Size: f.size}
	unpinned := 0
	for _, r := range reqs {
		a.Packages = append(a.Packages, Package{Name: r.Name, Ecosystem: r.Ecosystem, Spec: r.Spec, Version: r.Version, Pinned: r.Pinned, Source: r.Source})
		if !r.Pinned {
			unpinned++
		}
	}
	a.attr("packages", fmt.Sprint(len(reqs)))
	if unpinned > 0 {
		a.attr("unpinned", fmt.Sprint(unpinned))
	}
	sn.fingerprint(f, &a)
	sn.add(a)
}

// linkCards gives each model the licence and card of the model card in
// its directory (or, in a hub cache, of its repository's snapshot).
func linkCards(assets []Asset) {
	cards := map[string]*Asset{}
	for i := range assets {
		if assets[i].Kind == KindModelCard {
			cards[filepath.Dir(assets[i].Path)] = &assets[i]
		}
	}
	if len(cards) == 0 {
		return
	}
	for i := range assets {
		a := &assets[i]
		if a.Kind != KindModel {
			continue
		}
		c := cards[filepath.Dir(a.Path)]
		if c == nil {
			continue
		}
		a.attr("card", c.Path)
		if a.Attrs["license"] == "" {
			a.attr("license", c.Attrs["license"])
		}
		if a.Attrs["base_model"] == "" {
			a.attr("base_model", c.Attrs["base_model"])
		}
	}
}
