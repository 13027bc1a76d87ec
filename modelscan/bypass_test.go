package modelscan

import (
	"archive/tar"
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"fmt"
	"strings"
	"testing"

	"github.com/dsnet/compress/bzip2"
	"github.com/ulikunitz/xz"
	"github.com/ulikunitz/xz/lzma"

	"github.com/modelgate/modelgate/finding"
)

// The bypass classes an outside red team found, each written the way an
// attacker would: a file that runs code under its loader, in a shape the
// scanner once called clean. No sample of theirs is used.

// osSystemP0 calls os.system('id') in protocol 0 without a PROTO opcode.
const osSystemP0 = "cos\nsystem\n(S'id'\ntR."

// short is a pickle SHORT_BINUNICODE (protocol 4 strings).
func short(s string) string { return "\x8c" + string(rune(len(s))) + s }

// protoGlobal writes a protocol-4 STACK_GLOBAL of module.name called with
// one str argument.
func protoGlobal(module, name, arg string) []byte {
	return []byte("\x80\x04" + short(module) + short(name) + "\x93" + short(arg) + "\x85R.")
}

func severityOf(rep *finding.Report, id string) finding.Severity {
	worst := finding.Severity(0)
	for _, f := range rep.Files {
		for _, fd := range f.Findings {
			if fd.RuleID == id {
				worst = max(worst, fd.Severity)
			}
		}
	}
	return worst
}

func mustFind(t *testing.T, what, name string, b []byte, id string) {
	t.Helper()
	ids, _, _ := scan(t, name, b)
	if !has(ids, id) {
		t.Errorf("%s: %v, want %s", what, ids, id)
	}
}

// Class 1: a pickle is recognised as CPython's unpickler reads it,
// whatever its first opcode, at the top level and inside containers.
func TestBypassFirstOpcode(t *testing.T) {
	frame := func(body string) string {
		return "\x95" + string(binary.LittleEndian.AppendUint64(nil, uint64(len(body)))) + body
	}
	for name, p := range map[string]string{
		"NONE then POP":       "N0" + osSystemP0,
		"MARK":                "(cos\nsystem\nS'id'\no.",
		"INT":                 "I1\n0" + osSystemP0,
		"EMPTY_DICT then POP": "}0" + osSystemP0,
		"FRAME without PROTO": frame(osSystemP0),
		"BININT":              "J\x01\x00\x00\x000" + osSystemP0,
	} {
		mustFind(t, name, "weights.bin", []byte(p), "MS001")
		mustFind(t, name+" in gzip", "weights.bin.gz", gz([]byte(p)), "MS001")
		mustFind(t, name+" in a zip", "bundle.zip", zipOf(t, map[string][]byte{"w/weights.dat": []byte(p)}, "w/weights.dat"), "MS001")
		mustFind(t, name+" in a tar", "bundle.tar", tarOf(t, map[string][]byte{"pickle": []byte(p), "storages": nil}), "MS001")
	}
	// An unrecognised binary file is reported, never silently clean.
	ids, _, rep := scan(t, "blob.bin", []byte("\x00\x01\x02\x03\xfe\xff opaque"))
	if !has(ids, "MS007") || rep.Summary.Highest != "info" {
		t.Errorf("unrecognised file: %v", ids)
	}
}

// Class 2: no limit is reached silently.
func TestBypassSilentCaps(t *testing.T) {
	var b strings.Builder
	b.WriteString("\x80\x02")
	for range 10_001 {
		b.WriteString("ccollections\nOrderedDict\n0")
	}
	b.WriteString("cos\nsystem\n(S'id'\ntR.")
	_, _, rep := scan(t, "many-imports.pkl", []byte(b.String()))
	if severityOf(rep, "MS008") < finding.High || rep.Summary.Highest != "critical" && rep.Summary.Highest != "high" {
		t.Errorf("10,001 imports: %+v", rep.Summary)
	}
	// A stack of more values than the walk keeps.
	deep := "\x80\x02" + strings.Repeat("N", 1<<20+1) + "."
	if _, _, rep := scan(t, "deep.pkl", []byte(deep)); severityOf(rep, "MS008") < finding.High {
		t.Errorf("a stack past the limit: %+v", rep.Summary)
	}
	// The same without PROTO: a stream of valid opcodes up to the limit
	// is a pickle, not text, though every byte is printable.
	if _, _, rep := scan(t, "deep.txt", []byte(strings.Repeat("N", 1<<20+1)+osSystemP0)); severityOf(rep, "MS008") < finding.High {
		t.Errorf("a printable stack past the limit: %+v", rep.Summary)
	}
	// Memo keys beyond what the walk keeps.
	var memo strings.Builder
	memo.WriteString("\x80\x02N")
	for i := range 70_000 {
		memo.WriteString("r" + string(binary.LittleEndian.AppendUint32(nil, uint32(1<<30+i))))
	}
	memo.WriteString(".")
	if _, _, rep := scan(t, "memo.pkl", []byte(memo.String())); severityOf(rep, "MS008") < finding.High {
		t.Errorf("a memo past the limit: %+v", rep.Summary)
	}
}

