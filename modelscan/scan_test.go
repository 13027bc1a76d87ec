package modelscan

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/modelgate/modelgate/finding"
)

// Pickles for the tests, written opcode by opcode.
var (
	evilPickle   = []byte("\x80\x02cos\nsystem\nq\x00X\x02\x00\x00\x00idq\x01\x85q\x02Rq\x03.")
	benignPickle = []byte("\x80\x02ccollections\nOrderedDict\nq\x00)Rq\x01.")
	// torchPickle is what torch.save writes in data.pkl: a tensor rebuilt
	// from a persistent storage id.
	torchPickle = []byte("\x80\x02ccollections\nOrderedDict\nq\x00)Rq\x01X\x06\x00\x00\x00weightq\x02ctorch._utils\n_rebuild_tensor_v2\nq\x03((X\x07\x00\x00\x00storageq\x04ctorch\nFloatStorage\nq\x05X\x01\x00\x00\x000q\x06X\x03\x00\x00\x00cpuq\x07K\x04tq\x08QK\x00K\x04\x85q\tK\x01\x85q\n\x89ccollections\nOrderedDict\nq\x0b)Rq\x0ctq\rRq\x0es.")
)

func write(t *testing.T, name string, b []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func zipOf(t *testing.T, members map[string][]byte, order ...string) []byte {
	t.Helper()
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	for _, name := range order {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: name, Method: zip.Store})
		if err != nil {
			t.Fatal(err)
		}
		w.Write(members[name])
	}
	zw.Close()
	return b.Bytes()
}

func torchZip(t *testing.T, pkl []byte) []byte {
	return zipOf(t, map[string][]byte{
		"archive/data.pkl": pkl, "archive/data/0": bytes.Repeat([]byte{0x80, 0x02, 0x11, 0x22}, 4), "archive/version": []byte("3\n"),
	}, "archive/data.pkl", "archive/data/0", "archive/version")
}

// scan scans bytes written to a file and returns the rule ids found, with
// the severity of the worst.
func scan(t *testing.T, name string, b []byte) ([]string, finding.Severity, *finding.Report) {
	t.Helper()
	var s Scanner
	rep, err := s.ScanPaths([]string{write(t, name, b)})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	worst := finding.Info
	for _, f := range rep.Files {
		for _, fd := range f.Findings {
			ids = append(ids, fd.RuleID)
			worst = max(worst, fd.Severity)
		}
		if f.Error != "" {
			ids = append(ids, "ERROR")
		}
	}
	return ids, worst, rep
}

func has(ids []string, id string) bool {
	for _, x := range ids {
		if x == id {
			return true
		}
	}
	return false
}

func TestBenignModelsAreClean(t *testing.T) {
	st := safetensors(t, `{"__metadata__":{"format":"pt"},"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"BF16","shape":[2,2],"data_offsets":[8,16]}}`, 16)
	for name, b := range map[string][]byte{
		"model.pkl":           benignPickle,
		"torch.pt":            torchZip(t, torchPickle),
		"weights.safetensors": st,
		"floats.npy":          npy(t, "<f4", []byte("\x00\x00\x80?")),
		"nested.zip":          zipOf(t, map[string][]byte{"inner.pt": torchZip(t, torchPickle)}, "inner.pt"),
		"joblib.gz":           gz(benignPickle),
	} {
		ids, _, rep := scan(t, name, b)
		if len(ids) > 0 || !rep.Clean() {
			t.Errorf("%s: findings %v", name, ids)
		}
	}
}

func TestMaliciousModels(t *testing.T) {
	legacy := append(append([]byte("\x80\x02\x8a\x0al\xfc\x9cF\xf9 j\xa8P\x19."), "\x80\x02}q\x00."...), evilPickle...)
	tests := []struct {
		name string
		b    []byte
		rule string
	}{
		{"model.pkl", evilPickle, "MS001"},
		{"model.safetensors", evilPickle, "MS001"}, // a pickle by content, whatever its name
		{"model.bin", evilPickle, "MS001"},
		{"torch.pt", torchZip(t, evilPickle), "MS001"},
		{"hidden-member.pt", zipOf(t, map[string][]byte{"archive/data.pkl": torchPickle, "archive/data/7": evilPickle}, "archive/data.pkl", "archive/data/7"), "MS001"},
		{"nested.zip", zipOf(t, map[string][]byte{"a.zip": zipOf(t, map[string][]byte{"x.pt": torchZip(t, evilPickle)}, "x.pt")}, "a.zip"), "MS001"},
		{"legacy.pt", legacy, "MS001"},
		{"legacy.tar", tarOf(t, map[string][]byte{"pickle": evilPickle, "storages": []byte("raw")}), "MS001"},
		{"object.npy", npy(t, "|O", evilPickle), "MS301"},
		{"object-payload.npy", npy(t, "|O", evilPickle), "MS001"},
		{"joblib.gz", gz(evilPickle), "MS001"},
		{"junk.pkl", append(append([]byte{}, benignPickle...), "\xff\xfe trailing"...), "MS006"},
		{"truncated.pkl", evilPickle[:20], "MS005"},
		{"unknown.pkl", []byte("\x80\x02cmycompany.layers\nCustom\n)R."), "MS003"},
	}
	for _, tt := range tests {
		ids, _, rep := scan(t, tt.name, tt.b)
		if !has(ids, tt.rule) || rep.Clean() {
			t.Errorf("%s: findings %v, want %s", tt.name, ids, tt.rule)
		}
	}
}

