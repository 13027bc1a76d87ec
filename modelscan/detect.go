package modelscan

import (
	"bytes"
	"encoding/binary"
	"path"
	"strings"
	"unicode/utf8"
)

// Formats, as detected.
const (
	FormatPickle      = "pickle"
	FormatZip         = "zip" // PyTorch, NumPy .npz, Keras .keras
	FormatTar         = "tar" // legacy PyTorch
	FormatNumPy       = "numpy"
	FormatSafetensors = "safetensors"
	FormatGGUF        = "gguf"
	FormatHDF5        = "hdf5"
	FormatONNX        = "onnx"
	FormatSavedModel  = "tensorflow_savedmodel"
	FormatGzip        = "gzip"
	FormatZlib        = "zlib"
	FormatBzip2       = "bzip2"
	FormatXZ          = "xz"
	FormatLZMA        = "lzma" // the "alone" format joblib writes
	FormatJoblibZ     = "joblib_zfile"
	FormatLZ4         = "lz4"
	Format7z          = "7z"
	FormatText        = "text"
	FormatTensorData  = "tensor_data" // a PyTorch storage: raw numbers, never unpickled
	FormatUnknown     = "unknown"
)

// Detect names a file's format from its first bytes (head, at least 512
// when the file has them) and, only where the content has no signature
// (protobuf), its name. A pickle named .bin, .pt or .safetensors is a
// pickle.
func Detect(name string, head []byte, size int64) string {
	switch {
	case bytes.HasPrefix(head, []byte("PK\x03\x04")), bytes.HasPrefix(head, []byte("PK\x05\x06")):
		return FormatZip
	case bytes.HasPrefix(head, []byte("\x93NUMPY")):
		return FormatNumPy
	case bytes.HasPrefix(head, []byte("GGUF")):
		return FormatGGUF
	case bytes.HasPrefix(head, []byte("\x89HDF\r\n\x1a\n")):
		return FormatHDF5
	case bytes.HasPrefix(head, []byte("\x1f\x8b")):
		return FormatGzip
	case bytes.HasPrefix(head, []byte("\xfd7zXZ\x00")):
		return FormatXZ
	case len(head) >= 4 && bytes.HasPrefix(head, []byte("BZh")) && head[3] >= '1' && head[3] <= '9':
		return FormatBzip2
	case bytes.HasPrefix(head, []byte("\x5d\x00")):
		// joblib's test for lzma: its "alone" files start so (lc=3, lp=0,
		// pb=2, and a dictionary size whose low byte is 0).
		return FormatLZMA
	case bytes.HasPrefix(head, []byte("ZF0x")):
		return FormatJoblibZ
	case bytes.HasPrefix(head, []byte("\x04\x22\x4d\x18")):
		return FormatLZ4
	case bytes.HasPrefix(head, []byte("7z\xbc\xaf\x27\x1c")):
		return Format7z
	case len(head) >= 262 && string(head[257:262]) == "ustar", tarHeader(head):
		return FormatTar
	case safetensorsHead(head, size):
		return FormatSafetensors
	case len(head) >= 2 && head[0] == 0x80 && head[1] <= 5:
		return FormatPickle
	case len(head) >= 2 && head[0] == 0x78 && (head[1] == 0x01 || head[1] == 0x5e || head[1] == 0x9c || head[1] == 0xda):
		return FormatZlib
	}
	base := strings.ToLower(path.Base(strings.ReplaceAll(name, "\\", "/")))
	switch {
	case base == "saved_model.pb":
		return FormatSavedModel
	case strings.HasSuffix(base, ".onnx"):
		return FormatONNX
	}
	if len(head) > 0 && protocol0Start(head) {
		return FormatPickle
	}
	return FormatUnknown
}

// tarHeader reports whether a block is a tar header as Python's tarfile
// reads one, whatever its format (V7 has no magic): its checksum, over
// the block with the checksum field as spaces, unsigned or signed, is the
// octal number in that field.
func tarHeader(head []byte) bool {
	if len(head) < 512 || head[0] == 0 {
		return false
	}
	stored, ok := tarOctal(head[148:156])
	if !ok {
		return false
	}
	var unsigned, signed int64
	for i, c := range head[:512] {
		if i >= 148 && i < 156 {
			c = ' '
		}
		unsigned += int64(c)
		signed += int64(int8(c))
	}
	return stored == unsigned || stored == signed
}

// tarOctal is tarfile's nti for the checksum field: octal digits, with
// NULs and spaces around them.
func tarOctal(b []byte) (int64, bool) {
	b = bytes.Trim(b, " \x00")
	if len(b) == 0 {
		return 0, false
	}
	var v int64
	for _, c := range b {
		if c < '0' || c > '7' {
			return 0, false
		}
		v = v*8 + int64(c-'0')
	}
	return v, true
}

// LooksText reports whether bytes read as text: UTF-8 (a sequence cut at
// the end allowed) without NULs or control characters other than tab,
// newlines, form feed and escape.
func LooksText(head []byte) bool {
	if len(head) == 0 {
		return false
	}
	for i := 0; i < len(head); {
		c := head[i]
		if c < 0x20 && c != '\t' && c != '\n' && c != '\r' && c != '\f' && c != 0x1b || c == 0x7f {
			return false
		}
		if c < utf8.RuneSelf {
			i++
			continue
		}
		r, n := utf8.DecodeRune(head[i:])
		if r == utf8.RuneError && n <= 1 {
			return len(head)-i < 4 && !utf8.FullRune(head[i:]) // cut at the end
		}
		i += n
	}
	return true
}

// safetensorsHead reports whether a file starts like safetensors: an
// 8-byte little-endian header length, then '{'. The length is not checked
// here: a file claiming a length beyond its end is still safetensors, and
// a malformed one.
func safetensorsHead(head []byte, size int64) bool {
	if len(head) < 9 || head[8] != '{' {
		return false
	}
	return binary.LittleEndian.Uint64(head) >= 2
}

// protocol0Start reports whether text-looking bytes start like a protocol
// 0 or 1 pickle: a GLOBAL, INST, MARK or container opcode followed by what
// that opcode needs.
func protocol0Start(head []byte) bool {
	switch head[0] {
	case 'c', 'i':
		nl := bytes.IndexByte(head, '\n')
		return nl > 1 && nl < 256 && nameLikeBytes(head[1:nl])
	case '(', ']', '}', ')':
		return len(head) > 1 && strings.IndexByte("(SVIJKLFGNcdlt]})aseu.pqgh0", head[1]) >= 0
	}
	return false
}

func nameLikeBytes(b []byte) bool {
	for _, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}