// Class 3: memo keys are parsed as Python's int() parses them, and an
// archive member is judged as the same file at the top level.
func TestBypassMemoKeySpellings(t *testing.T) {
	// STACK_GLOBAL takes module and name from the memo, stored and fetched
	// under keys spelled with spaces, signs and underscores.
	p := []byte("S'os'\np 1_0\n0S'system'\np+2 \n0g  10\ng2\n\x93(S'id'\ntR.")
	mustFind(t, "memo keys", "m.pkl", p, "MS001")
	mustFind(t, "memo keys in a torch zip", "m.pt", torchZip(t, p), "MS001")
}

// Class 4: a zip is read as zipfile and torch read it, by its central
// directory, and by its local headers too.
func TestBypassZipViews(t *testing.T) {
	// The local header says the member is empty; the central directory
	// has its real size.
	z := torchZip(t, evilPickle)
	i := bytes.Index(z, []byte("PK\x03\x04"))
	z[i+6] &^= 0x08                            // no data descriptor: the sizes here are the sizes
	binary.LittleEndian.PutUint32(z[i+18:], 0) // compressed size
	binary.LittleEndian.PutUint32(z[i+22:], 0) // uncompressed size
	ids, _, _ := scan(t, "zero-local.pt", z)
	if !has(ids, "MS001") || !has(ids, "MS202") {
		t.Errorf("local size 0: %v", ids)
	}
	// A benign data.pkl first, junk, then the archive whose central
	// directory names a malicious data.pkl.
	benign := torchZip(t, torchPickle)
	local := benign[:bytes.Index(benign, []byte("PK\x01\x02"))]
	var b bytes.Buffer
	b.Write(local)
	b.WriteString(strings.Repeat("junk", 64))
	b.Write(torchZip(t, evilPickle))
	if ids, _, _ := scan(t, "behind-junk.pt", b.Bytes()); !has(ids, "MS001") {
		t.Errorf("malicious member behind junk: %v", ids)
	}
	// Bytes before a zip hide nothing from a scanner that reads it as
	// zipfile does.
	prefixed := append([]byte("\x00\x00not a zip at first "), torchZip(t, evilPickle)...)
	if ids, _, _ := scan(t, "prefixed.pt", prefixed); !has(ids, "MS001") || !has(ids, "MS206") {
		t.Errorf("junk-prefixed zip: %v", ids)
	}
}

// Class 5: tar as Python's tarfile reads it: V7 headers without the
// ustar magic, and contiguous files (typeflag 7).
func TestBypassTarFormats(t *testing.T) {
	v7 := make([]byte, 512)
	copy(v7, "pickle")
	copy(v7[100:], "0000644\x00")
	copy(v7[108:], "0000000\x00")
	copy(v7[116:], "0000000\x00")
	copy(v7[124:], fmt.Sprintf("%011o\x00", len(evilPickle)))
	copy(v7[136:], "00000000000\x00")
	v7[156] = 0 // old-style regular file
	setTarChecksum(v7)
	body := append(v7, evilPickle...)
	body = append(body, make([]byte, 512-len(evilPickle)%512+1024)...)
	mustFind(t, "V7 tar", "legacy.tar", body, "MS001")

	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	tw.WriteHeader(&tar.Header{Name: "pickle", Typeflag: tar.TypeCont, Size: int64(len(evilPickle)), Mode: 0o644, Format: tar.FormatUSTAR})
	tw.Write(evilPickle)
	tw.Close()
	mustFind(t, "contiguous file", "contiguous.tar", b.Bytes(), "MS001")
}

