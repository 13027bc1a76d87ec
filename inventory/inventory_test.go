package inventory

import (
	"encoding/binary"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestFoundByContentWhenMisnamed hides each kind of asset under a name
// that says nothing (or says something else): the inventory must find it
// by what the file holds.
func TestFoundByContentWhenMisnamed(t *testing.T) {
	dir := t.TempDir()
	nb, _ := json.Marshal(map[string]any{"nbformat": 4, "metadata": map[string]any{"kernelspec": map[string]string{"language": "python"}},
		"cells": []any{map[string]any{"cell_type": "code", "source": []string{"import anthropic\n", "c = anthropic.Anthropic()\n"},
			"outputs": []any{map[string]any{"output_type": "stream", "text": []string{"contact: jane.doe@example.com\n"}}}}}})
	cases := []struct {
		name   string
		body   []byte
		kind   Kind
		format string
		attrs  map[string]string
	}{
		{"notes.txt", pickleProto4, KindModel, "pickle", nil},
		{"data.bin", torchZip(t), KindModel, "pytorch", nil},
		{"weights.dat", safetensors(t, map[string][]int64{"w": {8, 8}, "b": {8}}, 144), KindModel, "safetensors", map[string]string{"parameters": "72", "dtypes": "F16"}},
		{"model.bin", ggufFile(64), KindModel, "gguf", map[string]string{"architecture": "llama", "quantization": "Q4_K_M", "license": "apache-2.0", "parameters": "16.8M"}},
		{"graph.bin", onnx(100), KindModel, "onnx", map[string]string{"producer": "pytorch"}},
		{"clf.dat", gzipped(t, pickleProto4), KindModel, "joblib+gzip", nil},
		{"weights.bin", append([]byte("\x89HDF\r\n\x1a\n"), []byte("\x00\x00keras_version\x003.1.0")...), KindModel, "keras-h5", nil},
		{"tflite.bin", append([]byte("\x1c\x00\x00\x00TFL3"), make([]byte, 32)...), KindModel, "tflite", nil},
		{"customers.dat", []byte("id,name,email\n1,Ann,ann@example.com\n2,Bob,bob@example.org\n3,Cy,cy@example.net\n4,Di,di@example.com\n"), KindDataset, "csv", map[string]string{"classification": "pii"}},
		{"records.data", []byte("{\"q\":\"hi\",\"a\":\"there\"}\n{\"q\":\"x\",\"a\":\"y\"}\n"), KindDataset, "jsonl", nil},
		{"export.gz", gzipped(t, []byte("a\tb\n1\t2\n3\t4\n5\t6\n7\t8\n")), KindDataset, "tsv+gzip", nil},
		{"tool", []byte("#!/usr/bin/env python3\nimport anthropic\nclient = anthropic.Anthropic()\nclient.messages.create(model=\"claude-sonnet-4-5\", max_tokens=10, messages=[])\n"), KindCode, "python", map[string]string{"providers": "Anthropic", "models": "claude-sonnet-4-5"}},
		{"analysis.json", nb, KindNotebook, "ipynb", map[string]string{"providers": "Anthropic"}},
		{"settings.json", []byte(`{"editor.fontSize": 12, "mcpServers": {"files": {"command": "uvx", "args": ["mcp-server-fs==1.2.0"]}}}`), KindMCP, "mcp-config", map[string]string{"package": "mcp-server-fs==1.2.0"}},
		{"deploy.txt", []byte("apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: chat}\nspec:\n  template:\n    spec:\n      containers:\n      - name: s\n        image: ghcr.io/huggingface/text-generation-inference:2.4\n        args: [\"--model-id\", \"mistralai/Mistral-7B-v0.3\"]\n"), KindServing, "kubernetes", map[string]string{"server": "TGI", "models": "mistralai/Mistral-7B-v0.3"}},
		{"config.txt", []byte("name: \"resnet\"\nplatform: \"onnxruntime_onnx\"\nmax_batch_size: 8\ninput [\n  { name: \"x\" data_type: TYPE_FP32 dims: [3] }\n]\n"), KindServing, "triton-config", map[string]string{"server": "Triton"}},
		{"assistant.conf", []byte("FROM llama3.1:8b\nPARAMETER temperature 0.2\nSYSTEM You answer briefly.\n"), KindServing, "ollama-modelfile", map[string]string{"base_model": "llama3.1:8b"}},
		{"notes.md", []byte("use this: " + key("hf_", 34, letters) + " for the hub\n"), KindKey, "", map[string]string{"provider": "Hugging Face"}},
	}
	for _, c := range cases {
		write(t, dir, c.name, c.body)
	}
	parquetFile(t, dir, "table.bin")
	inv := scan(t, nil, dir)
	for _, c := range cases {
		got := byPath(inv, filepath.Join(dir, c.name))[c.kind]
		if len(got) != 1 {
			t.Errorf("%s: want one %s, found %d (all: %v)", c.name, c.kind, len(got), kindsOf(inv, filepath.Join(dir, c.name)))
			continue
		}
		if got[0].Format != c.format {
			t.Errorf("%s: format %q, want %q", c.name, got[0].Format, c.format)
		}
		for k, v := range c.attrs {
			if got[0].Attrs[k] != v {
				t.Errorf("%s: %s = %q, want %q (attrs %v)", c.name, k, got[0].Attrs[k], v, got[0].Attrs)
			}
		}
	}
	pq := byPath(inv, filepath.Join(dir, "table.bin"))[KindDataset]
	if len(pq) != 1 || pq[0].Format != "parquet" || pq[0].Attrs["classification"] != "pii" {
		t.Errorf("parquet dataset: %+v", pq)
	}
	// A notebook's saved output with personal data is a finding.
	nbA := byPath(inv, filepath.Join(dir, "analysis.json"))[KindNotebook]
	if len(nbA) != 1 || !hasRule(nbA[0], "INV-NB-PII") {
		t.Errorf("notebook output PII not reported: %+v", nbA)
	}
}

func kindsOf(inv *Inventory, path string) []string {
	var out []string
	for k, as := range byPath(inv, path) {
		for _, a := range as {
			out = append(out, string(k)+"/"+a.Format)
		}
	}
	return out
}

func hasRule(a Asset, rule string) bool {
	for _, f := range a.Findings {
		if f.RuleID == rule {
			return true
		}
	}
	return false
}

// TestLookAlikesAreNotAssets names text and other files as models,
// datasets and configurations, and writes text that resembles them: none
// may be reported.
func TestLookAlikesAreNotAssets(t *testing.T) {
	dir := t.TempDir()
	cases := map[string][]byte{
		"model.pt":            []byte("This checkpoint moved to the shared drive.\n"),
		"weights.pkl":         []byte("cat\nnothing to see here\n"), // starts like a protocol 0 pickle
		"weights.safetensors": []byte("version https://git-lfs.github.com/spec/v1\noid sha256:abc\nsize 12\n"),
		"model.onnx":          []byte("an onnx model would be here\n"),
		"model.gguf":          []byte("GGUX not really\n"),
		"header-only.csv":     []byte("id,name,email\n"),
		"bundle.zip":          plainZip(t),
		"prose.txt":           []byte("one, two\nthree, four\nfive, six\nseven, eight\nnine, ten\n"),
		"table.md":            []byte("a,b\n1,2\n3,4\n5,6\n7,8\n"),
		"airport.py":          []byte("import openairport\nfrom anthropicology import study\nprint('gpt-4o')\n"),
		"servers.json":        []byte(`{"servers": {"web": {"command": "nginx"}}}`),
		"Dockerfile":          []byte("FROM python:3.12\nRUN pip install flask\nCMD [\"python\", \"app.py\"]\n"),
		"web.yaml":            []byte("apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec:\n  template:\n    spec:\n      containers:\n      - name: web\n        image: nginx:1.27\n"),
		"README.md":           []byte("---\ntask_categories: [text-classification]\nlicense: mit\n---\n# A dataset card\n"),
		"plain.ipynb":         []byte(`{"nbformat": 4, "metadata": {}, "cells": [{"cell_type": "code", "source": "print(1+1)", "outputs": []}]}`),
		"docs.md":             []byte("Set OPENAI_API_KEY=sk-... and HF_TOKEN=hf_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\n"),
		"random.bin":          {0x08, 0x96, 0x01, 0x12, 0xff, 0xff, 0xff, 0x0f},                  // a protobuf-looking start whose length runs off the end
		"image.png":           append([]byte("\x89PNG\r\n\x1a\n{\x00\x01"), make([]byte, 64)...), // ninth byte '{', as in safetensors
		"short.safetensors":   append(binary.LittleEndian.AppendUint64(nil, 2), []byte("{}")...), // a header with no tensors
		"bad.gguf":            []byte("GGUF\x09\x00\x00\x00 unknown version"),
		"proto.bin":           {0x80, 0x03, 0xff, 0x00, 0x01},                                                 // PROTO 3, then no opcode
		"frame.bin":           append([]byte{0x80, 0x04, 0x95, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0}, 'N', '.'), // a frame longer than the file
	}
	for name, b := range cases {
		write(t, dir, name, b)
	}
	inv := scan(t, nil, dir)
	for _, a := range inv.Assets {
		t.Errorf("look-alike reported: %s %s (%s) %v", a.Kind, filepath.Base(a.Path), a.Format, a.Attrs)
	}
	if inv.Stats.Files != int64(len(cases)) {
		t.Errorf("walked %d files, want %d", inv.Stats.Files, len(cases))
	}
}

// TestHuggingFaceCache lays out a hub cache as huggingface_hub writes it:
// the repository and revision come from the path, the digest from the
// blob the snapshot links to, and blobs are not counted twice.
func TestHuggingFaceCache(t *testing.T) {
	dir := t.TempDir()
	repo := filepath.Join(dir, "hub", "models--mistralai--Mistral-7B-v0.3")
	body := safetensors(t, map[string][]int64{"w": {4, 4}}, 32)
	const digest = "1f0e3dad99908345f7439f8ffabdffc4c1f0e3dad99908345f7439f8ffabdffc"
	write(t, repo, "blobs/"+digest, body)
	write(t, repo, "blobs/0123456789abcdef0123456789abcdef01234567", []byte(`{"architectures": ["MistralForCausalLM"], "model_type": "mistral"}`))
	snap := filepath.Join(repo, "snapshots", "8e5a5b9c")
	if err := os.MkdirAll(snap, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, target := range map[string]string{"model.safetensors": digest, "config.json": "0123456789abcdef0123456789abcdef01234567"} {
		if err := os.Symlink(filepath.Join("..", "..", "blobs", target), filepath.Join(snap, name)); err != nil {
			t.Fatal(err)
		}
	}
	inv := scan(t, nil, dir)
	if n := inv.Count(KindModel); n != 1 {
		t.Fatalf("%d models, want 1 (the blob is read through its link only): %+v", n, inv.Assets)
	}
	m := inv.Assets[0]
	want := map[string]string{"hf_repo": "mistralai/Mistral-7B-v0.3", "hf_revision": "8e5a5b9c", "hf_file": "model.safetensors",
		"architecture": "MistralForCausalLM", "model_type": "mistral"}
	for k, v := range want {
		if m.Attrs[k] != v {
			t.Errorf("%s = %q, want %q", k, m.Attrs[k], v)
		}
	}
	if m.Name != "mistralai/Mistral-7B-v0.3" || m.Digest != "sha256:"+digest {
		t.Errorf("name %q digest %q", m.Name, m.Digest)
	}
}

// TestModelsWithoutReadingTensors gives the sniffer models whose tensor
// data is large; classification must read their metadata only.
func TestModelsWithoutReadingTensors(t *testing.T) {
	dir := t.TempDir()
	const data = 8 << 20
	write(t, dir, "a.safetensors", safetensors(t, map[string][]int64{"w": {2048, 2048}}, data))
	write(t, dir, "b.gguf", ggufFile(data))
	write(t, dir, "c.onnx", onnx(data))
	write(t, dir, "d.pt", append(torchZip(t), make([]byte, 0)...))
	inv := scan(t, nil, dir)
	if n := inv.Count(KindModel); n != 4 {
		t.Fatalf("%d models, want 4: %v", n, inv.Assets)
	}
	if inv.Stats.BytesRead > 1<<20 {
		t.Errorf("classification read %d bytes of %d MB of models", inv.Stats.BytesRead, 3*data>>20)
	}
}

func TestSkippedDirectories(t *testing.T) {
	dir := t.TempDir()
	for _, p := range []string{".git/objects/model.pkl", "node_modules/x/model.pkl", "venv/lib/model.pkl", "src/model.pkl"} {
		write(t, dir, p, pickleProto4)
	}
	write(t, dir, "venv/pyvenv.cfg", []byte("home = /usr/bin\n"))
	write(t, dir, ".gitignore", []byte("# build output\nbuild/\n*.tmp.pkl\n!keep.tmp.pkl\n/rooted.pkl\n"))
	write(t, dir, "build/model.pkl", pickleProto4)
	write(t, dir, "src/x.tmp.pkl", pickleProto4)
	write(t, dir, "src/keep.tmp.pkl", pickleProto4)
	write(t, dir, "rooted.pkl", pickleProto4)
	write(t, dir, "src/rooted.pkl", pickleProto4)

	names := func(inv *Inventory) string {
		var out []string
		for _, a := range inv.Assets {
			rel, _ := filepath.Rel(dir, a.Path)
			out = append(out, filepath.ToSlash(rel))
		}
		return strings.Join(out, " ")
	}
	if got, want := names(scan(t, &Scanner{GitIgnore: true}, dir)), "src/keep.tmp.pkl src/model.pkl src/rooted.pkl"; got != want {
		t.Errorf("with .gitignore: %s, want %s", got, want)
	}
	if got, want := names(scan(t, nil, dir)), "build/model.pkl rooted.pkl src/keep.tmp.pkl src/model.pkl src/rooted.pkl src/x.tmp.pkl"; got != want {
		t.Errorf("default: %s, want %s", got, want)
	}
	if got := scan(t, &Scanner{All: true}, dir); got.Count(KindModel) != 9 {
		t.Errorf("--all: %s", names(got))
	}
}

// TestUnreadableIsRecorded makes a file unreadable: it is an error of the
// inventory, never silently skipped.
func TestUnreadableIsRecorded(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("running as root: permissions do not stop reads")
	}
	dir := t.TempDir()
	p := write(t, dir, "secret.pkl", pickleProto4)
	os.Chmod(p, 0)
	inv := scan(t, nil, dir)
	if len(inv.Stats.Errors) != 1 || inv.Stats.Errors[0].Path != p {
		t.Errorf("errors: %+v", inv.Stats.Errors)
	}
	if !inv.Report().Fails(0) {
		t.Error("a report with an unreadable file passes")
	}
}

// TestKeysNeverPrinted checks that an AI key's value appears nowhere in
// what the inventory holds, and that the same key in two places is two
// assets with one fingerprint.
func TestKeysNeverPrinted(t *testing.T) {
	dir := t.TempDir()
	k := key("gsk_", 52, alnum)
	write(t, dir, ".env", []byte("GROQ_API_KEY="+k+"\n"))
	write(t, dir, "app/settings.py", []byte("import os\n\nKEY = \""+k+"\"\n"))
	inv := scan(t, nil, dir)
	out, _ := json.Marshal(inv)
	if strings.Contains(string(out), k) || strings.Contains(string(out), k[4:20]) {
		t.Fatal("the key's value is in the inventory")
	}
	if inv.Count(KindKey) != 2 {
		t.Fatalf("%d keys, want 2", inv.Count(KindKey))
	}
	var fps []string
	for _, a := range inv.Assets {
		if a.Kind == KindKey {
			fps = append(fps, a.Fingerprint)
		}
	}
	if fps[0] != fps[1] || fps[0] == "" {
		t.Errorf("fingerprints %v", fps)
	}
}

// TestStableIDs scans a tree from two working directories: the ids agree.
func TestStableIDs(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "m/model.pkl", pickleProto4)
	a := scan(t, nil, dir)
	wd, _ := os.Getwd()
	defer os.Chdir(wd)
	os.Chdir(dir)
	b := scan(t, nil, "m")
	if len(a.Assets) != 1 || len(b.Assets) != 1 || a.Assets[0].ID != b.Assets[0].ID {
		t.Errorf("ids differ: %+v %+v", a.Assets, b.Assets)
	}
}

