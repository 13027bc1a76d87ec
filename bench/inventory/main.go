// Command inventory measures the estate inventory on a generated tree
// shaped like a real one: mostly source code, configuration and
// documents, with 1,000 model files among them (safetensors, GGUF,
// PyTorch, ONNX, pickles, some in a Hugging Face cache layout), datasets,
// notebooks and AI call sites.
//
// The model files are sparse: their headers are real and their tensor
// data is a hole of 256 MB each (256 GB in all, none of it on disk), so
// that a classifier that read tensor data would show it in the bytes
// read and the time taken.
//
// The goal: walking and classifying the tree takes at most 1.5 times
// what `find TREE -type f` takes on the same tree in the same run (after
// one warm-up run of each, so that both read a warm cache). Every figure
// is the median of five runs. The scan is timed without the model
// scanner (classification only) and, once, with it and the assessment.
//
//	go run ./bench/inventory [-files 100000] [-models 1000] [-dir /tmp/mg-inv] [-keep]
package main

import (
	"archive/zip"
	"context"
	"encoding/binary"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"strings"
	"time"

	"github.com/modelgate/modelgate/inventory"
	"github.com/modelgate/modelgate/modelscan"
)

const tensorHole = 256 << 20

func main() {
	files := flag.Int("files", 100_000, "files in the tree")
	models := flag.Int("models", 1000, "model files among them")
	dir := flag.String("dir", "", "where to build the tree (default: a temporary directory)")
	keep := flag.Bool("keep", false, "keep the tree")
	runs := flag.Int("runs", 5, "timed runs of each")
	workers := flag.Int("workers", 0, "inventory workers (default: two per CPU)")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile of the timed scans")
	flag.Parse()
	root := *dir
	if root == "" {
		var err error
		if root, err = os.MkdirTemp("", "mg-inventory-"); err != nil {
			log.Fatal(err)
		}
	}
	if !*keep {
		defer os.RemoveAll(root)
	}
	tree := filepath.Join(root, "tree")
	if _, err := os.Stat(tree); err != nil {
		began := time.Now()
		if err := generate(tree, *files, *models); err != nil {
			log.Fatal(err)
		}
		fmt.Printf("generated %d files (%d models) in %s\n", *files, *models, time.Since(began).Round(time.Millisecond))
	}
	fmt.Printf("%d CPUs, GOMAXPROCS %d\n\n", runtime.NumCPU(), runtime.GOMAXPROCS(0))

	find := func() time.Duration {
		began := time.Now()
		cmd := exec.Command("find", tree, "-type", "f")
		if err := cmd.Run(); err != nil {
			log.Fatal(err)
		}
		return time.Since(began)
	}
	var last *inventory.Inventory
	scan := func() time.Duration {
		began := time.Now()
		s := &inventory.Scanner{Workers: *workers}
		inv, err := s.Scan(context.Background(), []string{tree})
		if err != nil {
			log.Fatal(err)
		}
		last = inv
		return time.Since(began)
	}
	find()
	scan()
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			log.Fatal(err)
		}
		pprof.StartCPUProfile(f)
	}
	var tf, ts []time.Duration
	for range *runs {
		tf = append(tf, find())
		ts = append(ts, scan())
	}
	pprof.StopCPUProfile()
	var tr []time.Duration
	for range *runs {
		tr = append(tr, readHeads(tree, *workers))
	}
	mf, ms := median(tf), median(ts)
	fmt.Printf("%-44s %10s\n", "find TREE -type f", mf.Round(time.Millisecond))
	fmt.Printf("%-44s %10s  (%.0f files/s)\n", "modelgate inventory (classification)", ms.Round(time.Millisecond), float64(last.Stats.Files)/ms.Seconds())
	fmt.Printf("%-44s %10.2f×  (goal ≤ 1.5×)\n", "inventory / find", float64(ms)/float64(mf))
	fmt.Printf("%-44s %10s  (%.2f× find: the floor for reading content)\n\n", "open, read 64 KiB, close every file", median(tr).Round(time.Millisecond), float64(median(tr))/float64(mf))
	fmt.Printf("files %d, directories %d, assets %d: %s\n", last.Stats.Files, last.Stats.Dirs, len(last.Assets), counts(last))
	fmt.Printf("bytes read %.1f MB in all (%.0f per file)\n", float64(last.Stats.BytesRead)/1e6, float64(last.Stats.BytesRead)/float64(last.Stats.Files))

	// The models alone: what sniffing them read, against their size.
	s := &inventory.Scanner{Workers: *workers}
	began := time.Now()
	minv, err := s.Scan(context.Background(), []string{filepath.Join(tree, "models"), filepath.Join(tree, "hf")})
	if err != nil {
		log.Fatal(err)
	}
	took := time.Since(began)
	var size int64
	for _, a := range minv.Assets {
		size += a.Size
	}
	fmt.Printf("model files: %d classified in %s, %.1f GB of model files, %.1f KB read (%.0f bytes per model)\n",
		minv.Count(inventory.KindModel), took.Round(time.Millisecond), float64(size)/1e9,
		float64(minv.Stats.BytesRead)/1e3, float64(minv.Stats.BytesRead)/float64(max(1, minv.Count(inventory.KindModel))))

	// Once, with the model scanner and the assessment.
	began = time.Now()
	if err := last.Assess(context.Background(), inventory.Evidence{Scanner: &modelscan.Scanner{}}); err != nil {
		log.Fatal(err)
	}
	fmt.Printf("assessment with the model scanner on every model: %s more\n", time.Since(began).Round(time.Millisecond))
}

