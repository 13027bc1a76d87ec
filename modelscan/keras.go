package modelscan

import (
	"bytes"
	"fmt"
	"io"
	"strings"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
	"github.com/modelgate/modelgate/finding"
)

// checkKerasConfig judges a Keras model configuration (config.json of a
// .keras archive, or the model_config attribute of an .h5 file): Lambda
// layers carry Python code, references to modules outside Keras load
// arbitrary classes, and enable_unsafe_deserialization switches Keras'
// safe mode off.
func (s *Scanner) checkKerasConfig(config []byte, where string) []finding.Finding {
	var doc any
	if err := json.Unmarshal(config, &doc); err != nil {
		return []finding.Finding{{RuleID: "MS601", Severity: finding.High, Title: "Keras model configuration is not valid JSON",
			Location: where, Evidence: err.Error(), References: refsTamper}}
	}
	var out []finding.Finding
	seen := map[string]bool{}
	add := func(f finding.Finding) {
		key := f.RuleID + f.Evidence
		if !seen[key] {
			seen[key] = true
			out = append(out, f)
		}
	}
	var walk func(v any, path string, depth int)
	walk = func(v any, path string, depth int) {
		if depth > 256 {
			return
		}
		switch x := v.(type) {
		case map[string]any:
			if cn, _ := x["class_name"].(string); cn == "Lambda" {
				add(finding.Finding{RuleID: "MS602", Severity: finding.High, Title: "Keras Lambda layer: loading the model runs the Python code stored in it",
					Location: where + ":" + path, Evidence: lambdaEvidence(x), References: refsCode,
					Remediation: "replace Lambda layers with registered custom layers; load with safe_mode=True"})
			}
			if mod, ok := x["module"].(string); ok && mod != "" && !kerasModule(mod) {
				name, _ := x["class_name"].(string)
				verdict, sev := s.Policy.classify(mod, name)
				if verdict != verdictAllowed {
					if verdict == verdictUnknown {
						sev = finding.Medium
					}
					add(finding.Finding{RuleID: "MS603", Severity: sev, Title: "Keras configuration loads a class from outside Keras",
						Location: where + ":" + path, Evidence: mod + "." + name, References: refsCode})
				}
			}
			for k, e := range x {
				if k == "enable_unsafe_deserialization" || k == "safe_mode" && e == false {
					add(finding.Finding{RuleID: "MS604", Severity: finding.High, Title: "Keras configuration turns safe deserialization off",
						Location: where + ":" + path + "/" + k, Evidence: k, References: refsCode})
				}
				walk(e, path+"/"+k, depth+1)
			}
		case []any:
			for i, e := range x {
				walk(e, fmt.Sprintf("%s/%d", path, i), depth+1)
			}
		case string:
			if strings.Contains(x, "enable_unsafe_deserialization") {
				add(finding.Finding{RuleID: "MS604", Severity: finding.High, Title: "Keras configuration turns safe deserialization off",
					Location: where + ":" + path, Evidence: excerpt(x, "enable_unsafe_deserialization"), References: refsCode})
			}
		}
	}
	walk(doc, "", 0)
	return out
}

func lambdaEvidence(layer map[string]any) string {
	cfg, _ := layer["config"].(map[string]any)
	name, _ := cfg["name"].(string)
	fn := ""
	if f, ok := cfg["function"]; ok {
		b, _ := json.Marshal(f)
		fn = string(b)
		if len(fn) > 120 {
			fn = fn[:120] + "…"
		}
	}
	return strings.TrimSpace("Lambda " + name + " " + fn)
}

// kerasModule reports whether a module path belongs to Keras or
// TensorFlow's own layers.
func kerasModule(mod string) bool {
	for _, p := range []string{"keras", "tf_keras", "tensorflow.keras", "tensorflow.python.keras", "builtins"} {
		if mod == p || strings.HasPrefix(mod, p+".") {
			return true
		}
	}
	return false
}

// findH5Config finds the JSON model configuration that Keras writes into
// an HDF5 file's model_config attribute. Attributes of that size are
// stored as one contiguous string, so the scanner reads it from the raw
// bytes rather than through a full HDF5 parser.
func findH5Config(r io.ReaderAt, size int64) ([]byte, bool, error) {
	const window = 4 << 20
	buf := make([]byte, window+64)
	for at := int64(0); at < size; at += window {
		n, err := r.ReadAt(buf, at)
		if n == 0 && err != nil {
			return nil, false, nil
		}
		chunk := buf[:n]
		for i := 0; ; {
			j := bytes.Index(chunk[i:], []byte(`"class_name"`))
			if j < 0 {
				break
			}
			// The object opens at the nearest brace before its class_name
			// (Keras 3 writes "module" first).
			k := bytes.LastIndexByte(chunk[max(0, i+j-256):i+j], '{')
			if k < 0 {
				i += j + 1
				continue
			}
			start := at + int64(max(0, i+j-256)+k)
			cfg, ok := readJSONObject(r, start, size)
			if ok && bytes.Contains(cfg, []byte(`"config"`)) && (bytes.Contains(cfg, []byte(`"layers"`)) || bytes.Contains(cfg, []byte(`"Sequential"`)) || bytes.Contains(cfg, []byte(`"Functional"`))) {
				return cfg, true, nil
			}
			i += j + 1
		}
	}
	return nil, false, nil
}

// readJSONObject reads the JSON object starting at off, up to 64 MB.
func readJSONObject(r io.ReaderAt, off, size int64) ([]byte, bool) {
	dec := jsontext.NewDecoder(io.NewSectionReader(r, off, min(size-off, 64<<20)))
	v, err := dec.ReadValue()
	if err != nil || v.Kind() != '{' {
		return nil, false
	}
	return append([]byte(nil), v...), true
}