// TestZipTricks: the tricks that make Python's zipfile give up or see
// other members than torch.load does.
func TestZipTricks(t *testing.T) {
	base := torchZip(t, evilPickle)
	// Set the encryption flag and break the CRC of the first local header:
	// torch's reader ignores both.
	patched := append([]byte{}, base...)
	patched[6] |= 0x01
	patched[14] ^= 0xff
	if ids, _, _ := scan(t, "flags.pt", patched); !has(ids, "MS001") {
		t.Errorf("flag/CRC trick hid the pickle: %v", ids)
	}
	// Rename the member in the central directory only.
	renamed := append([]byte{}, base...)
	i := bytes.LastIndex(renamed, []byte("archive/data.pkl"))
	copy(renamed[i:], "archive/data.pkx")
	if ids, _, _ := scan(t, "renamed.pt", renamed); !has(ids, "MS202") || !has(ids, "MS001") {
		t.Errorf("name mismatch: %v", ids)
	}
	// A zip bomb: a deflated member far larger than its compressed size.
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	w, _ := zw.CreateHeader(&zip.FileHeader{Name: "bomb", Method: zip.Deflate})
	w.Write(make([]byte, 50<<20))
	zw.Close()
	if ids, _, _ := scan(t, "bomb.zip", b.Bytes()); !has(ids, "MS204") {
		t.Errorf("zip bomb: %v", ids)
	}
}

func TestSafetensors(t *testing.T) {
	good := `{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}`
	for name, tc := range map[string]struct {
		header string
		data   int
	}{
		"gap":           {`{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}`, 8},
		"overlap":       {`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}`, 8},
		"shape":         {`{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}`, 8},
		"dtype":         {`{"a":{"dtype":"PICKLE","shape":[2],"data_offsets":[0,8]}}`, 8},
		"trailing data": {good, 12},
		"short data":    {good, 4},
		"duplicate":     {`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}`, 8},
		"metadata":      {`{"__metadata__":{"x":{"nested":1}},"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}`, 8},
		"extra member":  {`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8],"code":"x"}}`, 8},
		"not json":      {`{"a":`, 8},
	} {
		ids, _, _ := scan(t, name+".safetensors", safetensors(t, tc.header, tc.data))
		if !has(ids, "MS401") {
			t.Errorf("%s: %v", name, ids)
		}
	}
	// A header length beyond the file.
	b := safetensors(t, good, 8)
	binary.LittleEndian.PutUint64(b, 1<<40)
	if ids, _, _ := scan(t, "huge.safetensors", append(b, '{')); len(ids) == 0 {
		t.Errorf("oversized header length passed")
	}
}

func TestReportAndDirectories(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "sub"), 0o755)
	os.WriteFile(filepath.Join(dir, "a.pkl"), benignPickle, 0o644)
	os.WriteFile(filepath.Join(dir, "sub", "b.bin"), evilPickle, 0o644)
	os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("hello"), 0o644)
	rep, err := (&Scanner{Digest: true}).ScanPaths([]string{dir})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Summary.Files != 3 || rep.Summary.Highest != "critical" || len(rep.Files[0].SHA256) != 64 {
		t.Fatalf("report %+v", rep.Summary)
	}
	if f := rep.Files[2]; !strings.HasSuffix(f.Path, "b.bin") || f.Format != FormatPickle || f.Findings[0].Severity != finding.Critical ||
		!strings.Contains(f.Findings[0].Evidence, "os.system") || len(f.Findings[0].References) == 0 {
		t.Fatalf("finding %+v", f)
	}
}

func safetensors(t *testing.T, header string, data int) []byte {
	b := binary.LittleEndian.AppendUint64(nil, uint64(len(header)))
	b = append(b, header...)
	return append(b, make([]byte, data)...)
}

func npy(t *testing.T, descr string, data []byte) []byte {
	h := fmt.Sprintf("{'descr': '%s', 'fortran_order': False, 'shape': (1,), }", descr)
	for (10+len(h)+1)%64 != 0 {
		h += " "
	}
	h += "\n"
	b := append([]byte("\x93NUMPY\x01\x00"), byte(len(h)), byte(len(h)>>8))
	return append(append(b, h...), data...)
}

func gz(b []byte) []byte {
	var out bytes.Buffer
	w := gzip.NewWriter(&out)
	w.Write(b)
	w.Close()
	return out.Bytes()
}

func tarOf(t *testing.T, members map[string][]byte) []byte {
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	for _, name := range []string{"pickle", "storages"} {
		tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(members[name]))})
		tw.Write(members[name])
	}
	tw.Close()
	return b.Bytes()
}
