package diagram

import (
	"bytes"
	"encoding/xml"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/modelgate/modelgate/threat"
)

func model(t testing.TB) *threat.Model {
	f, err := os.Open("../testdata/support.yaml")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	m, err := threat.Parse("support.yaml", f)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestSVGWellFormedAndComplete: the SVG parses as XML and holds a group
// for every asset, flow and boundary, each asset's box inside its
// boundary's frame.
func TestSVGWellFormedAndComplete(t *testing.T) {
	m := model(t)
	lib, _ := threat.DefaultLibrary()
	var b bytes.Buffer
	if err := SVG(&b, m, MarksFrom(threat.Check(m, lib, &threat.State{}, time.Now()))); err != nil {
		t.Fatal(err)
	}
	if os.Getenv("MODELGATE_WRITE_SVG") != "" {
		os.WriteFile(os.Getenv("MODELGATE_WRITE_SVG"), b.Bytes(), 0o644)
	}
	ids := map[string]bool{}
	dec := xml.NewDecoder(bytes.NewReader(b.Bytes()))
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("not well-formed: %v", err)
		}
		if se, ok := tok.(xml.StartElement); ok {
			for _, a := range se.Attr {
				if a.Name.Local == "id" {
					ids[a.Value] = true
				}
			}
		}
	}
	for _, a := range m.Assets {
		if !ids["a-"+a.ID] || !strings.Contains(b.String(), a.Name) {
			t.Errorf("asset %s missing", a.ID)
		}
	}
	for _, f := range m.Flows {
		if !ids["f-"+f.ID] {
			t.Errorf("flow %s missing", f.ID)
		}
	}
	for _, bd := range m.Boundaries {
		if !ids["b-"+bd.ID] {
			t.Errorf("boundary %s missing", bd.ID)
		}
	}
	l := newLayout(m)
	for _, n := range l.boundaries {
		for _, a := range m.Assets {
			if a.Boundary == n.boundary.ID && !inside(l.assets[a.ID].at, n.at) {
				t.Errorf("asset %s is drawn outside its boundary %s", a.ID, n.boundary.ID)
			}
		}
	}
	for _, b := range m.Boundaries {
		if b.Parent == "" {
			continue
		}
		var child, parent rect
		for _, n := range l.boundaries {
			switch n.boundary.ID {
			case b.ID:
				child = n.at
			case b.Parent:
				parent = n.at
			}
		}
		if !inside(child, parent) {
			t.Errorf("boundary %s is drawn outside %s", b.ID, b.Parent)
		}
	}
}

func inside(in, out rect) bool {
	return in.x >= out.x && in.y >= out.y && in.x+in.w <= out.x+out.w && in.y+in.h <= out.y+out.h
}

// TestHostileNames: names and ids with markup or quotes stay text.
func TestHostileNames(t *testing.T) {
	m := &threat.Model{System: threat.System{Name: `x"</title><script>`},
		Boundaries: []threat.Boundary{{ID: `b"1`, Name: "<b>"}},
		Assets:     []threat.Asset{{ID: "a&1", Name: `"]-->x`, Type: "model", Boundary: `b"1`}, {ID: "u", Name: "end\nsubgraph", Type: "user"}},
		Flows:      []threat.Flow{{ID: "f|1", From: "u", To: "a&1", Protocol: `"|x`}}}
	var svg, mer, dot bytes.Buffer
	SVG(&svg, m, nil)
	if strings.Contains(svg.String(), "<script>") || xml.Unmarshal(svg.Bytes(), new(struct{})) != nil {
		t.Errorf("SVG: %s", svg.String())
	}
	Mermaid(&mer, m)
	if strings.Contains(mer.String(), `"]-->x"`) || strings.Contains(mer.String(), "<b>") || strings.Count(mer.String(), "\n") != 6 {
		t.Errorf("Mermaid: %s", mer.String())
	}
	DOT(&dot, m)
	if !strings.Contains(dot.String(), `label="\"]-->x"`) {
		t.Errorf("DOT: %s", dot.String())
	}
}

func TestMermaidAndDOT(t *testing.T) {
	m := model(t)
	var mer, dot bytes.Buffer
	if err := Mermaid(&mer, m); err != nil {
		t.Fatal(err)
	}
	if err := DOT(&dot, m); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"flowchart LR", "subgraph b2[\"Model cluster\"]", `a0["Customer"]`, `a6[("Transactions")]`, `a0 -->|"f1 https"| a1`} {
		if !strings.Contains(mer.String(), want) {
			t.Errorf("Mermaid lacks %q:\n%s", want, mer.String())
		}
	}
	for _, want := range []string{"subgraph cluster_b2", "a5 [label=\"Fraud scorer\", shape=box, style=rounded]", `a6 -> a5 [label="f6 s3"]`} {
		if !strings.Contains(dot.String(), want) {
			t.Errorf("DOT lacks %q:\n%s", want, dot.String())
		}
	}
}