// aiKeySamples are keys every AI key rule detects, in the contexts the
// rules need.
func aiKeySamples() []string {
	return []string{
		key("sk-proj-", 74, alnum) + "T3BlbkFJ" + key("", 74, alnum),
		key("sk-", 20, alnum) + "T3BlbkFJ" + key("", 20, alnum),
		key("sk-ant-api03-", 93, alnum) + "AA",
		key("sk-ant-admin01-", 93, alnum) + "AA",
		key("hf_", 34, letters),
		key("api_org_", 34, letters),
		"cohere_key = \"" + key("", 40, alnum) + "\"",
		"CO_API_KEY=" + key("", 40, alnum),
		key("pplx-", 48, alnum),
		"private_ai_token = \"" + key("", 32, "abcdefghijklmnopqrstuvwxyz0123456789") + "\"",
		key("AIza", 35, alnum),
		key("gsk_", 52, alnum),
		key("r8_", 37, alnum),
		key("xai-", 80, alnum),
		key("sk-proj-", 120, alnum),
		key("lsv2_pt_", 32, "0123456789abcdef") + "_" + key("", 10, "0123456789abcdef"),
	}
}

// TestKeyHint checks that the prefilter lets through every key a rule
// detects, and nothing in plain code.
func TestKeyHint(t *testing.T) {
	d, err := keyDetector()
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range aiKeySamples() {
		text := "token: " + k + "\n"
		if len(d.DetectString(text)) == 0 {
			t.Errorf("no rule detects the sample %.16s…", k)
		}
		if !mayHoldAIKey([]byte(text)) || !mayHoldAIKey([]byte(strings.ToUpper(text[:7])+text[7:])) {
			t.Errorf("the sample %.16s… does not pass the prefilter", k)
		}
	}
	for _, s := range []string{"PRIVATE-AI key", "Private_Ai", "CoHeRe", "co_API_KEY"} {
		if !mayHoldAIKey([]byte(s)) {
			t.Errorf("%q does not pass", s)
		}
	}
	if mayHoldAIKey([]byte("def compute(item_1, options): return item_1 - 2\n")) {
		t.Error("plain code passes the prefilter")
	}
}

