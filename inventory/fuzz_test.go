package inventory

import (
	"bytes"
	"testing"

	"github.com/modelgate/modelgate/modelscan"
)

// fuzzNames are the names a fuzzed file is classified under: the name
// decides among kinds of text and for formats without a signature.
var fuzzNames = []string{"x.bin", "model.onnx", "saved_model.pb", "data.csv", "d.jsonl", "a.py", "m.ipynb", "mcp.json",
	"k.yaml", "config.pbtxt", "README.md", "requirements.txt", "pyproject.toml", "Modelfile", "t.arrow", "x"}

// FuzzClassify feeds arbitrary bytes to every classifier: a file must
// never crash the walk, whatever it holds.
func FuzzClassify(f *testing.F) {
	t := &testing.T{}
	for i, b := range [][]byte{pickleProto4, torchZip(t), safetensors(t, map[string][]int64{"w": {2}}, 4), ggufFile(8), onnx(8),
		gzipped(t, pickleProto4), []byte("a,b\n1,2\n3,4\n5,6\n7,8\n"), []byte(`{"mcpServers":{"a":{"command":"npx","args":["x"]}}}`),
		[]byte(`{"nbformat":4,"cells":[{"cell_type":"code","source":"import openai","outputs":[]}]}`),
		[]byte("apiVersion: v1\nkind: Pod\nspec: {containers: [{image: vllm/vllm-openai, args: [--model, x]}]}\n"),
		[]byte("---\nlicense: mit\npipeline_tag: x\n---\n"), []byte("FROM x\nPARAMETER a 1\n"), []byte("\xff\xff\xff\xff\x10\x00\x00\x00\x08\x00\x00\x00")} {
		f.Add(b, uint8(i))
	}
	f.Fuzz(func(t *testing.T, b []byte, which uint8) {
		if len(b) == 0 {
			return
		}
		w := &walk{s: &Scanner{SampleRows: 20}}
		sn := newSniffer(w)
		name := fuzzNames[int(which)%len(fuzzNames)]
		head := b[:min(len(b), headSize)]
		fl := &file{path: "/fuzz/" + name, name: name, size: int64(len(b)), head: head, r: bytes.NewReader(b), sn: sn}
		sn.classify(fl)
		for _, a := range sn.assets {
			if a.Kind == "" || a.ID == "" {
				t.Fatalf("asset without kind or id: %+v", a)
			}
		}
	})
}

// FuzzGGUF reads arbitrary metadata: errors, never a panic or a huge
// allocation.
func FuzzGGUF(f *testing.F) {
	f.Add(ggufFile(0))
	f.Add([]byte("GGUF\x01\x00\x00\x00"))
	f.Fuzz(func(t *testing.T, b []byte) {
		readGGUF(bytes.NewReader(b))
	})
}

// FuzzIgnoreRule compiles arbitrary .gitignore lines and matches paths.
func FuzzIgnoreRule(f *testing.F) {
	for _, s := range []string{"*.pkl", "!keep", "/build/", "**/x/**", "a[!b]c", "\\#x", "[", "a\\"} {
		f.Add(s, "a/b/c.pkl")
	}
	f.Fuzz(func(t *testing.T, line, path string) {
		r, ok := parseIgnoreRule(line)
		if !ok {
			return
		}
		ignored([]*ignoreFile{{dir: "/r", rules: []ignoreRule{r}}}, "/r/"+path, false)
	})
}

// FuzzStripJSONC turns arbitrary text into JSON-ish text without losing a
// string's contents.
func FuzzStripJSONC(f *testing.F) {
	f.Add([]byte("{\"a\": \"//not a comment\", /* c */ \"b\": [1,],}"))
	f.Fuzz(func(t *testing.T, b []byte) {
		stripJSONC(b)
	})
}

// FuzzLooksText holds the word-at-a-time text check to the model
// scanner's, byte for byte.
func FuzzLooksText(f *testing.F) {
	for _, s := range []string{"hello\n", "caf\xc3\xa9 au lait", "a\x00b", "x\x7fy", "\xe2\x82", "tab\there\r\n\f\x1b[0m", "12345678\xc3"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if got, want := looksText(b), modelscan.LooksText(b); got != want {
			t.Fatalf("looksText(%q) = %v, modelscan.LooksText says %v", b, got, want)
		}
	})
}
