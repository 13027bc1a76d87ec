package modelscan

import (
	"encoding/binary"
	"fmt"
	"io"
	"slices"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
	"github.com/modelgate/modelgate/finding"
)

// dtypeSizes are the safetensors dtypes and their sizes in bits.
var dtypeSizes = map[string]int64{
	"BOOL": 8, "U8": 8, "I8": 8, "F8_E5M2": 8, "F8_E4M3": 8, "F8_E8M0": 8, "I16": 16, "U16": 16, "F16": 16, "BF16": 16,
	"I32": 32, "U32": 32, "F32": 32, "I64": 64, "U64": 64, "F64": 64, "F4": 4, "F6_E2M3": 6, "F6_E3M2": 6, "C64": 64,
}

const maxSafetensorsHeader = 100 << 20

// checkSafetensors validates a safetensors file strictly: the header's
// length within the file and at most 100 MB, valid JSON without duplicate
// names, every tensor's dtype known and its shape matching its byte range,
// the ranges contiguous from zero with no gaps or overlaps, the data
// covering the rest of the file exactly, and metadata strings only. A file
// that passes holds nothing but tensors; one that does not may be crafted
// to confuse the readers that load it.
func checkSafetensors(r io.ReaderAt, size int64) []finding.Finding {
	bad := func(format string, args ...any) []finding.Finding {
		return []finding.Finding{{RuleID: "MS401", Severity: finding.High, Title: "safetensors file is malformed",
			Location: "header", Evidence: fmt.Sprintf(format, args...), References: refsTamper}}
	}
	var lb [8]byte
	if _, err := r.ReadAt(lb[:], 0); err != nil {
		return bad("no header length")
	}
	n := binary.LittleEndian.Uint64(lb[:])
	if n > maxSafetensorsHeader || int64(n) > size-8 {
		return bad("header length %d exceeds the file or the 100 MB limit", n)
	}
	header := make([]byte, n)
	if _, err := r.ReadAt(header, 8); err != nil {
		return bad("header truncated")
	}
	var entries map[string]jsontext.Value
	if err := json.Unmarshal(header, &entries); err != nil {
		return bad("header is not a JSON object of unique names: %v", err)
	}
	type span struct {
		name       string
		start, end int64
	}
	var spans []span
	for name, raw := range entries {
		if name == "__metadata__" {
			var meta map[string]string
			if err := json.Unmarshal(raw, &meta); err != nil {
				return bad("__metadata__ must map strings to strings: %v", err)
			}
			continue
		}
		var t struct {
			Dtype       string  `json:"dtype"`
			Shape       []int64 `json:"shape"`
			DataOffsets []int64 `json:"data_offsets"`
		}
		if err := json.Unmarshal(raw, &t, json.RejectUnknownMembers(true)); err != nil {
			return bad("tensor %q: %v", name, err)
		}
		bits, ok := dtypeSizes[t.Dtype]
		if !ok {
			return bad("tensor %q: unknown dtype %q", name, t.Dtype)
		}
		if len(t.DataOffsets) != 2 || t.DataOffsets[0] < 0 || t.DataOffsets[1] < t.DataOffsets[0] {
			return bad("tensor %q: data_offsets must be [start, end] with start <= end", name)
		}
		elems := int64(1)
		for _, d := range t.Shape {
			if d < 0 || d > 0 && elems > (1<<62)/d {
				return bad("tensor %q: shape %v is invalid", name, t.Shape)
			}
			elems *= d
		}
		if want := (elems*bits + 7) / 8; want != t.DataOffsets[1]-t.DataOffsets[0] {
			return bad("tensor %q: shape %v of %s needs %d bytes, its range holds %d", name, t.Shape, t.Dtype, want, t.DataOffsets[1]-t.DataOffsets[0])
		}
		spans = append(spans, span{name, t.DataOffsets[0], t.DataOffsets[1]})
	}
	slices.SortFunc(spans, func(a, b span) int {
		switch {
		case a.start != b.start:
			return int(min(max(a.start-b.start, -1), 1))
		}
		return int(min(max(a.end-b.end, -1), 1))
	})
	next := int64(0)
	for _, sp := range spans {
		if sp.start != next {
			return bad("tensor %q starts at %d, not at %d: the data has a gap or an overlap", sp.name, sp.start, next)
		}
		next = sp.end
	}
	if data := size - 8 - int64(n); next != data {
		return bad("tensors cover %d bytes of data, the file holds %d", next, data)
	}
	return []finding.Finding{}
}
