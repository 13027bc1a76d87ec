package modelscan

import (
	"bytes"
	"testing"

	"github.com/modelgate/modelgate/finding"
)

// FuzzScan feeds any bytes through format detection and every parser:
// the scan never panics, and a file it could not read is never clean.
func FuzzScan(f *testing.F) {
	f.Add("model.pkl", evilPickle)
	f.Add("w.safetensors", []byte("\x10\x00\x00\x00\x00\x00\x00\x00{\"a\":{\"dtype\":\"F32\"}}"))
	f.Add("a.npy", []byte("\x93NUMPY\x01\x00\x10\x00{'descr': '|O'}\n\x80\x02."))
	f.Add("t.pt", []byte("PK\x03\x04\x14\x00\x08\x00\x00\x00"))
	f.Add("x.gz", []byte("\x1f\x8b\x08\x00"))
	f.Add("m.onnx", onnxModel("../x", "evil"))
	f.Add("saved_model.pb", msg(2, msg(2, msg(1, msg(1, "p", 2, "PyFunc")))))
	f.Add("m.gguf", ggufFile("{{ x.__class__ }}", 0))
	f.Add("m.h5", h5With(nestedLambda))
	s := &Scanner{MaxUnpacked: 1 << 20}
	f.Fuzz(func(t *testing.T, name string, b []byte) {
		files := s.scan(name, bytes.NewReader(b), int64(len(b)), 0)
		if len(files) == 0 {
			t.Fatal("no entry for the file")
		}
	})
}

// FuzzZip: both zip views on any bytes stay within the file.
func FuzzZip(f *testing.F) {
	f.Add([]byte("PK\x03\x04\x14\x00\x08\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x01\x00\x00\x00xPK\x05\x06"))
	f.Fuzz(func(t *testing.T, b []byte) {
		r := bytes.NewReader(b)
		central, concat, _ := readCentral(r, int64(len(b)))
		if concat < 0 {
			t.Fatalf("negative offset of the archive: %d", concat)
		}
		local, _ := walkLocal(r, int64(len(b)), concat, centralSizes(central))
		for _, m := range local {
			if m.offset < 0 || m.offset > int64(len(b)) || m.csize < 0 || m.offset+m.csize > int64(len(b)) {
				t.Fatalf("member %+v out of bounds of %d bytes", m, len(b))
			}
		}
		var file finding.File
		(&Scanner{MaxUnpacked: 1 << 20}).scanZip("f", r, int64(len(b)), 0, &file)
	})
}

// FuzzChatTemplate: the analysis of any template ends, within bounds,
// and a template it reads is judged (no panic on what folding builds).
func FuzzChatTemplate(f *testing.F) {
	f.Add(`{% set a = '__cla' %}{% for k in [a ~ 'ss__'] %}{{ x[k]|attr(k) }}{% endfor %}`)
	f.Add(`{% macro m(k) %}{{ x[k] }}{% endmacro %}{{ m('o' ~ 's') }}{{ '{0.a}'.format(x) }}`)
	f.Add(`{% set s = 'ab' %}{% for i in range(30) %}{% set s = s ~ s %}{% endfor %}{{ x[s * 99999] }}`)
	f.Add(`{{ ('a' if b else 'c')[::-1]|replace('a', '_')|first }}{{ '%c%s' % (95, 'x') }}`)
	f.Fuzz(func(t *testing.T, src string) {
		reach, err := analyzeTemplate(src)
		if err != nil {
			return
		}
		for _, c := range reach.consts {
			if len(c) > maxFold {
				t.Fatalf("folded a %d-byte string, bound %d", len(c), maxFold)
			}
		}
		checkChatTemplate(src, "chat_template")
	})
}

// FuzzPyLiteral: ast.literal_eval's grammar on any text, without a
// panic; what parses is a value.
func FuzzPyLiteral(f *testing.F) {
	f.Add("{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }")
	f.Add(`{'descr': [('a', '|O'), ('b', '<i4', (2,))], 'shape': (), 'fortran_order': 0}`)
	f.Add(`'\N{LATIN SMALL LETTER A}' b'\x00' 0x_ff 1_000.5e-3j -(-1)`)
	f.Fuzz(func(t *testing.T, src string) {
		pyLiteralEval(src)
	})
}
