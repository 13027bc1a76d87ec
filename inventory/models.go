package inventory

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/bzip2"
	"compress/gzip"
	"compress/zlib"
	"encoding/binary"
	"fmt"
	"io"
	"path"
	"strconv"
	"strings"

	"github.com/modelgate/modelgate/modelscan"
	"github.com/ulikunitz/xz"
	"github.com/ulikunitz/xz/lzma"
)

// zipModel tells model archives (PyTorch, TorchScript, Keras, NumPy's
// npz, TorchServe's mar, skops) from other zip files (documents, jars) by
// their members' names, reading only the central directory.
func (sn *sniffer) zipModel(f *file) error {
	zr, err := zip.NewReader(f, f.size)
	if err != nil {
		return nil // not a readable zip: the model scanner judges damage, not the inventory
	}
	var format string
	has := map[string]bool{}
	npy := 0
	for _, m := range zr.File {
		base := path.Base(m.Name)
		has[base] = true
		switch {
		case base == "data.pkl":
			format = "pytorch"
		case m.Name == "MAR-INF/MANIFEST.json":
			format = "torchserve-mar"
		case strings.HasSuffix(base, ".npy"):
			npy++
		}
		if strings.Contains(m.Name, "/code/") && strings.HasSuffix(m.Name, ".py") && format == "pytorch" {
			format = "torchscript"
		}
	}
	switch {
	case format != "":
	case has["config.json"] && (has["model.weights.h5"] || has["metadata.json"]):
		format = "keras"
	case has["schema.json"] && len(zr.File) > 1:
		format = "skops"
	case npy > 0 && npy == len(zr.File):
		format = "numpy-npz"
	default:
		return nil
	}
	if format == "pytorch" && has["constants.pkl"] {
		format = "torchscript"
	}
	sn.model(f, format, map[string]string{"members": strconv.Itoa(len(zr.File))})
	return nil
}

// tarModel recognises PyTorch's legacy tar format by its members.
func (sn *sniffer) tarModel(f *file) error {
	tr := tar.NewReader(io.NewSectionReader(f, 0, f.size))
	seen := map[string]bool{}
	for range 16 {
		h, err := tr.Next()
		if err != nil {
			break
		}
		seen[path.Base(h.Name)] = true
	}
	if seen["pickle"] && (seen["storages"] || seen["tensors"]) {
		sn.model(f, "pytorch-legacy-tar", nil)
	}
	return nil
}

// compressed looks at the first bytes a compressed file unpacks to: a
// pickle or an array is a joblib model; a table is a dataset.
func (sn *sniffer) compressed(f *file, format string) error {
	src := io.NewSectionReader(f, 0, f.size)
	var zr io.Reader
	var err error
	switch format {
	case modelscan.FormatGzip:
		zr, err = gzip.NewReader(src)
	case modelscan.FormatZlib:
		zr, err = zlib.NewReader(src)
	case modelscan.FormatBzip2:
		zr = bzip2.NewReader(src)
	case modelscan.FormatXZ:
		zr, err = xz.NewReader(src)
	case modelscan.FormatLZMA:
		zr, err = lzma.NewReader(src)
	case modelscan.FormatJoblibZ:
		if f.size > 21 {
			zr, err = zlib.NewReader(io.NewSectionReader(f, 21, f.size-21))
		}
	default:
		// lz4 frames: the model scanner reads them; the inventory names
		// them a model only when they say so by name.
		if strings.Contains(strings.ToLower(f.name), ".joblib") || strings.HasSuffix(strings.ToLower(f.name), ".pkl.lz4") {
			sn.model(f, "joblib+"+format, nil)
		}
		return nil
	}
	if err != nil || zr == nil {
		return nil
	}
	inner := make([]byte, 16<<10)
	n, _ := io.ReadFull(zr, inner)
	inner = inner[:n]
	if n == 0 {
		return nil
	}
	innerName := strings.TrimSuffix(f.name, path.Ext(f.name))
	switch modelscan.Detect(innerName, inner, int64(n)) {
	case modelscan.FormatPickle, modelscan.FormatNumPy:
		sn.model(f, "joblib+"+format, nil)
		return nil
	}
	if modelscan.LooksText(inner) {
		if kind, comma := textTable(innerName, inner); kind != "" {
			return sn.datasetSample(f, kind+"+"+format, inner, comma)
		}
	}
	return nil
}

// hdf5 is a Keras model when its root attributes name one (Keras writes
// model_config, keras_version or layer_names near the start), and a
// dataset otherwise.
func (sn *sniffer) hdf5(f *file) error {
	b := f.head
	if f.size > int64(len(b)) {
		var err error
		if b, err = f.all(1 << 20); err != nil {
			return err
		}
	}
	for _, marker := range []string{"model_config", "keras_version", "layer_names", "backend\x00"} {
		if bytes.Contains(b, []byte(marker)) {
			sn.model(f, "keras-h5", nil)
			return nil
		}
	}
	return sn.dataset(f, "hdf5")
}

// onnxProbe reports whether a file is an ONNX ModelProto by walking its
// top-level fields (tags and lengths only, never a tensor): ir_version
// first, every field one ModelProto has, each within the file, and a
// graph among them. It returns the producer's name.
func onnxProbe(f *file) (producer string, ok bool) {
	var off int64
	var buf [16]byte
	hasGraph, fields := false, 0
	for off < f.size && fields < 4096 {
		n, _ := f.readAt(buf[:], off)
		tag, tl := binary.Uvarint(buf[:n])
		if tl <= 0 {
			return "", false
		}
		field, wire := tag>>3, tag&7
		if fields == 0 && (field != 1 || wire != 0) {
			return "", false
		}
		off += int64(tl)
		switch {
		case wire == 0 && (field == 1 || field == 5):
			v, vl := binary.Uvarint(buf[tl:n])
			if vl <= 0 || field == 1 && (v == 0 || v > 64) {
				return "", false
			}
			off += int64(vl)
		case wire == 2 && (field >= 2 && field <= 4 || field >= 6 && field <= 8 || field == 14 || field == 20 || field == 25):
			l, ll := binary.Uvarint(buf[tl:n])
			if ll <= 0 || l > uint64(f.size-off) {
				return "", false
			}
			off += int64(ll)
			if field == 2 && l < 128 {
				name := make([]byte, l)
				if _, err := f.readAt(name, off); err == nil {
					producer = string(name)
				}
			}
			hasGraph = hasGraph || field == 7
			off += int64(l)
		default:
			return "", false
		}
		fields++
	}
	return producer, hasGraph && off == f.size
}

func (sn *sniffer) onnxModel(f *file) error {
	producer, _ := onnxProbe(f)
	sn.model(f, "onnx", map[string]string{"producer": producer})
	return nil
}

// formatParams writes a parameter count the way model hubs do: 7.2B.
func formatParams(n int64) string {
	switch {
	case n >= 1e9:
		return fmt.Sprintf("%.1fB", float64(n)/1e9)
	case n >= 1e6:
		return fmt.Sprintf("%.1fM", float64(n)/1e6)
	case n >= 1e3:
		return fmt.Sprintf("%.1fK", float64(n)/1e3)
	}
	return strconv.FormatInt(n, 10)
}
