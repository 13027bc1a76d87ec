package modelscan

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"

	"github.com/modelgate/modelgate/finding"
	"github.com/modelgate/modelgate/modelscan/pickle"
)

// python returns the path of python3, or skips the test saying why.
func python(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("skipped: python3 is not installed; the differential tests against CPython's pickle, zipfile, tarfile and ast need it")
	}
	return p
}

// runPy feeds records to testdata/pyloaders.py in a mode and returns its
// answer for each.
func runPy(t *testing.T, mode string, recs [][]byte, args ...string) []json.RawMessage {
	t.Helper()
	var in bytes.Buffer
	for _, r := range recs {
		binary.Write(&in, binary.LittleEndian, uint32(len(r)))
		in.Write(r)
	}
	cmd := exec.Command(python(t), append([]string{"testdata/pyloaders.py", mode}, args...)...)
	cmd.Stdin = &in
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("pyloaders.py %s: %v\n%s", mode, err, stderr.String())
	}
	var res []json.RawMessage
	for _, line := range bytes.Split(bytes.TrimSpace(out), []byte("\n")) {
		if len(line) > 0 {
			res = append(res, json.RawMessage(line))
		}
	}
	if mode != "dumps" && len(res) != len(recs) {
		t.Fatalf("pyloaders.py %s answered %d records of %d", mode, len(res), len(recs))
	}
	return res
}

// diffSeed seeds the generators: MODELSCAN_DIFF_SEED, to explore, or a
// fixed one, so that a failure can be rerun.
func diffSeed() uint64 {
	if v, err := strconv.ParseUint(os.Getenv("MODELSCAN_DIFF_SEED"), 10, 64); err == nil {
		return v
	}
	return 15
}

// pyPickle is what CPython's unpickler made of a record: the globals
// find_class was asked for, and how far pickle.load got reading from a
// file with peek() (as an open file) and without (io.BytesIO).
type pyPickle struct {
	Calls    [][2]string `json:"calls"`
	Buffered pyLoad      `json:"buffered"`
	BytesIO  pyLoad      `json:"bytesio"`
}

type pyLoad struct {
	Loaded int     `json:"loaded"`
	Error  *string `json:"error"`
}

// refused reports whether the first pickle failed to load, for a reason
// of the data's, not of the machine's.
func (l pyLoad) refused() bool {
	return l.Loaded == 0 && l.Error != nil && !strings.HasPrefix(*l.Error, "MemoryError") && !strings.HasPrefix(*l.Error, "RecursionError")
}

