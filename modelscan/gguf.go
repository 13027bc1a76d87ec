package modelscan

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"regexp"
	"strings"

	"github.com/modelgate/modelgate/finding"
)

// GGUF value types.
const (
	ggufU8 = iota
	ggufI8
	ggufU16
	ggufI16
	ggufU32
	ggufI32
	ggufF32
	ggufBool
	ggufString
	ggufArray
	ggufU64
	ggufI64
	ggufF64
)

var ggufFixed = map[uint32]int64{ggufU8: 1, ggufI8: 1, ggufU16: 2, ggufI16: 2, ggufU32: 4, ggufI32: 4, ggufF32: 4, ggufBool: 1, ggufU64: 8, ggufI64: 8, ggufF64: 8}

// sstiPattern finds Jinja template constructs that reach Python
// internals. It is evidence only for a template the scanner cannot
// parse; a parsed one is judged by the names it reaches.
var sstiPattern = regexp.MustCompile(`__(?:class|subclasses|globals|builtins|import|mro|base|bases|init|getattribute|dict|code|loader|spec)__|\b(?:popen|subprocess|os\.system|eval|exec)\b|\bimport\s+\w|\|\s*attr\s*\(|\b(?:cycler|joiner|namespace|lipsum|self)\s*\.\s*__`)

// scanGGUF checks a GGUF file's header, metadata and tensor index for
// values out of bounds, and its chat template for template injection.
func scanGGUF(r io.ReaderAt, size int64) []finding.Finding {
	g := ggufReader{r: bufio.NewReaderSize(io.NewSectionReader(r, 0, size), 64<<10), size: size}
	bad := func(format string, args ...any) []finding.Finding {
		return []finding.Finding{{RuleID: "MS501", Severity: finding.High, Title: "GGUF file is malformed",
			Location: fmt.Sprintf("offset %d", g.off), Evidence: fmt.Sprintf(format, args...), References: refsTamper}}
	}
	var out []finding.Finding
	magic := g.u32()
	version := g.u32()
	if g.err != nil || magic != 0x46554747 {
		return bad("no GGUF header")
	}
	if version < 1 || version > 3 {
		return bad("unknown GGUF version %d", version)
	}
	count := func() uint64 {
		if version == 1 {
			return uint64(g.u32())
		}
		return g.u64()
	}
	tensors, kvs := count(), count()
	if g.err != nil || tensors > uint64(size) || kvs > uint64(size) {
		return bad("tensor count %d or metadata count %d exceeds the file", tensors, kvs)
	}
	alignment := uint64(32)
	for range kvs {
		key := g.str(version)
		typ := g.u32()
		if g.err != nil {
			return bad("metadata truncated: %v", g.err)
		}
		if typ == ggufString {
			v := g.str(version)
			if g.err != nil {
				return bad("metadata %q: %v", key, g.err)
			}
			if strings.HasPrefix(key, "tokenizer.chat_template") {
				out = append(out, checkChatTemplate(v, key)...)
			}
			continue
		}
		if key == "general.alignment" && typ == ggufU32 {
			alignment = uint64(g.u32())
			if alignment == 0 || alignment&(alignment-1) != 0 {
				return bad("general.alignment %d is not a power of two", alignment)
			}
			continue
		}
		if err := g.skipValue(typ, version, 0); err != nil {
			return bad("metadata %q: %v", key, err)
		}
	}
	type info struct {
		name   string
		offset uint64
	}
	var maxOffset uint64
	for range tensors {
		name := g.str(version)
		dims := g.u32()
		if g.err != nil || dims > 8 {
			return bad("tensor %q has %d dimensions", name, dims)
		}
		elems := uint64(1)
		for range dims {
			d := count()
			if d != 0 && elems > (1<<62)/d {
				return bad("tensor %q: shape overflows", name)
			}
			elems *= d
		}
		g.u32() // ggml type
		off := g.u64()
		if g.err != nil {
			return bad("tensor index truncated: %v", g.err)
		}
		if off%alignment != 0 {
			return bad("tensor %q at offset %d breaks the %d-byte alignment", name, off, alignment)
		}
		maxOffset = max(maxOffset, off)
	}
	dataStart := (uint64(g.off) + alignment - 1) / alignment * alignment
	if tensors > 0 && dataStart+maxOffset >= uint64(size) {
		return append(out, bad("tensor data starts past the end of the file (offset %d of %d)", dataStart+maxOffset, size)...)
	}
	return out
}

func excerpt(s, m string) string {
	i := strings.Index(s, m)
	lo, hi := max(0, i-60), min(len(s), i+len(m)+60)
	return strings.Join(strings.Fields(s[lo:hi]), " ")
}

type ggufReader struct {
	r    *bufio.Reader
	off  int64
	size int64
	err  error
}

func (g *ggufReader) read(b []byte) {
	if g.err != nil {
		return
	}
	n, err := io.ReadFull(g.r, b)
	g.off += int64(n)
	if err != nil {
		g.err = fmt.Errorf("truncated at offset %d", g.off)
	}
}

func (g *ggufReader) u32() uint32 {
	var b [4]byte
	g.read(b[:])
	return binary.LittleEndian.Uint32(b[:])
}

func (g *ggufReader) u64() uint64 {
	var b [8]byte
	g.read(b[:])
	return binary.LittleEndian.Uint64(b[:])
}

// str reads a GGUF string: a length, then its bytes, within the file.
func (g *ggufReader) str(version uint32) string {
	n := g.u64()
	if version == 1 {
		// Version 1 strings carry a 32-bit length; the 64 bits just read
		// held it and the first half of the text.
		g.err = fmt.Errorf("GGUF version 1 files are not read")
	}
	if g.err != nil {
		return ""
	}
	if n > uint64(g.size-g.off) || n > 64<<20 {
		g.err = fmt.Errorf("string of %d bytes at offset %d exceeds the file", n, g.off)
		return ""
	}
	b := make([]byte, n)
	g.read(b)
	return string(b)
}

func (g *ggufReader) skipValue(typ, version uint32, depth int) error {
	if n, ok := ggufFixed[typ]; ok {
		_, err := g.r.Discard(int(n))
		g.off += n
		if err != nil {
			return fmt.Errorf("truncated")
		}
		return nil
	}
	switch typ {
	case ggufString:
		g.str(version)
		return g.err
	case ggufArray:
		if depth > 2 {
			return fmt.Errorf("arrays nested too deep")
		}
		et := g.u32()
		n := g.u64()
		if g.err != nil {
			return g.err
		}
		if n > uint64(g.size-g.off) {
			return fmt.Errorf("array of %d items exceeds the file", n)
		}
		if sz, ok := ggufFixed[et]; ok {
			total := int64(n) * sz
			if total > g.size-g.off {
				return fmt.Errorf("array of %d items exceeds the file", n)
			}
			for total > 0 {
				k := min(total, 1<<30)
				d, err := g.r.Discard(int(k))
				g.off += int64(d)
				if err != nil {
					return fmt.Errorf("truncated")
				}
				total -= k
			}
			return nil
		}
		for range n {
			if err := g.skipValue(et, version, depth+1); err != nil {
				return err
			}
		}
		return nil
	}
	return fmt.Errorf("unknown value type %d", typ)
}
