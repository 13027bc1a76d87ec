package inventory

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/modelgate/modelgate/modelscan"
)

const (
	// headSize is what is read of every file: enough for every format's
	// signature and for most source files whole.
	headSize = 64 << 10
	// maxText bounds what is read of a text file (code, configuration,
	// notebook) to look inside it. Larger text is classified by its head.
	maxText = 4 << 20
	// maxHeader bounds the metadata read of a model file (a GGUF's
	// key-values and tensor table, a safetensors header).
	maxHeader = 64 << 20
)

// sniffer classifies files for one worker; its buffers are reused.
type sniffer struct {
	w       *walk
	head    []byte
	buf     []byte
	assets  []Asset
	errs    []PathError
	files   int64
	dirs    int64
	skipped int64
	bytes   int64
	configs map[string]map[string]string // config.json attributes by directory
}

func newSniffer(w *walk) *sniffer {
	return &sniffer{w: w, head: make([]byte, headSize)}
}

func (sn *sniffer) fail(path string, err error) {
	var pe interface{ Unwrap() error }
	if errors.As(err, &pe) {
		err = pe.Unwrap() // the path is said once, beside the error
	}
	sn.errs = append(sn.errs, PathError{Path: path, Error: err.Error()})
}

// file is one file being classified.
type file struct {
	path string
	name string
	size int64
	head []byte // the first bytes (all of a small file)
	r    io.ReaderAt
	sn   *sniffer
}

// readAt reads from the file, counting what classification reads.
func (f *file) readAt(p []byte, off int64) (int, error) {
	n, err := f.r.ReadAt(p, off)
	f.sn.bytes += int64(n)
	if p := f.sn.w.s.Progress; p != nil {
		p.Bytes.Add(int64(n))
	}
	return n, err
}

// ReadAt makes a file an io.ReaderAt that counts.
func (f *file) ReadAt(p []byte, off int64) (int, error) { return f.readAt(p, off) }

// all returns up to max bytes of the file from its start.
func (f *file) all(max int64) ([]byte, error) {
	if int64(len(f.head)) >= f.size || int64(len(f.head)) >= max {
		return f.head[:min(int64(len(f.head)), max)], nil
	}
	n := min(f.size, max)
	if int64(cap(f.sn.buf)) < n {
		f.sn.buf = make([]byte, n)
	}
	b := f.sn.buf[:n]
	copy(b, f.head)
	m, err := f.readAt(b[len(f.head):], int64(len(f.head)))
	if err != nil && err != io.EOF {
		return nil, err
	}
	return b[:len(f.head)+m], nil
}

func (sn *sniffer) add(a Asset) {
	if a.ID == "" {
		a.ID = assetID(a.Kind, a.Path, a.Name)
	}
	sn.assets = append(sn.assets, a)
	if p := sn.w.s.Progress; p != nil {
		p.Assets.Add(1)
	}
}

// file classifies one regular file of a directory.
func (sn *sniffer) file(dir string, dirfd int, name string) {
	path := filepath.Join(dir, name)
	sn.files++
	if p := sn.w.s.Progress; p != nil {
		p.Files.Add(1)
	}
	rf, err := openFile(dirfd, dir, name)
	if err != nil {
		sn.fail(path, err)
		return
	}
	defer rf.Close()
	f := &file{path: path, name: name, r: rf, sn: sn}
	// One read: a regular file on a local file system reads short only
	// at its end, so a head shorter than the buffer is the whole file and
	// needs no second read (or stat) to learn its size.
	n, err := rf.readOnce(sn.head, 0)
	if err != nil && err != io.EOF {
		sn.fail(path, err)
		return
	}
	sn.bytes += int64(n)
	if p := sn.w.s.Progress; p != nil {
		p.Bytes.Add(int64(n))
	}
	f.head = sn.head[:n]
	f.size = int64(n)
	if n == len(sn.head) {
		if f.size, err = rf.Size(); err != nil {
			sn.fail(path, err)
			return
		}
	}
	if f.size == 0 {
		return
	}
	if err := sn.classify(f); err != nil {
		sn.fail(path, err)
	}
}

// classify finds what a file is by its content; the name decides only
// where the content has no signature (a protobuf) or to tell apart kinds
// of text.
func (sn *sniffer) classify(f *file) error {
	switch format := modelscan.Detect(f.name, f.head, f.size); format {
	case modelscan.FormatZip:
		return sn.zipModel(f)
	case modelscan.FormatPickle:
		if pickleHead(f) {
			sn.model(f, "pickle", nil)
		}
		return nil
	case modelscan.FormatNumPy:
		sn.model(f, "numpy", nil)
		return nil
	case modelscan.FormatGGUF:
		return sn.ggufModel(f)
	case modelscan.FormatSafetensors:
		return sn.safetensorsModel(f)
	case modelscan.FormatHDF5:
		return sn.hdf5(f)
	case modelscan.FormatTar:
		return sn.tarModel(f)
	case modelscan.FormatGzip, modelscan.FormatBzip2, modelscan.FormatXZ, modelscan.FormatLZMA,
		modelscan.FormatZlib, modelscan.FormatJoblibZ, modelscan.FormatLZ4:
		return sn.compressed(f, format)
	case modelscan.FormatSavedModel:
		if protobufStart(f.head) {
			sn.model(f, "tensorflow-savedmodel", nil)
		}
		return nil
	case modelscan.FormatONNX:
		if _, ok := onnxProbe(f); ok {
			return sn.onnxModel(f)
		}
	}
	switch {
	case len(f.head) >= 8 && string(f.head[4:8]) == "TFL3":
		sn.model(f, "tflite", nil)
		return nil
	case f.head[0] == 0x08:
		if _, ok := onnxProbe(f); ok {
			return sn.onnxModel(f)
		}
	}
	if format := columnarFormat(f); format != "" {
		return sn.dataset(f, format)
	}
	// Text is judged on its first 8 KiB, as git and grep judge it: a
	// binary format shows itself well before that.
	if looksText(f.head[:min(len(f.head), 8<<10)]) {
		return sn.text(f)
	}
	return nil
}

