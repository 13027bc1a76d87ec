package modelscan

import (
	"os"
	"path/filepath"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"
)

// msg builds a protobuf message from fields: a number and either a
// []byte (length-delimited), a string, or a uint64 (varint).
func msg(fields ...any) []byte {
	var b []byte
	for i := 0; i < len(fields); i += 2 {
		num := protowire.Number(fields[i].(int))
		switch v := fields[i+1].(type) {
		case []byte:
			b = protowire.AppendTag(b, num, protowire.BytesType)
			b = protowire.AppendBytes(b, v)
		case string:
			b = protowire.AppendTag(b, num, protowire.BytesType)
			b = protowire.AppendString(b, v)
		case uint64:
			b = protowire.AppendTag(b, num, protowire.VarintType)
			b = protowire.AppendVarint(b, v)
		}
	}
	return b
}

func onnxModel(location, domain string) []byte {
	tensor := msg(8, "w", 14, uint64(1), 13, msg(1, "location", 2, location))
	node := msg(4, "Relu", 7, domain)
	return msg(1, uint64(8), 7, msg(1, node, 5, tensor))
}

func TestONNX(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "weights.bin"), make([]byte, 16), 0o644)
	os.Symlink("/etc/hostname", filepath.Join(dir, "link.bin"))
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		os.WriteFile(p, b, 0o644)
		return p
	}
	check := func(file string) []string {
		var ids []string
		for _, f := range (&Scanner{}).ScanFile(file) {
			for _, fd := range f.Findings {
				ids = append(ids, fd.RuleID)
			}
		}
		return ids
	}
	if ids := check(write("good.onnx", onnxModel("weights.bin", ""))); len(ids) != 0 {
		t.Errorf("benign ONNX: %v", ids)
	}
	for name, loc := range map[string]string{"up": "../../etc/passwd", "abs": "/etc/passwd", "win": `C:\Windows\win.ini`, "link": "link.bin", "sneaky": "a/../../x"} {
		if ids := check(write(name+".onnx", onnxModel(loc, ""))); !has(ids, "MS702") {
			t.Errorf("%s (%s): %v", name, loc, ids)
		}
	}
	if ids := check(write("custom.onnx", onnxModel("weights.bin", "evil.custom"))); !has(ids, "MS703") {
		t.Errorf("custom domain: %v", ids)
	}
	if ids := check(write("junk.onnx", []byte{0xff, 0xff, 0xff})); !has(ids, "MS701") {
		t.Errorf("junk ONNX: %v", ids)
	}
}

func TestSavedModel(t *testing.T) {
	graph := func(libOp string) []byte {
		lib := msg(1, msg(1, msg(1, "f"), 3, msg(1, "p", 2, libOp)))
		return msg(1, uint64(1), 2, msg(2, msg(1, msg(1, "x", 2, "Const"), 2, lib)))
	}
	dir := t.TempDir()
	p := filepath.Join(dir, "saved_model.pb")
	os.WriteFile(p, graph("Identity"), 0o644)
	if f := (&Scanner{}).ScanFile(p); len(f[0].Findings) != 0 || f[0].Format != FormatSavedModel {
		t.Errorf("benign SavedModel: %+v", f)
	}
	os.WriteFile(p, graph("PyFunc"), 0o644)
	if f := (&Scanner{}).ScanFile(p); len(f[0].Findings) == 0 || f[0].Findings[0].RuleID != "MS802" || f[0].Findings[0].Severity.String() != "critical" {
		t.Errorf("PyFunc in the function library: %+v", f)
	}
}