// readHeads opens every file, reads its first 64 KiB and closes it, in
// parallel, classifying nothing: what any classifier by content must at
// least do, against which the inventory's own cost can be read.
func readHeads(tree string, workers int) time.Duration {
	if workers <= 0 {
		workers = 2 * runtime.GOMAXPROCS(0)
	}
	began := time.Now()
	paths := make(chan string, 4096)
	done := make(chan struct{})
	for range workers {
		go func() {
			buf := make([]byte, 64<<10)
			for p := range paths {
				if f, err := os.Open(p); err == nil {
					f.Read(buf)
					f.Close()
				}
			}
			done <- struct{}{}
		}()
	}
	filepath.WalkDir(tree, func(p string, d os.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			paths <- p
		}
		return nil
	})
	close(paths)
	for range workers {
		<-done
	}
	return time.Since(began)
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

func counts(inv *inventory.Inventory) string {
	var parts []string
	for _, k := range inventory.Kinds {
		if n := inv.Stats.Assets[string(k)]; n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, k))
		}
	}
	return strings.Join(parts, ", ")
}

// generate builds the tree: per hundred files, about 60 source files (2%
// of them calling AI), 12 configuration files, 8 documents, 12 images and
// other binaries, 1 dataset and a notebook now and then, and the models.
func generate(tree string, files, models int) error {
	r := rand.New(rand.NewPCG(1, 2))
	written := 0
	put := func(rel string, b []byte) error {
		p := filepath.Join(tree, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		return os.WriteFile(p, b, 0o644)
	}
	// Models first: sparse files with real headers.
	for i := range models {
		var err error
		switch i % 10 {
		case 0, 1, 2:
			err = sparseModel(filepath.Join(tree, "models", fmt.Sprintf("team%02d", i%40), fmt.Sprintf("m%04d.safetensors", i)), safetensorsHeader(i))
		case 3, 4:
			err = sparseModel(filepath.Join(tree, "models", fmt.Sprintf("team%02d", i%40), fmt.Sprintf("m%04d.gguf", i)), ggufHeader())
		case 5, 6:
			err = put(filepath.Join("models", fmt.Sprintf("team%02d", i%40), fmt.Sprintf("m%04d.pt", i)), torchZip())
		case 7:
			err = onnxModel(filepath.Join(tree, "models", fmt.Sprintf("team%02d", i%40), fmt.Sprintf("m%04d.onnx", i)))
		case 8:
			err = put(filepath.Join("models", fmt.Sprintf("team%02d", i%40), fmt.Sprintf("m%04d.pkl", i)), []byte("\x80\x04\x95\n\x00\x00\x00\x00\x00\x00\x00}\x94\x8c\x01a\x94K\x01s."))
		case 9:
			snap := filepath.Join(tree, "hf", fmt.Sprintf("models--org%d--model-%d", i%7, i), "snapshots", "0123abcd")
			err = sparseModel(filepath.Join(snap, "model.safetensors"), safetensorsHeader(i))
		}
		if err != nil {
			return err
		}
		written++
	}
	for written < files {
		repo := fmt.Sprintf("repos/r%03d", r.IntN(200))
		pkg := fmt.Sprintf("%s/pkg%02d/sub%d", repo, r.IntN(20), r.IntN(4))
		n := r.IntN(100)
		var err error
		switch {
		case n < 60:
			ext := []string{".py", ".ts", ".go", ".java", ".js"}[r.IntN(5)]
			err = put(fmt.Sprintf("%s/f%06d%s", pkg, written, ext), source(r, ext))
		case n < 72:
			ext := []string{".yaml", ".json", ".toml", ".cfg"}[r.IntN(4)]
			err = put(fmt.Sprintf("%s/c%06d%s", pkg, written, ext), config(r, ext))
		case n < 80:
			err = put(fmt.Sprintf("%s/doc%06d.md", repo, written), []byte(strings.Repeat("Some documentation, with words.\n", 20+r.IntN(80))))
		case n < 92:
			b := make([]byte, 512+r.IntN(8192))
			for i := range b {
				b[i] = byte(r.Uint32())
			}
			copy(b, "\x89PNG\r\n\x1a\n")
			err = put(fmt.Sprintf("%s/assets/i%06d.png", repo, written), b)
		case n < 99:
			err = put(fmt.Sprintf("%s/notes/t%06d.txt", repo, written), []byte(strings.Repeat("plain notes about the project\n", 10+r.IntN(50))))
		default:
			if r.IntN(2) == 0 {
				err = put(fmt.Sprintf("%s/data/d%06d.csv", repo, written), dataset(r))
			} else {
				err = put(fmt.Sprintf("%s/nb/n%06d.ipynb", repo, written), notebook())
			}
		}
		if err != nil {
			return err
		}
		written++
	}
	return nil
}

func sparseModel(path string, header []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(path, header, 0o644); err != nil {
		return err
	}
	return os.Truncate(path, int64(len(header))+tensorHole)
}

func safetensorsHeader(i int) []byte {
	h := map[string]any{"__metadata__": map[string]string{"format": "pt"}}
	for l := range 32 {
		h[fmt.Sprintf("model.layers.%d.weight", l)] = map[string]any{"dtype": "BF16", "shape": []int{2048, 2048},
			"data_offsets": []int{l * 2048 * 2048 * 2, (l + 1) * 2048 * 2048 * 2}}
	}
	hdr, _ := json.Marshal(h)
	b := binary.LittleEndian.AppendUint64(nil, uint64(len(hdr)))
	return append(b, hdr...)
}

func ggufHeader() []byte {
	var b []byte
	u32 := func(v uint32) { b = binary.LittleEndian.AppendUint32(b, v) }
	u64 := func(v uint64) { b = binary.LittleEndian.AppendUint64(b, v) }
	str := func(s string) { u64(uint64(len(s))); b = append(b, s...) }
	b = append(b, "GGUF"...)
	u32(3)
	u64(64)
	u64(3)
	str("general.architecture")
	u32(8)
	str("llama")
	str("general.file_type")
	u32(4)
	u32(15)
	str("tokenizer.ggml.tokens")
	u32(9)
	u32(8)
	u64(32000)
	for t := range 32000 {
		str(fmt.Sprintf("tok%d", t))
	}
	for t := range 64 {
		str(fmt.Sprintf("blk.%d.weight", t))
		u32(2)
		u64(4096)
		u64(4096)
		u32(12)
		u64(uint64(t) * 4096 * 4096)
	}
	return b
}

// onnxModel writes a ModelProto whose graph (initializers and all) is a
// 256 MB hole, with the opset import after it.
func onnxModel(path string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	b := []byte{0x08, 0x08, 0x12, 7}
	b = append(b, "pytorch"...)
	b = append(b, 0x3a)
	b = binary.AppendUvarint(b, tensorHole)
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	if _, err := f.Write(b); err != nil {
		return err
	}
	_, err = f.WriteAt([]byte{0x42, 2, 0x10, 17}, int64(len(b))+tensorHole)
	return err
}

func torchZip() []byte {
	var buf strings.Builder
	zw := zip.NewWriter(&buf)
	for _, name := range []string{"archive/data.pkl", "archive/version", "archive/data/0"} {
		w, _ := zw.CreateHeader(&zip.FileHeader{Name: name, Method: zip.Store})
		w.Write([]byte("\x80\x04\x95\n\x00\x00\x00\x00\x00\x00\x00}\x94\x8c\x01a\x94K\x01s."))
	}
	zw.Close()
	return []byte(buf.String())
}

var aiSnippets = map[string]string{
	".py":   "from openai import OpenAI\nclient = OpenAI(base_url=\"http://gateway:8080/v1\")\nclient.chat.completions.create(model=\"gpt-4o-mini\", messages=[])\n",
	".ts":   "import Anthropic from '@anthropic-ai/sdk';\nconst c = new Anthropic();\nawait c.messages.create({model: 'claude-sonnet-4-5', max_tokens: 10, messages: []});\n",
	".js":   "const { Ollama } = require('ollama');\nconst o = new Ollama({host: 'http://localhost:11434'});\n",
	".go":   "import \"github.com/openai/openai-go\"\n",
	".java": "import dev.langchain4j.model.openai.OpenAiChatModel;\n",
}

func source(r *rand.Rand, ext string) []byte {
	var sb strings.Builder
	switch ext {
	case ".py":
		sb.WriteString("import os\nimport json\nfrom collections import defaultdict\n\n")
	case ".go":
		sb.WriteString("package p\n\nimport (\n\t\"fmt\"\n\t\"strings\"\n)\n\n")
	default:
		sb.WriteString("import fs from 'fs';\nimport path from 'path';\n\n")
	}
	if r.IntN(50) == 0 {
		sb.WriteString(aiSnippets[ext])
	}
	for i := range 10 + r.IntN(60) {
		fmt.Fprintf(&sb, "// step %d: compute the value for item %d and keep it\nvalue_%d = compute(item_%d, options)\n", i, i, i, i)
	}
	return []byte(sb.String())
}

func config(r *rand.Rand, ext string) []byte {
	switch ext {
	case ".yaml":
		if r.IntN(40) == 0 {
			return []byte("apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: llm}\nspec:\n  template:\n    spec:\n      containers:\n      - name: s\n        image: vllm/vllm-openai:v0.6.3\n        args: [\"--model\", \"org0/model-9\"]\n")
		}
		return []byte("name: service\nreplicas: 3\nlabels:\n  team: platform\n  tier: backend\n")
	case ".json":
		return []byte(`{"name": "service", "version": "1.0.0", "private": true, "scripts": {"build": "tsc"}}`)
	case ".toml":
		return []byte("[tool.black]\nline-length = 100\n")
	}
	return []byte("[section]\nkey = value\n")
}

func dataset(r *rand.Rand) []byte {
	var sb strings.Builder
	sb.WriteString("id,name,email,amount\n")
	for i := range 50 + r.IntN(200) {
		fmt.Fprintf(&sb, "%d,user%d,user%d@example.com,%d.%02d\n", i, i, i, r.IntN(1000), r.IntN(100))
	}
	return []byte(sb.String())
}

func notebook() []byte {
	return []byte(`{"nbformat": 4, "metadata": {"kernelspec": {"language": "python"}}, "cells": [{"cell_type": "code", "source": ["import transformers\n", "m = transformers.pipeline('text-classification')\n"], "outputs": []}]}`)
}
