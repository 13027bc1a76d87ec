package drift

import (
	"fmt"
	"html/template"
	"io"
	"slices"

	"github.com/modelgate/modelgate/datacheck/profile"
)

var driftPage = template.Must(template.New("drift").Parse(`<!doctype html>
<html><head><meta charset="utf-8"><title>Data drift</title>
<style>body{font:14px system-ui,sans-serif;margin:2em}table{border-collapse:collapse}td,th{padding:4px 10px;border-bottom:1px solid #ddd;text-align:left}
.drift{color:#b00;font-weight:bold}svg{background:#fafafa}.ref{fill:#4a78c2}.cur{fill:#e08a2b}</style></head><body>
<h1>Data drift</h1>
<p>{{.Report.Drifted}} of {{.Report.Compared}} columns drifted; dataset drift: <b>{{.Report.DatasetDrift}}</b>.
<span style="color:#4a78c2">■ reference</span> <span style="color:#e08a2b">■ current</span></p>
<table><tr><th>column</th><th>method</th><th>statistic</th><th>threshold</th><th>drift</th><th>distributions</th></tr>
{{range .Rows}}<tr><td>{{.C.Column}}</td><td>{{.C.Method}}</td><td>{{printf "%.4g" .C.Statistic}}</td><td>{{.C.Threshold}}</td>
<td{{if .C.Drift}} class="drift"{{end}}>{{if .C.Drift}}drift{{else}}no{{end}}{{with .C.Note}} ({{.}}){{end}}</td><td>{{.SVG}}</td></tr>
{{end}}</table></body></html>
`))

// WriteHTML writes the drift report with each column's reference and
// current histograms side by side, as inline SVG.
func WriteHTML(w io.Writer, ref, cur *profile.Profile, rep *Report) error {
	type row struct {
		C   Column
		SVG template.HTML
	}
	var rows []row
	for _, c := range rep.Columns {
		rows = append(rows, row{C: c, SVG: histogramSVG(ref.Column(c.Column), cur.Column(c.Column))})
	}
	return driftPage.Execute(w, map[string]any{"Report": rep, "Rows": rows})
}

// histogramSVG draws the shares of each bin (numeric) or category for both
// profiles, reference left and current right in each pair.
func histogramSVG(ref, cur *profile.Column) template.HTML {
	if ref == nil || cur == nil {
		return ""
	}
	var rs, cs []float64
	switch {
	case ref.Categories != nil && cur.Categories != nil:
		keys := map[string]bool{}
		for k := range ref.Categories {
			keys[k] = true
		}
		for k := range cur.Categories {
			keys[k] = true
		}
		var ks []string
		for k := range keys {
			ks = append(ks, k)
		}
		slices.Sort(ks)
		if len(ks) > 30 {
			ks = ks[:30]
		}
		for _, k := range ks {
			rs = append(rs, float64(ref.Categories[k]))
			cs = append(cs, float64(cur.Categories[k]))
		}
	case ref.Sample != nil && cur.Sample != nil:
		lo, hi := min(ref.Min, cur.Min), max(ref.Max, cur.Max)
		edges := make([]float64, 21)
		for i := range edges {
			edges[i] = lo + (hi-lo)*float64(i)/20
		}
		rs, cs = binShares(ref.Sample, edges), binShares(cur.Sample, edges)
	default:
		return ""
	}
	norm := func(v []float64) []float64 {
		var s float64
		for _, x := range v {
			s += x
		}
		if s > 0 {
			for i := range v {
				v[i] /= s
			}
		}
		return v
	}
	rs, cs = norm(rs), norm(cs)
	peak := max(slices.Max(rs), slices.Max(cs), 1e-9)
	const width, height = 300, 60
	bar := float64(width) / float64(2*len(rs))
	svg := fmt.Sprintf(`<svg width="%d" height="%d">`, width, height)
	for i := range rs {
		for k, v := range []float64{rs[i], cs[i]} {
			h := v / peak * height
			class := "ref"
			if k == 1 {
				class = "cur"
			}
			svg += fmt.Sprintf(`<rect class="%s" x="%.1f" y="%.1f" width="%.1f" height="%.1f"/>`, class, float64(2*i+k)*bar, height-h, bar*0.9, h)
		}
	}
	return template.HTML(svg + "</svg>")
}

func binShares(sample, edges []float64) []float64 {
	out := make([]float64, len(edges)-1)
	lo, hi := edges[0], edges[len(edges)-1]
	for _, v := range sample {
		i := int((v - lo) / (hi - lo + 1e-300) * float64(len(out)))
		out[min(max(i, 0), len(out)-1)]++
	}
	return out
}
