package diagram

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"io"

	"github.com/modelgate/modelgate/finding"
	"github.com/modelgate/modelgate/threat"
)

// Marks colour assets and flows by their worst open threat.
type Marks map[string]finding.Severity

// MarksFrom takes the worst open threat of each element of a result.
func MarksFrom(r *threat.Result) Marks {
	m := Marks{}
	for _, a := range r.Threats {
		if a.Status == threat.StatusOpen {
			if s, ok := m[a.Target]; !ok || a.Severity > s {
				m[a.Target] = a.Severity
			}
		}
	}
	return m
}

var severityColour = map[finding.Severity]string{finding.Critical: "#b3001b", finding.High: "#d9480f", finding.Medium: "#e0a800", finding.Low: "#5c7cfa", finding.Info: "#868e96"}

// SVG writes the data-flow diagram: trust boundaries as dashed frames
// (red when untrusted), external entities as rectangles, processes as
// rounded ones, stores between two lines, flows as arrows labelled with
// their id and protocol. Elements with open threats are outlined in the
// colour of the worst.
func SVG(w io.Writer, m *threat.Model, marks Marks) error {
	l := newLayout(m)
	var b bytes.Buffer
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%.0f" height="%.0f" viewBox="0 0 %.0f %.0f" font-family="Helvetica, Arial, sans-serif" font-size="12">`+"\n", l.w, l.h, l.w, l.h)
	b.WriteString(`<title>` + esc("Data flows of "+m.System.Name) + `</title>` + "\n")
	b.WriteString(`<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="8" markerHeight="8" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#343a40"/></marker></defs>` + "\n")
	fmt.Fprintf(&b, `<rect x="0" y="0" width="%.0f" height="%.0f" fill="#ffffff"/>`+"\n", l.w, l.h)
	for _, n := range l.boundaries {
		stroke := "#495057"
		if n.boundary.Trusted != nil && !*n.boundary.Trusted {
			stroke = "#c92a2a"
		}
		fmt.Fprintf(&b, `<g class="boundary" id="%s"><rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" rx="8" fill="none" stroke="%s" stroke-width="1.5" stroke-dasharray="6 4"/>`,
			esc("b-"+n.boundary.ID), n.at.x, n.at.y, n.at.w, n.at.h, stroke)
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" fill="%s" font-weight="bold">%s</text></g>`+"\n", n.at.x+8, n.at.y+16, stroke, esc(label(n.boundary.Name, n.boundary.ID, 40)))
	}
	var labels bytes.Buffer
	for i := range m.Flows {
		f := &m.Flows[i]
		from, to := l.assets[f.From], l.assets[f.To]
		if from == nil || to == nil {
			continue
		}
		x1, y1 := clip(from.at, to.at.cx(), to.at.cy())
		x2, y2 := clip(to.at, from.at.cx(), from.at.cy())
		stroke := "#343a40"
		if s, ok := marks[f.ID]; ok {
			stroke = severityColour[s]
		}
		text := f.ID
		if f.Protocol != "" {
			text += " " + f.Protocol
		}
		mx, my := (x1+x2)/2, (y1+y2)/2
		fmt.Fprintf(&b, `<line class="flow" id="%s" x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="%s" stroke-width="1.4" marker-end="url(#arrow)"/>`+"\n",
			esc("f-"+f.ID), x1, y1, x2, y2, stroke)
		// Labels go on top of everything, so that no box hides one.
		fmt.Fprintf(&labels, `<g class="flow-label"><rect x="%.1f" y="%.1f" width="%.1f" height="15" fill="#ffffff" opacity="0.9"/><text x="%.1f" y="%.1f" text-anchor="middle" font-size="10" fill="%s">%s</text></g>`+"\n",
			mx-float64(len(text))*3.1-3, my-11, float64(len(text))*6.2+6, mx, my, stroke, esc(text))
	}
	for i := range m.Assets {
		a := &m.Assets[i]
		n := l.assets[a.ID]
		stroke, width := "#212529", 1.2
		if s, ok := marks[a.ID]; ok {
			stroke, width = severityColour[s], 2.5
		}
		r := n.at
		fmt.Fprintf(&b, `<g class="asset" id="%s">`, esc("a-"+a.ID))
		switch a.Type {
		case threat.AssetUser, threat.AssetExternal:
			fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="#f1f3f5" stroke="%s" stroke-width="%.1f"/>`, r.x, r.y, r.w, r.h, stroke, width)
		case threat.AssetStore, threat.AssetDataset:
			fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="#fff9db" stroke="none"/><line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="%s" stroke-width="%.1f"/><line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="%s" stroke-width="%.1f"/>`,
				r.x, r.y, r.w, r.h, r.x, r.y, r.x+r.w, r.y, stroke, width, r.x, r.y+r.h, r.x+r.w, r.y+r.h, stroke, width)
		default:
			fill := "#e7f5ff"
			if a.Type == threat.AssetModel {
				fill = "#e6fcf5"
			}
			fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" rx="14" fill="%s" stroke="%s" stroke-width="%.1f"/>`, r.x, r.y, r.w, r.h, fill, stroke, width)
		}
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" text-anchor="middle" font-weight="bold">%s</text>`, r.cx(), r.cy()-3, esc(label(a.Name, a.ID, 24)))
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" text-anchor="middle" font-size="10" fill="#495057">%s</text></g>`+"\n", r.cx(), r.cy()+12, esc(a.Type+" · "+a.ID))
	}
	b.Write(labels.Bytes())
	b.WriteString("</svg>\n")
	_, err := w.Write(b.Bytes())
	return err
}

// label is a name, or the id, cut to n runes.
func label(name, id string, n int) string {
	if name == "" {
		name = id
	}
	if r := []rune(name); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return name
}

func esc(s string) string {
	var b bytes.Buffer
	xml.EscapeText(&b, []byte(s))
	return b.String()
}
