package diagram

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/modelgate/modelgate/threat"
)

// Mermaid writes the diagram as a Mermaid flowchart, boundaries as nested
// subgraphs.
func Mermaid(w io.Writer, m *threat.Model) error {
	bw := bufio.NewWriter(w)
	ids := nodeIDs(m)
	fmt.Fprintln(bw, "flowchart LR")
	var walk func(parent, indent string)
	walk = func(parent, indent string) {
		for _, b := range m.Boundaries {
			if b.Parent != parent {
				continue
			}
			fmt.Fprintf(bw, "%ssubgraph %s[%s]\n", indent, ids["b:"+b.ID], mermaidText(label(b.Name, b.ID, 60)))
			walk(b.ID, indent+"  ")
			fmt.Fprintf(bw, "%send\n", indent)
		}
		for _, a := range m.Assets {
			if a.Boundary != parent {
				continue
			}
			open, close := "(", ")"
			switch a.Type {
			case threat.AssetUser, threat.AssetExternal:
				open, close = "[", "]"
			case threat.AssetStore, threat.AssetDataset:
				open, close = "[(", ")]"
			}
			fmt.Fprintf(bw, "%s%s%s%s%s\n", indent, ids["a:"+a.ID], open, mermaidText(label(a.Name, a.ID, 60)), close)
		}
	}
	walk("", "  ")
	for _, f := range m.Flows {
		text := strings.TrimSpace(f.ID + " " + f.Protocol)
		fmt.Fprintf(bw, "  %s -->|%s| %s\n", ids["a:"+f.From], mermaidText(text), ids["a:"+f.To])
	}
	return bw.Flush()
}

// mermaidEntities are the characters a Mermaid label must not hold as
// they are: its quote, the edge-label delimiter, markup (renderers may
// draw labels as HTML) and line breaks.
var mermaidEntities = strings.NewReplacer(`"`, "#34;", "|", "#124;", "<", "#60;", ">", "#62;", "\n", " ", "\r", " ")

// mermaidText quotes a label.
func mermaidText(s string) string {
	return `"` + mermaidEntities.Replace(s) + `"`
}

// nodeIDs gives every asset and boundary an identifier both Mermaid and
// DOT accept, whatever the model's ids contain.
func nodeIDs(m *threat.Model) map[string]string {
	ids := map[string]string{}
	for i, b := range m.Boundaries {
		ids["b:"+b.ID] = "b" + strconv.Itoa(i)
	}
	for i, a := range m.Assets {
		ids["a:"+a.ID] = "a" + strconv.Itoa(i)
	}
	return ids
}

// DOT writes the diagram for Graphviz, boundaries as clusters.
func DOT(w io.Writer, m *threat.Model) error {
	bw := bufio.NewWriter(w)
	ids := nodeIDs(m)
	fmt.Fprintf(bw, "digraph %s {\n  rankdir=LR;\n  node [fontname=\"Helvetica\"];\n", strconv.Quote(m.System.Name))
	var walk func(parent, indent string)
	walk = func(parent, indent string) {
		for _, b := range m.Boundaries {
			if b.Parent != parent {
				continue
			}
			fmt.Fprintf(bw, "%ssubgraph cluster_%s {\n%s  label=%s; style=dashed;\n", indent, ids["b:"+b.ID], indent, strconv.Quote(oneLine(label(b.Name, b.ID, 60))))
			walk(b.ID, indent+"  ")
			fmt.Fprintf(bw, "%s}\n", indent)
		}
		for _, a := range m.Assets {
			if a.Boundary != parent {
				continue
			}
			shape := "box, style=rounded"
			switch a.Type {
			case threat.AssetUser, threat.AssetExternal:
				shape = "box"
			case threat.AssetStore, threat.AssetDataset:
				shape = "cylinder"
			}
			fmt.Fprintf(bw, "%s%s [label=%s, shape=%s];\n", indent, ids["a:"+a.ID], strconv.Quote(oneLine(label(a.Name, a.ID, 60))), shape)
		}
	}
	walk("", "  ")
	for _, f := range m.Flows {
		fmt.Fprintf(bw, "  %s -> %s [label=%s];\n", ids["a:"+f.From], ids["a:"+f.To], strconv.Quote(strings.TrimSpace(f.ID+" "+f.Protocol)))
	}
	fmt.Fprintln(bw, "}")
	return bw.Flush()
}

func oneLine(s string) string { return strings.NewReplacer("\n", " ", "\r", " ").Replace(s) }
