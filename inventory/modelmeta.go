package inventory

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// ggufModel records a GGUF model with what its key-values and tensor table
// say: architecture, name, licence, quantisation, parameter count. Only
// the metadata is read, never a tensor.
func (sn *sniffer) ggufModel(f *file) error {
	attrs, err := readGGUF(io.NewSectionReader(f, 0, min(f.size, maxHeader)))
	if attrs["gguf_version"] == "" {
		return nil // "GGUF" and no version this reader knows: text, or something else
	}
	if err != nil {
		attrs["metadata_error"] = err.Error()
	}
	sn.model(f, "gguf", attrs)
	return nil
}

// ggufFileTypes names llama.cpp's general.file_type values.
var ggufFileTypes = map[uint64]string{
	0: "F32", 1: "F16", 2: "Q4_0", 3: "Q4_1", 7: "Q8_0", 8: "Q5_0", 9: "Q5_1", 10: "Q2_K",
	11: "Q3_K_S", 12: "Q3_K_M", 13: "Q3_K_L", 14: "Q4_K_S", 15: "Q4_K_M", 16: "Q5_K_S", 17: "Q5_K_M",
	18: "Q6_K", 19: "IQ2_XXS", 20: "IQ2_XS", 21: "Q2_K_S", 22: "IQ3_XS", 23: "IQ3_XXS", 24: "IQ1_S",
	25: "IQ4_NL", 26: "IQ3_S", 27: "IQ3_M", 28: "IQ2_S", 29: "IQ2_M", 30: "IQ4_XS", 31: "IQ1_M",
	32: "BF16", 36: "TQ1_0", 37: "TQ2_0",
}

// gguf reads GGUF's little-endian fields, remembering the first error.
type gguf struct {
	r       *bufio.Reader
	version uint32
	err     error
}

func (g *gguf) u32() uint32 {
	var b [4]byte
	g.read(b[:])
	return binary.LittleEndian.Uint32(b[:])
}

func (g *gguf) u64() uint64 {
	var b [8]byte
	g.read(b[:])
	return binary.LittleEndian.Uint64(b[:])
}

func (g *gguf) read(b []byte) {
	if g.err == nil {
		_, g.err = io.ReadFull(g.r, b)
	}
}

// count reads a length or count: 32 bits in version 1, 64 after.
func (g *gguf) count() uint64 {
	if g.version == 1 {
		return uint64(g.u32())
	}
	return g.u64()
}

func (g *gguf) str() string {
	n := g.count()
	if g.err != nil {
		return ""
	}
	if n > 1<<20 {
		g.err = fmt.Errorf("string of %d bytes", n)
		return ""
	}
	b := make([]byte, n)
	g.read(b)
	return string(b)
}

func (g *gguf) skip(n uint64) {
	if g.err == nil {
		_, g.err = g.r.Discard(int(min(n, math.MaxInt32)))
	}
}

var ggufSizes = [...]uint64{0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8}

// value reads a value of a type, returning scalars and strings as text
// and skipping arrays.
func (g *gguf) value(typ uint32) (string, uint64) {
	switch typ {
	case 8:
		return g.str(), 0
	case 9:
		et, n := g.u32(), g.count()
		for i := uint64(0); i < n && g.err == nil; i++ {
			if et == 8 {
				g.skip(g.count())
				continue
			}
			if int(et) >= len(ggufSizes) || ggufSizes[et] == 0 {
				g.err = fmt.Errorf("array of unknown type %d", et)
				return "", 0
			}
			g.skip(ggufSizes[et] * (n - i))
			break
		}
		return "", 0
	}
	if int(typ) >= len(ggufSizes) || ggufSizes[typ] == 0 {
		g.err = fmt.Errorf("value of unknown type %d", typ)
		return "", 0
	}
	var b [8]byte
	g.read(b[:ggufSizes[typ]])
	v := binary.LittleEndian.Uint64(b[:])
	switch typ {
	case 6:
		return strconv.FormatFloat(float64(math.Float32frombits(uint32(v))), 'g', -1, 32), 0
	case 12:
		return strconv.FormatFloat(math.Float64frombits(v), 'g', -1, 64), 0
	case 7:
		return strconv.FormatBool(v != 0), v
	}
	return strconv.FormatUint(v, 10), v
}