// TestPickleWalkerAgreesWithCPython runs more than 10,000 pickles through
// CPython's C unpickler (with inert stand-ins for everything it would
// import) and through the walker: every global CPython asks find_class
// for must be one the walker reports, and a file CPython refuses must not
// be called clean by the scanner.
func TestPickleWalkerAgreesWithCPython(t *testing.T) {
	python(t)
	g := &pickleGen{r: rand.New(rand.NewPCG(1, diffSeed()))}
	var recs [][]byte
	for range 8000 {
		recs = append(recs, g.gen())
	}
	for range 8000 {
		recs = append(recs, g.genValid())
	}
	// What real picklers write, every protocol, and mutations of it.
	var dumps []string
	if err := json.Unmarshal(runPy(t, "dumps", nil, "1500", "7")[0], &dumps); err != nil {
		t.Fatal(err)
	}
	for i, h := range dumps {
		b, _ := hex.DecodeString(h)
		recs = append(recs, b)
		m := append([]byte(nil), b...)
		if len(m) > 2 {
			m[1+i%(len(m)-1)] ^= byte(1 << (i % 8))
			recs = append(recs, m)
		}
	}
	answers := runPy(t, "pickle", recs)
	s := &Scanner{}
	failures := 0
	fail := func(format string, args ...any) {
		failures++
		if failures <= 20 {
			t.Errorf(format, args...)
		}
	}
	var rejected, withCalls int
	for i, rec := range recs {
		var py pyPickle
		if err := json.Unmarshal(answers[i], &py); err != nil {
			t.Fatal(err)
		}
		res, _ := pickle.WalkFile(bytes.NewReader(rec), int64(len(rec)), pickle.Limits{})
		linear, _ := pickle.Walk(bytes.NewReader(rec), pickle.Limits{})
		framed, _ := pickle.WalkNoPeek(bytes.NewReader(rec), pickle.Limits{})
		seen := map[[2]string]bool{}
		var unnamed []pickle.Import
		for _, imp := range res.Imports {
			seen[[2]string{imp.Module, imp.Name}] = true
			if imp.Dynamic {
				unnamed = append(unnamed, imp)
			}
		}
		// A str that cannot name a module or attribute is not kept: the
		// walker reports the import with "?" for it, as one it cannot name.
		covered := func(c [2]string) bool {
			if seen[c] {
				return true
			}
			for _, imp := range unnamed {
				if (imp.Module == c[0] || imp.Module == "?") && (imp.Name == c[1] || imp.Name == "?") {
					return true
				}
			}
			return false
		}
		if len(py.Calls) > 0 {
			withCalls++
		}
		for _, c := range py.Calls {
			if !covered(c) {
				fail("record %d: CPython imported %s.%s, the walker did not report it\n%s", i, c[0], c[1], hex.EncodeToString(rec))
			}
		}
		for _, m := range []struct {
			name string
			py   pyLoad
			w    *pickle.Result
		}{{"from a file with peek()", py.Buffered, linear}, {"from io.BytesIO", py.BytesIO, framed}} {
			if m.py.Error == nil && (m.w.Err != nil || m.w.Pickles != m.py.Loaded) {
				fail("record %d: CPython reads %d pickle(s) %s without error, the walker %d (%v)\n%s", i, m.py.Loaded, m.name, m.w.Pickles, m.w.Err, hex.EncodeToString(rec))
			}
		}
		if py.Buffered.refused() || py.BytesIO.refused() {
			rejected++
			if cleanPickle(s.scan("rec", bytes.NewReader(rec), int64(len(rec)), 0)) {
				fail("record %d: CPython refuses it (%v, %v), the scanner calls it a clean pickle\n%s", i, py.Buffered.Error, py.BytesIO.Error, hex.EncodeToString(rec))
			}
		}
	}
	t.Logf("%d records: %d imported something in CPython, %d were refused by it; %d disagreements", len(recs), withCalls, rejected, failures)
	if failures > 20 {
		t.Errorf("... and %d more", failures-20)
	}
}

// cleanPickle reports whether a scan judged bytes a pickle and found
// nothing. Bytes CPython refuses at their first opcodes are no pickle,
// and may be text: the scanner does not call them clean pickles.
func cleanPickle(files []finding.File) bool {
	if files[0].Format != FormatPickle {
		return false
	}
	for _, f := range files {
		if len(f.Findings) > 0 || f.Error != "" {
			return false
		}
	}
	return true
}

var _ = fmt.Sprint

// TestPyLiteralAgreesWithAST parses Python literals (the .npy header's
// syntax) with the scanner and with ast.literal_eval, which numpy uses:
// both accept the same texts, with the same values.
func TestPyLiteralAgreesWithAST(t *testing.T) {
	python(t)
	g := &literalGen{r: rand.New(rand.NewPCG(2, diffSeed()))}
	var recs [][]byte
	for range 6000 {
		recs = append(recs, g.gen())
	}
	answers := runPy(t, "literal", recs)
	failures := 0
	for i, rec := range recs {
		var py struct {
			Value json.RawMessage `json:"value"`
			Error string          `json:"error"`
		}
		json.Unmarshal(answers[i], &py)
		v, err := pyLiteralEval(latin1(rec))
		switch {
		case (err != nil) != (py.Error != ""):
			failures++
			if failures <= 20 {
				t.Errorf("%q: ast.literal_eval %s, the scanner %v", rec, orOK(py.Error), err)
			}
		case err == nil && !sameLiteral(v, py.Value):
			failures++
			if failures <= 20 {
				t.Errorf("%q: ast.literal_eval gives %s, the scanner %+v", rec, py.Value, v)
			}
		}
	}
	t.Logf("%d literals, %d disagreements", len(recs), failures)
}

func orOK(s string) string {
	if s == "" {
		return "accepts it"
	}
	return "refuses it (" + s + ")"
}

