package modelscan

import (
	"fmt"
	"io"

	"github.com/modelgate/modelgate/finding"
	"google.golang.org/protobuf/encoding/protowire"
)

// dangerousOps are TensorFlow operations that read or write files, run
// Python, or load native code when a graph runs.
var dangerousOps = map[string]finding.Severity{
	"PyFunc": finding.Critical, "EagerPyFunc": finding.Critical, "PyFuncStateless": finding.Critical,
	"LoadLibrary": finding.Critical, "ReadFile": finding.High, "WriteFile": finding.High, "MatchingFiles": finding.Medium,
	"ImmutableConst": finding.Medium, "DebugIdentity": finding.Medium, "PrintV2": finding.Low,
}

// scanSavedModel reads saved_model.pb for dangerous operations in every
// graph and in the function library.
func scanSavedModel(r io.ReaderAt, size int64) []finding.Finding {
	if size > 2<<30 {
		return []finding.Finding{{RuleID: "MS801", Severity: finding.Medium, Title: "SavedModel larger than protobuf allows; not checked", Location: "saved_model.pb", References: refsTamper}}
	}
	b := make([]byte, size)
	if _, err := r.ReadAt(b, 0); err != nil && err != io.EOF {
		return []finding.Finding{{RuleID: "MS801", Severity: finding.High, Title: "SavedModel cannot be read", Location: "saved_model.pb", Evidence: err.Error(), References: refsTamper}}
	}
	var out []finding.Finding
	seen := map[string]bool{}
	nodeDef := func(v []byte, where string) error {
		var name, op string
		err := forFields(v, func(n protowire.Number, t protowire.Type, f []byte) error {
			switch {
			case n == 1 && t == protowire.BytesType:
				name = string(f)
			case n == 2 && t == protowire.BytesType:
				op = string(f)
			}
			return nil
		})
		if sev, ok := dangerousOps[op]; ok && !seen[where+op] {
			seen[where+op] = true
			out = append(out, finding.Finding{RuleID: "MS802", Severity: sev, Title: "TensorFlow graph runs an operation that reaches files, Python or native code",
				Location: where + "/" + name, Evidence: op, References: refsCode})
		}
		return err
	}
	graphDef := func(v []byte, where string) error {
		return forFields(v, func(n protowire.Number, t protowire.Type, f []byte) error {
			if t != protowire.BytesType {
				return nil
			}
			switch n {
			case 1:
				return nodeDef(f, where)
			case 2: // function library
				return forFields(f, func(n protowire.Number, t protowire.Type, fn []byte) error {
					if n != 1 || t != protowire.BytesType {
						return nil
					}
					var fname string
					return forFields(fn, func(n protowire.Number, t protowire.Type, x []byte) error {
						switch {
						case n == 1 && t == protowire.BytesType: // signature: OpDef, name = 1
							forFields(x, func(n protowire.Number, _ protowire.Type, y []byte) error {
								if n == 1 {
									fname = string(y)
								}
								return nil
							})
						case n == 3 && t == protowire.BytesType: // node_def
							return nodeDef(x, where+"/library/"+fname)
						}
						return nil
					})
				})
			}
			return nil
		})
	}
	err := forFields(b, func(n protowire.Number, t protowire.Type, v []byte) error {
		if n != 2 || t != protowire.BytesType { // meta_graphs
			return nil
		}
		return forFields(v, func(n protowire.Number, t protowire.Type, f []byte) error {
			if n == 2 && t == protowire.BytesType { // graph_def
				return graphDef(f, "graph")
			}
			return nil
		})
	})
	if err != nil {
		out = append(out, finding.Finding{RuleID: "MS801", Severity: finding.High, Title: "SavedModel is not a valid protobuf",
			Location: "saved_model.pb", Evidence: fmt.Sprint(err), References: refsTamper})
	}
	return out
}
