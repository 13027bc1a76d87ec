package inventory

import (
	"archive/zip"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/binary"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/modelgate/modelgate/datacheck/table"
	"github.com/parquet-go/parquet-go"
)

// The builders below write real files of each format, small, in test
// code: nothing in testdata, so that every case says what it holds.

// write creates dir/name (and its directories) holding b.
func write(t *testing.T, dir, name string, b []byte) string {
	t.Helper()
	p := filepath.Join(dir, filepath.FromSlash(name))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// pickleProto4 is pickle.dumps({"a": 1}, protocol=4).
var pickleProto4 = []byte("\x80\x04\x95\n\x00\x00\x00\x00\x00\x00\x00}\x94\x8c\x01a\x94K\x01s.")

// pickleCallsSystem is a protocol 2 pickle that calls os.system("id").
var pickleCallsSystem = []byte("\x80\x02cos\nsystem\nq\x00X\x02\x00\x00\x00idq\x01\x85q\x02Rq\x03.")

// torchZip is a PyTorch checkpoint: a zip with archive/data.pkl.
func torchZip(t *testing.T) []byte {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for name, body := range map[string][]byte{"archive/data.pkl": pickleProto4, "archive/version": []byte("3\n"), "archive/data/0": make([]byte, 64)} {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: name, Method: zip.Store})
		if err != nil {
			t.Fatal(err)
		}
		w.Write(body)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// plainZip is a zip of text files: not a model.
func plainZip(t *testing.T) []byte {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, _ := zw.Create("docs/readme.txt")
	w.Write([]byte("hello"))
	zw.Close()
	return buf.Bytes()
}

// safetensors returns a safetensors file with the given tensors (name →
// shape) in F16, followed by data bytes of zeros.
func safetensors(t *testing.T, tensors map[string][]int64, data int) []byte {
	h := map[string]any{"__metadata__": map[string]string{"format": "pt"}}
	off := 0
	for name, shape := range tensors {
		n := 2
		for _, d := range shape {
			n *= int(d)
		}
		h[name] = map[string]any{"dtype": "F16", "shape": shape, "data_offsets": []int{off, off + n}}
		off += n
	}
	hdr, err := json.Marshal(h)
	if err != nil {
		t.Fatal(err)
	}
	b := binary.LittleEndian.AppendUint64(nil, uint64(len(hdr)))
	b = append(b, hdr...)
	return append(b, make([]byte, data)...)
}

// ggufFile builds a GGUF v3 file: a few key-values (a string array among
// them, which the reader must skip), two tensors, then data bytes.
func ggufFile(data int) []byte {
	var b []byte
	u32 := func(v uint32) { b = binary.LittleEndian.AppendUint32(b, v) }
	u64 := func(v uint64) { b = binary.LittleEndian.AppendUint64(b, v) }
	str := func(s string) { u64(uint64(len(s))); b = append(b, s...) }
	b = append(b, "GGUF"...)
	u32(3)
	u64(2) // tensors
	u64(4) // key-values
	str("general.architecture")
	u32(8)
	str("llama")
	str("tokenizer.ggml.tokens")
	u32(9)
	u32(8)
	u64(3)
	str("<s>")
	str("</s>")
	str("hello")
	str("general.file_type")
	u32(4)
	u32(15)
	str("general.license")
	u32(8)
	str("apache-2.0")
	str("blk.0.attn_q.weight")
	u32(2)
	u64(4096)
	u64(4096)
	u32(12)
	u64(0)
	str("output_norm.weight")
	u32(1)
	u64(4096)
	u32(0)
	u64(0)
	return append(b, make([]byte, data)...)
}

// onnx builds a ModelProto: ir_version, producer_name, a graph (opaque
// here) and an opset import.
func onnx(graph int) []byte {
	b := []byte{0x08, 0x08, 0x12, 7}
	b = append(b, "pytorch"...)
	b = append(b, 0x3a)
	b = binary.AppendUvarint(b, uint64(graph))
	b = append(b, make([]byte, graph)...)
	return append(b, 0x42, 2, 0x10, 17)
}

func gzipped(t *testing.T, b []byte) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(b)
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func parquetFile(t *testing.T, dir, name string) string {
	p := filepath.Join(dir, name)
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	w, err := table.NewParquetWriter(f, []string{"id", "email"}, []parquet.Kind{parquet.Int64, parquet.ByteArray})
	if err != nil {
		t.Fatal(err)
	}
	for i, e := range []string{"ann@example.com", "bob@example.org", "cy@example.net"} {
		if err := w.Write([]table.Value{{Text: string(rune('1' + i))}, {Text: e}}); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	f.Close()
	return p
}

// key returns a string of n characters from an alphabet, varied enough to
// pass the key rules' entropy checks.
func key(prefix string, n int, alphabet string) string {
	var sb strings.Builder
	sb.WriteString(prefix)
	x := uint32(2463534242)
	for range n {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		sb.WriteByte(alphabet[x%uint32(len(alphabet))])
	}
	return sb.String()
}

const (
	letters = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	alnum   = letters + "0123456789"
)

func scan(t *testing.T, s *Scanner, roots ...string) *Inventory {
	t.Helper()
	if s == nil {
		s = &Scanner{}
	}
	inv, err := s.Scan(context.Background(), roots)
	if err != nil {
		t.Fatal(err)
	}
	return inv
}

// byPath returns the assets found in a file, by kind.
func byPath(inv *Inventory, path string) map[Kind][]Asset {
	out := map[Kind][]Asset{}
	for _, a := range inv.Assets {
		if a.Path == path {
			out[a.Kind] = append(out[a.Kind], a)
		}
	}
	return out
}
