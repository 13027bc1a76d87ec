package modelscan

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"regexp"
	"strings"

	"github.com/modelgate/modelgate/finding"
)

// maxNpyHeader bounds the header read: numpy refuses more than 10,000
// bytes unless allow_pickle is set, and then reads any size.
const maxNpyHeader = 1 << 20

// scanNumPy reads a .npy header as numpy.lib.format does: the dict is a
// Python literal (ast.literal_eval), with exactly the keys descr,
// fortran_order and shape, and descr is turned into a dtype the way
// descr_to_dtype does. An array of Python objects, at any depth of a
// structured dtype, is stored as a pickle, which np.load(allow_pickle=True)
// runs: that is a finding, and the pickle is scanned like any other.
func (s *Scanner) scanNumPy(ra io.ReaderAt, size int64, member string, depth int) []finding.Finding {
	r := io.NewSectionReader(ra, 0, size)
	var pre [10]byte
	if _, err := io.ReadFull(r, pre[:]); err != nil {
		return []finding.Finding{npyBroken(member, "truncated header")}
	}
	major := pre[6]
	var hlen int64
	off := int64(10)
	switch major {
	case 1:
		hlen = int64(binary.LittleEndian.Uint16(pre[8:]))
	case 2, 3:
		var ext [2]byte
		if _, err := io.ReadFull(r, ext[:]); err != nil {
			return []finding.Finding{npyBroken(member, "truncated header")}
		}
		hlen = int64(binary.LittleEndian.Uint32(append(append([]byte{}, pre[8:]...), ext[:]...)))
		off = 12
	default:
		return []finding.Finding{npyBroken(member, fmt.Sprintf("unknown format version %d", major))}
	}
	if hlen > maxNpyHeader {
		return []finding.Finding{npyBroken(member, fmt.Sprintf("header of %d bytes", hlen))}
	}
	header := make([]byte, hlen)
	if _, err := io.ReadFull(r, header); err != nil {
		return []finding.Finding{npyBroken(member, "truncated header")}
	}
	text := latin1(header)
	if major == 3 {
		text = string(header) // UTF-8
	}
	d, err := pyLiteralEval(text)
	if err != nil && major <= 2 {
		// numpy retries a Python 2 header without its longs' L suffix.
		d, err = pyLiteralEval(py2Longs.ReplaceAllString(text, "$1"))
	}
	if err != nil {
		return []finding.Finding{npyBroken(member, "header is not a Python literal: "+err.Error())}
	}
	descr, why := npyDescr(d)
	if why != "" {
		return []finding.Finding{npyBroken(member, why)}
	}
	if !descrHasObject(descr, 0) {
		return []finding.Finding{}
	}
	loc := "object array"
	if member != "" {
		loc = member
	}
	out := []finding.Finding{{RuleID: "MS301", Severity: finding.High, Title: "NumPy array of Python objects: loading it unpickles its data",
		Location: loc, Evidence: string(bytes.TrimSpace(header[:min(len(header), 200)])), References: refsCode,
		Remediation: "store numeric arrays; never np.load(allow_pickle=True) an untrusted file"}}
	return append(out, s.scanPickle(io.NewSectionReader(ra, off+hlen, size-off-hlen), size-off-hlen, member, false, depth)...)
}

var py2Longs = regexp.MustCompile(`\b(\d+)[lL]\b`)

func latin1(b []byte) string {
	var sb strings.Builder
	for _, c := range b {
		sb.WriteRune(rune(c))
	}
	return sb.String()
}

// npyDescr checks a header dict as numpy does and returns its descr, or
// why numpy refuses the header.
func npyDescr(d pyValue) (pyValue, string) {
	if d.kind != pyDict {
		return pyValue{}, "header is not a dict"
	}
	var descr pyValue
	keys := map[string]bool{}
	for i := 0; i < len(d.items); i += 2 {
		k := d.items[i]
		if k.kind != pyStr {
			return pyValue{}, "header has a key that is not a string"
		}
		keys[k.s] = true
		if k.s == "descr" {
			descr = d.items[i+1]
		}
	}
	if len(keys) != 3 || !keys["descr"] || !keys["fortran_order"] || !keys["shape"] {
		return pyValue{}, "header keys are not exactly descr, fortran_order and shape"
	}
	return descr, ""
}

// descrHasObject reports whether a descr makes a dtype with Python
// objects in it, following descr_to_dtype: a string is a dtype string; a
// tuple is (descr, shape); anything else is iterated as a list of fields,
// each unpacked as (name, descr) or (name, descr, shape) whatever it is (a
// two-character string unpacks into two one-character strings).
func descrHasObject(v pyValue, depth int) bool {
	if depth > 32 {
		return true // numpy would recurse this deep on nothing benign
	}
	switch v.kind {
	case pyStr:
		return dtypeStringHasObject(v.s)
	case pyTuple:
		if len(v.items) == 0 {
			return false
		}
		// (base, shape), or numpy's (base, new_dtype) when the second is
		// a dtype itself.
		return descrHasObject(v.items[0], depth+1) || len(v.items) > 1 && descrHasObject(v.items[1], depth+1)
	}
	for _, field := range fieldsOf(v) {
		parts := unpack(field)
		if len(parts) == 2 || len(parts) == 3 {
			if descrHasObject(parts[1], depth+1) {
				return true
			}
		}
		if field.kind == pySet {
			for _, p := range field.items { // unpacked in an order only Python knows
				if descrHasObject(p, depth+1) {
					return true
				}
			}
		}
	}
	return false
}

// fieldsOf iterates a value as Python's for would.
func fieldsOf(v pyValue) []pyValue {
	switch v.kind {
	case pyList, pySet:
		return v.items
	case pyDict:
		var keys []pyValue
		for i := 0; i < len(v.items); i += 2 {
			keys = append(keys, v.items[i])
		}
		return keys
	case pyStr:
		var chars []pyValue
		for _, r := range v.s {
			chars = append(chars, pyValue{kind: pyStr, s: string(r)})
		}
		return chars
	}
	return nil
}

// unpack is a, b = field: the items of a sequence, the characters of a
// string, the keys of a dict.
func unpack(field pyValue) []pyValue {
	switch field.kind {
	case pyTuple, pyList:
		return field.items
	case pyStr, pyDict:
		return fieldsOf(field)
	}
	return nil
}

// dtypeStringHasObject reports whether numpy.dtype(s) holds objects: a
// comma-separated list of type strings, each with an optional shape and
// byte order, where O (with or without a size) or object is a Python
// object.
func dtypeStringHasObject(s string) bool {
	for _, part := range strings.Split(s, ",") {
		t := strings.TrimSpace(part)
		if i := strings.LastIndexByte(t, ')'); strings.HasPrefix(t, "(") && i > 0 {
			t = strings.TrimSpace(t[i+1:]) // a subarray shape
		}
		t = strings.TrimLeft(t, "<>=|")
		switch {
		case t == "O", t == "object", t == "object_", t == "object0", t == "O0":
			return true
		case strings.HasPrefix(t, "O") && strings.Trim(t[1:], "0123456789") == "":
			return true
		}
	}
	return false
}

func npyBroken(member, why string) finding.Finding {
	loc := "header"
	if member != "" {
		loc = member
	}
	return finding.Finding{RuleID: "MS302", Severity: finding.High, Title: "NumPy file is malformed: np.load refuses it", Location: loc, Evidence: why, References: refsTamper}
}
