package modelscan

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/modelgate/modelgate/finding"
	"google.golang.org/protobuf/encoding/protowire"
)

// standardDomains are the ONNX operator domains of the standard and of
// the common runtimes.
var standardDomains = map[string]bool{"": true, "ai.onnx": true, "ai.onnx.ml": true, "ai.onnx.preview.training": true, "com.microsoft": true}

// scanONNX reads an ONNX model for external data that points outside the
// model's directory (absolute paths, "..", symlinks) and operators from
// non-standard domains (custom operators are native code the runtime must
// load).
func scanONNX(path string, r io.ReaderAt, size int64) []finding.Finding {
	if size > 2<<30 {
		return []finding.Finding{{RuleID: "MS701", Severity: finding.Medium, Title: "ONNX file larger than protobuf allows; not checked",
			Location: "model", Evidence: fmt.Sprintf("%d bytes", size), References: refsTamper}}
	}
	b := make([]byte, size)
	if _, err := r.ReadAt(b, 0); err != nil && err != io.EOF {
		return []finding.Finding{{RuleID: "MS701", Severity: finding.High, Title: "ONNX file cannot be read", Location: "model", Evidence: err.Error(), References: refsTamper}}
	}
	o := onnxWalk{dir: filepath.Dir(path), domains: map[string]bool{}}
	err := forFields(b, func(num protowire.Number, typ protowire.Type, v []byte) error {
		switch {
		case num == 7 && typ == protowire.BytesType: // graph
			return o.graph(v, "graph", 0)
		case num == 25 && typ == protowire.BytesType: // functions
			return forFields(v, func(n protowire.Number, t protowire.Type, fv []byte) error {
				if n == 7 && t == protowire.BytesType {
					return o.node(fv, "function", 0)
				}
				return nil
			})
		}
		return nil
	})
	if err != nil {
		o.out = append(o.out, finding.Finding{RuleID: "MS701", Severity: finding.High, Title: "ONNX file is not a valid model",
			Location: "model", Evidence: err.Error(), References: refsTamper})
	}
	for d := range o.domains {
		o.out = append(o.out, finding.Finding{RuleID: "MS703", Severity: finding.Info, Title: "ONNX model uses operators from a non-standard domain (custom native operators)",
			Location: "graph", Evidence: d, References: []string{"LLM03"}})
	}
	return o.out
}

type onnxWalk struct {
	dir     string
	out     []finding.Finding
	domains map[string]bool
}

func (o *onnxWalk) graph(b []byte, where string, depth int) error {
	if depth > 32 {
		return errTooDeep
	}
	return forFields(b, func(num protowire.Number, typ protowire.Type, v []byte) error {
		if typ != protowire.BytesType {
			return nil
		}
		switch num {
		case 1: // node
			return o.node(v, where, depth)
		case 5: // initializer
			return o.tensor(v, where+"/initializer")
		case 15: // sparse_initializer: values, indices
			return forFields(v, func(n protowire.Number, t protowire.Type, tv []byte) error {
				if (n == 1 || n == 2) && t == protowire.BytesType {
					return o.tensor(tv, where+"/sparse_initializer")
				}
				return nil
			})
		}
		return nil
	})
}

func (o *onnxWalk) node(b []byte, where string, depth int) error {
	return forFields(b, func(num protowire.Number, typ protowire.Type, v []byte) error {
		if typ != protowire.BytesType {
			return nil
		}
		switch num {
		case 7: // domain
			if d := string(v); !standardDomains[d] {
				o.domains[d] = true
			}
		case 5: // attribute: t, g, tensors, graphs
			return forFields(v, func(n protowire.Number, t protowire.Type, av []byte) error {
				if t != protowire.BytesType {
					return nil
				}
				switch n {
				case 5, 10:
					return o.tensor(av, where+"/attribute")
				case 6, 11:
					return o.graph(av, where+"/subgraph", depth+1)
				}
				return nil
			})
		}
		return nil
	})
}

func (o *onnxWalk) tensor(b []byte, where string) error {
	var name string
	return forFields(b, func(num protowire.Number, typ protowire.Type, v []byte) error {
		if typ != protowire.BytesType {
			return nil
		}
		switch num {
		case 8:
			name = string(v)
		case 13: // external_data: key/value
			var key, value string
			forFields(v, func(n protowire.Number, t protowire.Type, kv []byte) error {
				switch n {
				case 1:
					key = string(kv)
				case 2:
					value = string(kv)
				}
				return nil
			})
			if key == "location" {
				if why := escapes(o.dir, value); why != "" {
					o.out = append(o.out, finding.Finding{RuleID: "MS702", Severity: finding.Critical,
						Title: "ONNX external data points outside the model's directory", Location: where + "/" + name,
						Evidence: fmt.Sprintf("location %q: %s", value, why), References: refsPath,
						Remediation: "external data must be a relative path inside the model's directory"})
				}
			}
		}
		return nil
	})
}

// escapes reports why an external-data location reaches outside dir, or
// "" if it does not.
func escapes(dir, loc string) string {
	switch {
	case loc == "":
		return "empty location"
	case filepath.IsAbs(loc) || strings.HasPrefix(loc, "/") || strings.HasPrefix(loc, `\`) || len(loc) > 1 && loc[1] == ':':
		return "absolute path"
	}
	clean := filepath.Clean(filepath.FromSlash(strings.ReplaceAll(loc, `\`, "/")))
	if clean == ".." || strings.HasPrefix(clean, ".."+string(filepath.Separator)) {
		return "climbs out with .."
	}
	// A symlink inside the directory may still lead out of it.
	full := filepath.Join(dir, clean)
	if info, err := os.Lstat(full); err == nil && info.Mode()&os.ModeSymlink != 0 {
		target, err := filepath.EvalSymlinks(full)
		base, berr := filepath.EvalSymlinks(dir)
		if err != nil || berr != nil {
			return "a symlink that cannot be resolved"
		}
		if rel, err := filepath.Rel(base, target); err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
			return "a symlink to " + target
		}
	}
	return ""
}
