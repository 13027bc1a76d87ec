// Package diagram draws a threat model's data flows inside its trust
// boundaries: as SVG, laid out here (no Graphviz), and as Mermaid and DOT
// for tools that lay out their own.
package diagram

import (
	"cmp"
	"slices"

	"github.com/modelgate/modelgate/threat"
)

// Sizes, in SVG user units.
const (
	boxW, boxH = 168.0, 56.0
	colGap     = 64.0 // between columns: room for a flow's label
	rowGap     = 24.0 // between boxes in a column
	pad        = 18.0 // inside a boundary
	titleH     = 22.0 // a boundary's name
	margin     = 20.0
)

// rect is a placed box.
type rect struct{ x, y, w, h float64 }

func (r rect) cx() float64 { return r.x + r.w/2 }
func (r rect) cy() float64 { return r.y + r.h/2 }

// node is an asset or a boundary in the layout tree.
type node struct {
	asset    *threat.Asset
	boundary *threat.Boundary
	children []*node
	rank     int
	w, h     float64
	at       rect
}

// layout places every asset and boundary. Assets are ranked by the
// longest chain of flows that leads to them, so data moves left to right;
// inside each boundary, children of the same rank share a column.
type layout struct {
	root       *node
	assets     map[string]*node
	boundaries []*node // outermost first
	w, h       float64
}

func newLayout(m *threat.Model) *layout {
	l := &layout{assets: map[string]*node{}}
	ranks := rankAssets(m)
	byBoundary := map[string]*node{}
	for i := range m.Boundaries {
		b := &m.Boundaries[i]
		byBoundary[b.ID] = &node{boundary: b}
	}
	l.root = &node{}
	parentOf := func(id string) *node {
		if n := byBoundary[id]; n != nil {
			return n
		}
		return l.root
	}
	for i := range m.Boundaries {
		b := &m.Boundaries[i]
		p := parentOf(b.Parent)
		p.children = append(p.children, byBoundary[b.ID])
	}
	for i := range m.Assets {
		a := &m.Assets[i]
		n := &node{asset: a, rank: ranks[a.ID], w: boxW, h: boxH}
		l.assets[a.ID] = n
		p := parentOf(a.Boundary)
		p.children = append(p.children, n)
	}
	l.measure(l.root)
	l.root.at = rect{margin, margin, l.root.w, l.root.h}
	l.place(l.root)
	l.w, l.h = l.root.w+2*margin, l.root.h+2*margin
	return l
}

// rankAssets gives each asset the length of the longest flow chain into
// it, ignoring cycles (each asset is relaxed at most len(assets) times).
func rankAssets(m *threat.Model) map[string]int {
	rank := map[string]int{}
	for range len(m.Assets) {
		changed := false
		for _, f := range m.Flows {
			if f.From != f.To && rank[f.To] < rank[f.From]+1 && rank[f.From]+1 < len(m.Assets) {
				rank[f.To] = rank[f.From] + 1
				changed = true
			}
		}
		if !changed {
			break
		}
	}
	// A source sits just before the first asset it feeds, not at the far
	// left: its flows then cross no column of boxes between.
	inbound := map[string]bool{}
	for _, f := range m.Flows {
		inbound[f.To] = true
	}
	for _, a := range m.Assets {
		if inbound[a.ID] {
			continue
		}
		next := -1
		for _, f := range m.Flows {
			if f.From == a.ID && f.To != a.ID && (next < 0 || rank[f.To] < next) {
				next = rank[f.To]
			}
		}
		if next > 0 {
			rank[a.ID] = next - 1
		}
	}
	return rank
}

// measure sizes a container bottom-up: its children in columns by rank.
func (l *layout) measure(n *node) {
	if n.asset != nil {
		return
	}
	n.rank = 1 << 30
	for _, c := range n.children {
		l.measure(c)
		n.rank = min(n.rank, c.rank)
	}
	if len(n.children) == 0 {
		n.rank = 0
		n.w, n.h = boxW, titleH+pad
		return
	}
	slices.SortStableFunc(n.children, func(a, b *node) int { return cmp.Compare(a.rank, b.rank) })
	w, h := 0.0, 0.0
	for _, col := range columns(n.children) {
		cw, ch := 0.0, 0.0
		for _, c := range col {
			cw = max(cw, c.w)
			ch += c.h + rowGap
		}
		w += cw + colGap
		h = max(h, ch-rowGap)
	}
	n.w, n.h = w-colGap+2*pad, h+2*pad
	if n.boundary != nil {
		n.h += titleH
	}
}

// columns groups sorted children by rank.
func columns(children []*node) [][]*node {
	var cols [][]*node
	for i, c := range children {
		if i == 0 || c.rank != children[i-1].rank {
			cols = append(cols, nil)
		}
		cols[len(cols)-1] = append(cols[len(cols)-1], c)
	}
	return cols
}

// place positions children top-down inside their container.
func (l *layout) place(n *node) {
	if n.boundary != nil {
		l.boundaries = append(l.boundaries, n)
	}
	x, top := n.at.x+pad, n.at.y+pad
	if n.boundary != nil {
		top += titleH
	}
	for _, col := range columns(n.children) {
		cw := 0.0
		for _, c := range col {
			cw = max(cw, c.w)
		}
		y := top
		for _, c := range col {
			c.at = rect{x + (cw-c.w)/2, y, c.w, c.h}
			l.place(c)
			y += c.h + rowGap
		}
		x += cw + colGap
	}
}

// clip returns where the segment from r's centre towards (tx, ty) leaves
// r.
func clip(r rect, tx, ty float64) (float64, float64) {
	dx, dy := tx-r.cx(), ty-r.cy()
	if dx == 0 && dy == 0 {
		return r.cx(), r.cy()
	}
	sx, sy := 1e18, 1e18
	if dx != 0 {
		sx = (r.w / 2) / abs(dx)
	}
	if dy != 0 {
		sy = (r.h / 2) / abs(dy)
	}
	s := min(sx, sy)
	return r.cx() + dx*s, r.cy() + dy*s
}

func abs(f float64) float64 {
	if f < 0 {
		return -f
	}
	return f
}