// sameLiteral compares a parsed value with pyloaders.py's JSON of one.
func sameLiteral(v pyValue, raw json.RawMessage) bool {
	var j map[string]json.RawMessage
	if json.Unmarshal(raw, &j) != nil {
		return false
	}
	str := func(key string) (string, bool) {
		var s string
		r, ok := j[key]
		return s, ok && json.Unmarshal(r, &s) == nil
	}
	switch v.kind {
	case pyStr:
		s, ok := str("str")
		return ok && s == v.s
	case pyBytes:
		s, ok := str("bytes")
		return ok && s == hex.EncodeToString([]byte(v.s))
	case pyInt:
		s, ok := str("int")
		return ok && s == v.s
	case pyFloat:
		s, ok := str("float")
		f, err := strconv.ParseFloat(s, 64)
		return ok && err == nil && (f == v.f || f != f && v.f != v.f)
	case pyBool:
		s, ok := str("const")
		return ok && s == map[bool]string{true: "True", false: "False"}[v.b]
	case pyNone:
		s, ok := str("const")
		return ok && s == "None"
	case pyTuple, pyList:
		var items []json.RawMessage
		if json.Unmarshal(j["seq"], &items) != nil || len(items) != len(v.items) {
			return false
		}
		for i := range items {
			if !sameLiteral(v.items[i], items[i]) {
				return false
			}
		}
		return true
	case pyDict:
		var pairs [][2]json.RawMessage
		if json.Unmarshal(j["dict"], &pairs) != nil || 2*len(pairs) != len(v.items) {
			return false
		}
		for i, p := range pairs {
			if !sameLiteral(v.items[2*i], p[0]) || !sameLiteral(v.items[2*i+1], p[1]) {
				return false
			}
		}
		return true
	}
	s, ok := str("other")
	return ok && s == map[pyKind]string{pySet: "set", pyComplex: "complex", pyEllipsis: "ellipsis"}[v.kind]
}

// zipGen writes zip archives with the tricks that make readers disagree:
// local sizes of 0, central directories pointing elsewhere, bytes before
// the archive, data descriptors, deflate and bzip2, duplicate names.
func zipGen(r *rand.Rand) []byte {
	var buf bytes.Buffer
	if r.IntN(5) == 0 {
		buf.WriteString("junk before the archive ")
	}
	prefix := buf.Len()
	zw := zip.NewWriter(&buf)
	zw.SetOffset(int64(prefix))
	for i := range 1 + r.IntN(3) {
		name := fmt.Sprintf("m%d.pkl", i)
		if r.IntN(6) == 0 {
			name = "m0.pkl" // a duplicate
		}
		h := &zip.FileHeader{Name: name, Method: []uint16{zip.Store, zip.Deflate}[r.IntN(2)]}
		w, _ := zw.CreateHeader(h)
		fmt.Fprintf(w, "member %d %s", i, strings.Repeat("x", r.IntN(40)))
	}
	zw.Close()
	b := buf.Bytes()
	switch r.IntN(6) {
	case 0: // a local header that says size 0 (and no descriptor)
		if i := bytes.Index(b, []byte("PK\x03\x04")); i >= 0 && i+30 < len(b) {
			binary.LittleEndian.PutUint16(b[i+6:], 0)
			copy(b[i+18:i+26], make([]byte, 8))
		}
	case 1: // a flipped byte anywhere
		b[r.IntN(len(b))] ^= byte(1 << r.IntN(8))
	case 2: // the central directory's first entry points at the second member
		locals := bytes.Count(b, []byte("PK\x03\x04"))
		if c := bytes.Index(b, []byte("PK\x01\x02")); c >= 0 && locals > 1 {
			second := bytes.Index(b[bytes.Index(b, []byte("PK\x03\x04"))+4:], []byte("PK\x03\x04")) + bytes.Index(b, []byte("PK\x03\x04")) + 4
			binary.LittleEndian.PutUint32(b[c+42:], uint32(second-prefix))
		}
	case 3: // an end record hidden in a comment after the real one
		b = append(b, []byte("PK\x05\x06")...)
	}
	return b
}

// ourZipMembers is what the scanner reads of a zip: every member either
// view reaches, decompressed.
func ourZipMembers(b []byte) map[string]bool {
	r := bytes.NewReader(b)
	central, concat, _ := readCentral(r, int64(len(b)))
	local, _ := walkLocal(r, int64(len(b)), concat, centralSizes(central))
	s := &Scanner{}
	members := s.reconcile(r, int64(len(b)), central, local, func(finding.Finding) {})
	out := map[string]bool{}
	for _, m := range members {
		var data []byte
		if m.method == 0 {
			data = make([]byte, m.csize)
			r.ReadAt(data, m.offset)
		} else {
			data, _ = unzipMember(r, m, 1<<20)
		}
		out[hex.EncodeToString(data)] = true
	}
	return out
}