// Class 6: every compressor joblib accepts is unpacked and scanned.
func TestBypassJoblibCompressors(t *testing.T) {
	var z, bz, x, l bytes.Buffer
	zw := zlib.NewWriter(&z)
	zw.Write(evilPickle)
	zw.Close()
	bw, _ := bzip2.NewWriter(&bz, nil)
	bw.Write(evilPickle)
	bw.Close()
	xw, _ := xz.NewWriter(&x)
	xw.Write(evilPickle)
	xw.Close()
	lw, _ := lzma.NewWriter(&l)
	lw.Write(evilPickle)
	lw.Close()
	for name, b := range map[string][]byte{
		"model.joblib.z": z.Bytes(), "model.joblib.gz": gz(evilPickle), "model.joblib.bz2": bz.Bytes(),
		"model.joblib.xz": x.Bytes(), "model.joblib.lzma": l.Bytes(),
		// joblib's old zlib container: "ZF", the length in hex padded to
		// 19 bytes, then zlib.
		"model.joblib": append([]byte("ZF"+fmt.Sprintf("%-19s", fmt.Sprintf("0x%x", len(evilPickle)))), z.Bytes()...),
	} {
		mustFind(t, name, name, b, "MS001")
	}
	// What is not unpacked is reported.
	mustFind(t, "LZ4", "model.joblib.lz4", []byte("\x04\x22\x4d\x18\x64\x40\xa7rest"), "MS205")
}

// Class 7: NumPy headers read as the Python literal numpy evaluates.
func TestBypassNumPyHeaders(t *testing.T) {
	header := func(dict string) []byte {
		h := dict
		for (10+len(h)+1)%64 != 0 {
			h += " "
		}
		h += "\n"
		b := append([]byte("\x93NUMPY\x01\x00"), byte(len(h)), byte(len(h)>>8))
		return append(append(b, h...), evilPickle...)
	}
	for name, dict := range map[string]string{
		"double quotes": `{"descr": "|O", "fortran_order": False, "shape": (1,)}`,
		"object":        `{'descr': 'object', 'fortran_order': False, 'shape': (1,)}`,
		"O8":            `{'descr': '|O8', 'fortran_order': False, 'shape': (1,)}`,
		"structured":    `{'descr': [('a', '<f4'), ('b', '|O')], 'fortran_order': False, 'shape': (1,)}`,
		"nested":        `{'descr': [('a', [('x', '<i4'), ('y', 'O')])], 'fortran_order': False, 'shape': (1,)}`,
		"subarray":      `{'descr': [('a', 'O', (2,))], 'fortran_order': False, 'shape': (1,)}`,
		"escaped":       `{'descr': '\x7cO', 'fortran_order': False, 'shape': (1,)}`,
		"concatenated":  `{'descr': '|' 'O', 'fortran_order': False, 'shape': (1,)}`,
	} {
		mustFind(t, name, "a.npy", header(dict), "MS301")
		mustFind(t, name+" in an npz", "arrays.npz", zipOf(t, map[string][]byte{"a.npy": header(dict)}, "a.npy"), "MS301")
	}
}

// Class 8: GGUF chat templates are parsed as Jinja and judged by the
// names they reach (more in chattemplate_test.go).
func TestBypassGGUFTemplates(t *testing.T) {
	for name, tmpl := range map[string]string{
		"escapes": `{{ x['\x5f\x5fglobals\x5f\x5f'] }}`,
		"tilde":   `{% set a = '__cla' ~ 'ss__' %}{{ ''[a] }}`,
		"attr":    `{{ lipsum|attr('__glo' 'bals__') }}`,
		"reverse": `{{ cycler|attr('__tini__'|reverse) }}`,
		"os":      `{{ namespace.__init__.__globals__['o' ~ 's'].popen('id') }}`,
	} {
		mustFind(t, name, "m.gguf", ggufFile(tmpl, 0), "MS502")
	}
}

// Class 9: an allowlisted module does not make what it reaches safe.
func TestBypassAllowlistSemantics(t *testing.T) {
	for _, c := range [][2]string{
		{"numpy", "ctypeslib.ctypes.CDLL"},
		{"torch", "serialization.os.system"},
		{"random", "_os.system"},
		{"collections", "OrderedDict.__init__.__globals__"},
	} {
		_, _, rep := scan(t, "walk.pkl", protoGlobal(c[0], c[1], "id"))
		if rep.Summary.Highest != "critical" {
			t.Errorf("%s.%s: %+v", c[0], c[1], rep.Summary)
		}
	}
	// A loader of nested bytes has them scanned.
	nested := []byte("\x80\x02ctorch.storage\n_load_from_bytes\nq\x00C" + string(rune(len(evilPickle))) + string(evilPickle) + "q\x01\x85q\x02Rq\x03.")
	if _, _, rep := scan(t, "nested.pkl", nested); rep.Summary.Highest != "critical" {
		t.Errorf("torch.storage._load_from_bytes of a malicious pickle: %+v", rep.Summary)
	}
	// A size constant that allocates gigabytes.
	dos := []byte("\x80\x02c__builtin__\nbytearray\nJ\x00\xca\x9a\x3b\x85R.") // bytearray(10**9)
	mustFind(t, "bytearray(10**9)", "dos.pkl", dos, "MS011")
	// A .keras config is checked whatever else the archive holds.
	cfg := []byte(`{"class_name": "Functional", "config": {"layers": [{"class_name": "Lambda", "config": {"function": {"class_name": "__lambda__", "config": {"code": "4wEAAAAAAAAA"}}}}]}}`)
	keras := zipOf(t, map[string][]byte{"metadata.json": []byte(`{"keras_version": "3.3.3"}`), "config.json": cfg,
		"model.weights.h5": []byte("\x89HDF\r\n\x1a\n"), "assets/vocab.txt": []byte("a\nb\n")},
		"metadata.json", "model.weights.h5", "assets/vocab.txt", "config.json")
	mustFind(t, ".keras with other members", "model.keras", keras, "MS602")
}