// model records a model file.
func (sn *sniffer) model(f *file, format string, attrs map[string]string) {
	a := sn.fileAsset(f, KindModel, format)
	for k, v := range attrs {
		a.attr(k, v)
	}
	sn.add(a)
}

// fileAsset describes a file that is an asset: where a Hugging Face cache
// holds it, the repository, revision and the digest its blob is named
// by; its fingerprint; its digest when asked for.
func (sn *sniffer) fileAsset(f *file, kind Kind, format string) Asset {
	a := Asset{Kind: kind, Path: f.path, Name: f.name, Format: format, Size: f.size}
	if repo, rev, name, ok := hfCoordinates(f.path); ok {
		a.Name = repo
		a.attr("hf_repo", repo)
		a.attr("hf_revision", rev)
		a.attr("hf_file", name)
	}
	sn.fingerprint(f, &a)
	if d := hfBlobDigest(f.path); d != "" {
		a.Digest = d
	} else if sn.w.s.Hash {
		if d, err := fileDigest(f); err == nil {
			a.Digest = d
		} else {
			sn.fail(f.path, err)
		}
	}
	return a
}

// fingerprint sets a's change fingerprint: the SHA-256 of the size, the
// head already read, and the last 4 KiB.
func (sn *sniffer) fingerprint(f *file, a *Asset) {
	h := sha256.New()
	var sz [8]byte
	binary.LittleEndian.PutUint64(sz[:], uint64(f.size))
	h.Write(sz[:])
	h.Write(f.head)
	if f.size > int64(len(f.head)) {
		var tail [4096]byte
		off := max(f.size-int64(len(tail)), int64(len(f.head)))
		n, _ := f.readAt(tail[:f.size-off], off)
		h.Write(tail[:n])
	}
	a.Fingerprint = hex.EncodeToString(h.Sum(nil)[:16])
}

// fileDigest reads a whole file for its SHA-256.
func fileDigest(f *file) (string, error) {
	h := sha256.New()
	if _, err := io.Copy(h, io.NewSectionReader(f, 0, f.size)); err != nil {
		return "", fmt.Errorf("hashing: %w", err)
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil)), nil
}

// pickleHead reports whether a file the format detector called a pickle
// is one. Protocol 2 and later announce themselves; a protocol 0 or 1
// pickle is text, so text that happens to start like one ("cat\nnon…")
// must also end with STOP, as every pickle does.
func pickleHead(f *file) bool {
	if f.head[0] == 0x80 {
		// PROTO, then an opcode; from protocol 4 usually a FRAME whose
		// length fits in the file.
		if len(f.head) < 3 || !pickleOpcode(f.head[2]) {
			return false
		}
		if f.head[2] == 0x95 {
			return len(f.head) >= 11 && binary.LittleEndian.Uint64(f.head[3:]) <= uint64(f.size-11)
		}
		return true
	}
	var last [1]byte
	if _, err := f.readAt(last[:], f.size-1); err != nil {
		return false
	}
	return last[0] == '.'
}

// pickleOpcode reports whether b is one of pickle's opcodes (protocols 0
// to 5).
func pickleOpcode(b byte) bool {
	return b >= 0x80 && b <= 0x98 || strings.IndexByte("(.0123FIJKLMNPQRSTUVXabcdeghijlopqrstu}])GBC", b) >= 0
}

// protobufStart reports whether bytes begin with a plausible protobuf
// field: a valid wire type and a field number from 1.
func protobufStart(b []byte) bool {
	if len(b) < 2 {
		return false
	}
	wt := b[0] & 7
	return b[0]>>3 > 0 && (wt == 0 || wt == 1 || wt == 2 || wt == 5)
}

// columnarFormat names a binary dataset format by its magic.
func columnarFormat(f *file) string {
	h := f.head
	switch {
	case bytes.HasPrefix(h, []byte("PAR1")) && f.size >= 12:
		var tail [4]byte
		if _, err := f.readAt(tail[:], f.size-4); err == nil && string(tail[:]) == "PAR1" {
			return "parquet"
		}
	case bytes.HasPrefix(h, []byte("ARROW1\x00\x00")):
		return "arrow"
	case bytes.HasPrefix(h, []byte("FEA1")):
		return "feather"
	case bytes.HasPrefix(h, []byte("Obj\x01")):
		return "avro"
	case bytes.HasPrefix(h, []byte("ORC")) && len(h) > 3 && h[3] != ' ':
		return "orc"
	case len(h) >= 16 && binary.LittleEndian.Uint32(h) == 0xFFFFFFFF:
		// An Arrow IPC stream (the Hugging Face datasets cache): the
		// continuation marker, a metadata length, then a flatbuffer
		// Message whose root offset points inside it.
		mlen := binary.LittleEndian.Uint32(h[4:])
		root := binary.LittleEndian.Uint32(h[8:])
		if mlen >= 16 && mlen%8 == 0 && int64(mlen)+8 <= f.size && root >= 4 && root < mlen &&
			strings.EqualFold(filepath.Ext(f.name), ".arrow") {
			return "arrow-stream"
		}
	}
	return ""
}