func readGGUF(r io.Reader) (map[string]string, error) {
	g := &gguf{r: bufio.NewReaderSize(r, 64<<10)}
	attrs := map[string]string{}
	var magic [4]byte
	g.read(magic[:])
	g.version = g.u32()
	if g.err != nil {
		return attrs, g.err
	}
	if g.version == 0 || g.version > 3 {
		return attrs, fmt.Errorf("unknown GGUF version %d", g.version)
	}
	attrs["gguf_version"] = strconv.Itoa(int(g.version))
	tensors, kvs := g.count(), g.count()
	if tensors > 1<<20 || kvs > 1<<20 {
		return attrs, fmt.Errorf("implausible counts: %d tensors, %d key-values", tensors, kvs)
	}
	want := map[string]string{
		"general.architecture": "architecture", "general.name": "model_name", "general.license": "license",
		"general.size_label": "size_label", "general.basename": "basename", "general.quantized_by": "quantized_by",
	}
	for i := uint64(0); i < kvs && g.err == nil; i++ {
		key := g.str()
		typ := g.u32()
		s, v := g.value(typ)
		if name, ok := want[key]; ok {
			attrs[name] = s
		}
		switch {
		case key == "general.file_type":
			if q, ok := ggufFileTypes[v]; ok {
				attrs["quantization"] = q
			} else {
				attrs["quantization"] = "file_type " + s
			}
		case strings.HasSuffix(key, ".context_length"):
			attrs["context_length"] = s
		}
	}
	var params uint64
	for i := uint64(0); i < tensors && g.err == nil; i++ {
		g.skip(g.count()) // name
		dims := g.u32()
		if dims > 8 {
			return attrs, fmt.Errorf("tensor %d has %d dimensions", i, dims)
		}
		n := uint64(1)
		for range dims {
			var d uint64
			if g.version == 1 {
				d = uint64(g.u32())
			} else {
				d = g.u64()
			}
			n *= d
		}
		g.u32() // type
		g.u64() // offset
		params += n
	}
	if g.err != nil {
		if errors.Is(g.err, io.EOF) || errors.Is(g.err, io.ErrUnexpectedEOF) {
			return attrs, errors.New("metadata ends early")
		}
		return attrs, g.err
	}
	attrs["parameters"] = formatParams(int64(params))
	attrs["tensors"] = strconv.FormatUint(tensors, 10)
	return attrs, nil
}

// safetensorsModel records a safetensors file with its tensors' parameter
// count and precisions, and what the config.json beside it says.
func (sn *sniffer) safetensorsModel(f *file) error {
	// Any file whose ninth byte is '{' starts like safetensors: the
	// header must also fit in the file and be a header.
	n := binary.LittleEndian.Uint64(f.head)
	if n > maxHeader || int64(n)+8 > f.size {
		return nil
	}
	hdr := make([]byte, n)
	if _, err := f.readAt(hdr, 8); err != nil {
		return err
	}
	attrs := map[string]string{}
	if safetensorsAttrs(hdr, attrs) != nil {
		return nil
	}
	for k, v := range sn.configAttrs(filepath.Dir(f.path)) {
		if attrs[k] == "" {
			attrs[k] = v
		}
	}
	sn.model(f, "safetensors", attrs)
	return nil
}

func safetensorsAttrs(hdr []byte, attrs map[string]string) error {
	var h map[string]json.RawMessage
	if err := json.Unmarshal(hdr, &h); err != nil {
		return fmt.Errorf("header is not JSON: %w", err)
	}
	var params int64
	dtypes := map[string]bool{}
	for name, raw := range h {
		if name == "__metadata__" {
			var meta map[string]string
			if json.Unmarshal(raw, &meta) == nil && meta["format"] != "" {
				attrs["tensor_format"] = meta["format"]
			}
			continue
		}
		var t struct {
			DType string  `json:"dtype"`
			Shape []int64 `json:"shape"`
		}
		if err := json.Unmarshal(raw, &t); err != nil || t.DType == "" {
			return fmt.Errorf("tensor %q: not a tensor's description", name)
		}
		n := int64(1)
		for _, d := range t.Shape {
			n *= d
		}
		params += n
		dtypes[t.DType] = true
	}
	tensors := len(h) - btoi(h["__metadata__"] != nil)
	if tensors == 0 {
		return errors.New("no tensors")
	}
	attrs["parameters"] = formatParams(params)
	attrs["tensors"] = strconv.Itoa(tensors)
	ds := make([]string, 0, len(dtypes))
	for d := range dtypes {
		ds = append(ds, d)
	}
	slices.Sort(ds)
	attrs["dtypes"] = strings.Join(ds, ",")
	return nil
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// configAttrs reads the Hugging Face config.json of a model directory
// (once per directory and worker).
func (sn *sniffer) configAttrs(dir string) map[string]string {
	if a, ok := sn.configs[dir]; ok {
		return a
	}
	attrs := map[string]string{}
	if sn.configs == nil {
		sn.configs = map[string]map[string]string{}
	}
	sn.configs[dir] = attrs
	b, err := readSmall(filepath.Join(dir, "config.json"), 1<<20)
	if err != nil {
		return attrs
	}
	sn.bytes += int64(len(b))
	var c struct {
		Architectures []string `json:"architectures"`
		ModelType     string   `json:"model_type"`
		TorchDType    string   `json:"torch_dtype"`
		Quant         *struct {
			Method string `json:"quant_method"`
			Bits   int    `json:"bits"`
		} `json:"quantization_config"`
	}
	if json.Unmarshal(b, &c) != nil {
		return attrs
	}
	if len(c.Architectures) > 0 {
		attrs["architecture"] = c.Architectures[0]
	}
	attrs["model_type"] = c.ModelType
	attrs["torch_dtype"] = c.TorchDType
	if c.Quant != nil && c.Quant.Method != "" {
		q := c.Quant.Method
		if c.Quant.Bits > 0 {
			q += " " + strconv.Itoa(c.Quant.Bits) + "-bit"
		}
		attrs["quantization"] = q
	}
	for k, v := range attrs {
		if v == "" {
			delete(attrs, k)
		}
	}
	return attrs
}

// readSmall reads a file of at most max bytes.
func readSmall(path string, max int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > max {
		return nil, fmt.Errorf("%s: larger than %d bytes", path, max)
	}
	return b, nil
}