// Class 10: what runs a program, spawns a shell or writes files is
// critical, through aliases and re-exports too.
func TestBypassSeverityByEffect(t *testing.T) {
	for _, c := range [][2]string{
		{"uuid", "_get_command_stdout"}, {"imaplib", "IMAP4_stream"}, {"logging", "FileHandler"},
		{"_io", "FileIO"}, {"codecs", "open"}, {"ensurepip", "bootstrap"}, {"venv", "create"},
		{"test.support.script_helper", "assert_python_ok"}, {"shutil", "rmtree"}, {"os", "remove"},
		{"tempfile", "_os.system"}, {"pty", "spawn"}, {"distutils.spawn", "spawn"},
	} {
		v, sev := (&Policy{}).classify(c[0], c[1])
		if v != verdictDangerous || sev != finding.Critical {
			t.Errorf("%s.%s: verdict %d severity %v, want critical", c[0], c[1], v, sev)
		}
	}
}

// Class 11: real files are clean.
func TestBypassRealFilesAreClean(t *testing.T) {
	for name, p := range map[string]string{
		// Protocol 2 written by Python 3 names builtins __builtin__.
		"__builtin__ types": "\x80\x02c__builtin__\nset\nq\x00]q\x01\x85q\x02Rq\x03c__builtin__\nbytearray\nq\x04C\x02abq\x05\x85q\x06Rq\x07c__builtin__\ncomplex\nq\x08G?\xf0\x00\x00\x00\x00\x00\x00G\x00\x00\x00\x00\x00\x00\x00\x00\x86q\tRq\n\x87q\x0b.",
		// transformers' TrainingArguments and its enums.
		"training_args.bin": "\x80\x04" + short("transformers.training_args") + short("TrainingArguments") + "\x93)\x81}(" +
			short("eval_strategy") + short("transformers.trainer_utils") + short("IntervalStrategy") + "\x93" + short("no") + "\x85R" +
			short("optim") + short("transformers.training_args") + short("OptimizerNames") + "\x93" + short("adamw_torch") + "\x85R" +
			short("lr_scheduler_type") + short("transformers.trainer_utils") + short("SchedulerType") + "\x93" + short("linear") + "\x85R" +
			short("hub_strategy") + short("transformers.trainer_utils") + short("HubStrategy") + "\x93" + short("every_save") + "\x85R" +
			short("distributed_state") + short("accelerate.utils.dataclasses") + short("DistributedType") + "\x93" + short("NO") + "\x85R" +
			"ub.",
		// A pandas DataFrame.
		"DataFrame": "\x80\x04" + short("pandas.core.frame") + short("DataFrame") + "\x93)\x81}(" + short("_mgr") +
			short("pandas.core.internals.managers") + short("BlockManager") + "\x93)\x81" +
			short("pandas._libs.internals") + short("_unpickle_block") + "\x93" +
			short("numpy.core.multiarray") + short("_reconstruct") + "\x93" + short("numpy") + short("ndarray") + "\x93K\x00\x85C\x01b\x87R" +
			short("builtins") + short("slice") + "\x93K\x00K\x01N\x87RK\x02\x87R\x85b" +
			short("_item_cache") + "}" + short("_index") + short("pandas.core.indexes.base") + short("_new_Index") + "\x93" +
			short("pandas.core.indexes.range") + short("RangeIndex") + "\x93}\x86Rub.",
		// defaultdict(list) in a checkpoint.
		"defaultdict(list)": "\x80\x02ccollections\ndefaultdict\nq\x00c__builtin__\nlist\nq\x01\x85q\x02Rq\x03.",
	} {
		if ids, _, _ := scan(t, name+".pkl", []byte(p)); len(ids) != 0 {
			t.Errorf("%s: %v", name, ids)
		}
	}
}