// FuzzKeyHint holds the prefilter to what it promises: whatever gitleaks'
// AI rules find in a text, the prefilter lets the text through.
func FuzzKeyHint(f *testing.F) {
	for _, k := range aiKeySamples() {
		f.Add("key = " + k + "\n")
	}
	d, err := keyDetector()
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if len(d.DetectString(s)) > 0 && !mayHoldAIKey([]byte(s)) {
			t.Fatalf("gitleaks finds a key the prefilter stops: %q", s)
		}
	})
}

// TestLargeNotebook puts a notebook's saved personal data after 6 MB of
// image output, beyond the text buffer: it is still read.
func TestLargeNotebook(t *testing.T) {
	dir := t.TempDir()
	img := strings.Repeat("iVBORw0KGgo", 600_000)
	nb, _ := json.Marshal(map[string]any{"nbformat": 4, "metadata": map[string]any{},
		"cells": []any{
			map[string]any{"cell_type": "code", "source": "plot()", "outputs": []any{map[string]any{"output_type": "display_data", "data": map[string]string{"image/png": img}}}},
			map[string]any{"cell_type": "code", "source": "print(users)", "outputs": []any{map[string]any{"output_type": "stream", "text": "jane.doe@example.com\n"}}},
		}})
	p := write(t, dir, "report.ipynb", nb)
	inv := scan(t, nil, dir)
	as := byPath(inv, p)[KindNotebook]
	if len(as) != 1 || !hasRule(as[0], "INV-NB-PII") {
		t.Fatalf("large notebook: %+v", inv.Assets)
	}
}

func TestOverlappingRoots(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "a/b/model.pkl", pickleProto4)
	inv := scan(t, nil, dir, filepath.Join(dir, "a"), filepath.Join(dir, "a", "b", "model.pkl"))
	if len(inv.Assets) != 1 {
		t.Errorf("%d assets from overlapping roots, want 1", len(inv.Assets))
	}
}