// TestZipReaderAgreesWithZipfile: every member Python's zipfile reads,
// the scanner reads, with the same bytes.
func TestZipReaderAgreesWithZipfile(t *testing.T) {
	python(t)
	r := rand.New(rand.NewPCG(3, diffSeed()))
	var recs [][]byte
	for range 1500 {
		recs = append(recs, zipGen(r))
	}
	compareMembers(t, "zipfile", recs, runPy(t, "zip", recs), ourZipMembers)
}

// compareMembers checks that every member a Python reader read from each
// archive (its answers, in order) is among the member contents, hex, that
// ours found.
func compareMembers(t *testing.T, reader string, recs [][]byte, answers []json.RawMessage, ours func([]byte) map[string]bool) {
	t.Helper()
	failures, read := 0, 0
	for i, rec := range recs {
		var py struct {
			Members []struct {
				Name  string `json:"name"`
				Data  string `json:"data"`
				Error string `json:"error"`
			} `json:"members"`
		}
		json.Unmarshal(answers[i], &py)
		found := ours(rec)
		for _, m := range py.Members {
			if m.Error != "" {
				continue
			}
			read++
			if !found[m.Data] {
				failures++
				if failures <= 10 {
					t.Errorf("archive %d: %s reads %s as %q; the scanner does not\n%s", i, reader, m.Name, m.Data, hex.EncodeToString(rec))
				}
			}
		}
	}
	t.Logf("%d archives, %d members read by %s, %d missed", len(recs), read, reader, failures)
}

// tarGen writes tar archives in every format tarfile reads, V7 included
// (no magic), with regular and contiguous members, and damage.
func tarGen(r *rand.Rand) []byte {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	format := []tar.Format{tar.FormatUSTAR, tar.FormatPAX, tar.FormatGNU}[r.IntN(3)]
	for i := range 1 + r.IntN(3) {
		body := fmt.Sprintf("member %d %s", i, strings.Repeat("y", r.IntN(700)))
		h := &tar.Header{Name: fmt.Sprintf("m%d", i), Mode: 0o644, Size: int64(len(body)), Typeflag: tar.TypeReg, Format: format}
		if r.IntN(4) == 0 {
			h.Typeflag = tar.TypeCont
		}
		if r.IntN(5) == 0 {
			h.Name = strings.Repeat("long/", 30) + h.Name // a long name: pax or GNU records
		}
		if tw.WriteHeader(h) == nil {
			io.WriteString(tw, body)
		}
	}
	tw.Close()
	b := buf.Bytes()
	switch r.IntN(5) {
	case 0: // V7: no magic or version, checksum redone
		for off := 0; off+512 <= len(b); off += 512 {
			if string(b[off+257:off+262]) == "ustar" {
				copy(b[off+257:off+265], make([]byte, 8))
				setTarChecksum(b[off : off+512])
			}
		}
	case 1:
		b[r.IntN(len(b))] ^= byte(1 << r.IntN(8))
	}
	return b
}

func setTarChecksum(h []byte) {
	copy(h[148:156], "        ")
	var sum int64
	for _, c := range h {
		sum += int64(c)
	}
	copy(h[148:156], fmt.Sprintf("%06o\x00 ", sum))
}

// TestTarReaderAgreesWithTarfile: every regular member Python's tarfile
// reads, the scanner reads, with the same bytes.
func TestTarReaderAgreesWithTarfile(t *testing.T) {
	python(t)
	r := rand.New(rand.NewPCG(4, diffSeed()))
	var recs [][]byte
	for range 1500 {
		recs = append(recs, tarGen(r))
	}
	compareMembers(t, "tarfile", recs, runPy(t, "tar", recs), ourTarMembers)
}

// ourTarMembers returns the contents, hex, of the members the scanner
// reads from a tar archive.
func ourTarMembers(rec []byte) map[string]bool {
	out := map[string]bool{}
	if Detect("x", rec[:min(512, len(rec))], int64(len(rec))) != FormatTar {
		return out
	}
	tr := tar.NewReader(bytes.NewReader(rec))
	for {
		h, err := tr.Next()
		if err != nil {
			return out
		}
		if regularTarMember(h.Typeflag) {
			data, _ := io.ReadAll(tr)
			out[hex.EncodeToString(data)] = true
		}
	}
}
