package kri

import (
	"fmt"
	"html/template"
	"io"
	"strings"
)

// funcs are the template functions that draw indicators as inline SVG,
// so a page needs no script and no file besides itself.
var funcs = template.FuncMap{
	"sparkline": Sparkline,
	"share":     ShareBar,
	"format":    func(ind Indicator) string { return ind.Format() },
	"value":     formatValue,
	"ispct":     func(ind Indicator) bool { return ind.Unit == "share" },
}

// partials draw a report's parts: the HTML report and the web console
// show them alike.
const partials = `
{{define "kri-risks"}}{{with .TopRisks}}<h2>Top risks</h2><ol class="risks">{{range .}}<li><strong>{{.Title}}</strong> <span class="muted">({{.Impact}})</span><br>{{.Evidence}}. <em>{{.Action}}.</em></li>{{end}}</ol>{{end}}{{end}}
{{define "kri-cards"}}<h2>Indicators</h2>
<div class="cards">{{range $ind := .Indicators}}<div class="card" id="{{.ID}}"><div class="n">{{.ID}}</div><div>{{.Name}}</div>
<div class="v">{{format .}}</div>{{if and .Known (ispct .)}}{{share .Value}}{{end}}{{with .Series}}<div>{{sparkline .}}</div>{{end}}
<div class="n" title="{{.Definition}}">n = {{.N}} · {{.Source}}</div>
{{with .Breakdown}}<details><summary>breakdown</summary><table>{{range .}}<tr><td>{{.Label}}</td><td class="num">{{value $ind.Unit .Value}}</td></tr>{{end}}</table></details>{{end}}</div>{{end}}</div>
{{with .Missing}}<p class="muted">Evidence not available: {{range $i, $m := .}}{{if $i}}; {{end}}{{$m}}{{end}}.</p>{{end}}{{end}}
`

// Parse adds the report's template functions and partials ("kri-risks",
// "kri-cards", each executed on a *Report) to t, for pages that show
// indicators.
func Parse(t *template.Template) *template.Template {
	return template.Must(t.Funcs(funcs).Parse(partials))
}

// ShareBar draws a share from 0 to 1 as a bar.
func ShareBar(v float64) template.HTML {
	v = min(max(v, 0), 1)
	return template.HTML(fmt.Sprintf(`<svg class="bar" width="120" height="10" role="img" aria-label="%.0f%%"><rect width="120" height="10" fill="#e9ecef"/><rect width="%.1f" height="10" fill="#1c7ed6"/></svg>`, 100*v, 120*v))
}

// Sparkline draws a series as a line over its periods.
func Sparkline(points []Point) template.HTML {
	if len(points) < 2 {
		return ""
	}
	lo, hi := points[0].Value, points[0].Value
	for _, p := range points {
		lo, hi = min(lo, p.Value), max(hi, p.Value)
	}
	if hi == lo {
		hi = lo + 1
	}
	const w, h = 160.0, 32.0
	var b strings.Builder
	for i, p := range points {
		x := w * float64(i) / float64(len(points)-1)
		y := h - 2 - (h-4)*(p.Value-lo)/(hi-lo)
		if i == 0 {
			fmt.Fprintf(&b, "M%.1f %.1f", x, y)
		} else {
			fmt.Fprintf(&b, " L%.1f %.1f", x, y)
		}
	}
	first, last := points[0], points[len(points)-1]
	return template.HTML(fmt.Sprintf(`<svg class="spark" width="%.0f" height="%.0f" role="img" aria-label="%s to %s: from %.3g to %.3g"><path d="%s" fill="none" stroke="#1c7ed6" stroke-width="1.5"/></svg>`,
		w, h, first.Start.Format("2006-01-02"), last.Start.Format("2006-01-02"), first.Value, last.Value, b.String()))
}

// Style is the report's and the console's stylesheet.
const Style = `body{font:14px/1.45 system-ui,sans-serif;margin:0;color:#212529;background:#f8f9fa}
main{max-width:1100px;margin:0 auto;padding:24px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px}
table{border-collapse:collapse;width:100%;background:#fff}
th,td{border-bottom:1px solid #dee2e6;padding:6px 8px;text-align:left;vertical-align:top}
th{background:#f1f3f5;font-weight:600}
td.num{text-align:right;white-space:nowrap}
.muted{color:#868e96}.worse{color:#c92a2a;font-weight:600}.better{color:#2b8a3e}
.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(250px,1fr));gap:12px}
.card{background:#fff;border:1px solid #dee2e6;border-radius:6px;padding:12px}
.card .v{font-size:22px;font-weight:600}.card .n{font-size:12px;color:#868e96}
ol.risks li{margin:0 0 8px}
details{margin:4px 0}`

// reportPage is the self-contained HTML report.
var reportPage = template.Must(Parse(template.New("report")).Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Key risk indicators</title><style>{{.Style}}</style></head>
<body><main>
<h1>Key risk indicators</h1>
<p class="muted">From {{.R.Since.Format "2006-01-02 15:04 MST"}} to {{.R.Generated.Format "2006-01-02 15:04 MST"}}. Every figure is computed from evidence: the audit log, the model registry and the inventory; the definitions and sources are below.</p>
{{template "kri-risks" .R}}
{{with .R.Changes}}<h2>Since the last report</h2><table><tr><th>indicator</th><th class="num">before</th><th class="num">now</th><th></th></tr>
{{range .}}<tr><td>{{.Name}}</td><td class="num">{{value .Unit .Before}}</td><td class="num">{{value .Unit .After}}</td><td>{{if .Worsened}}<span class="worse">worse</span>{{else}}<span class="better">better</span>{{end}}</td></tr>{{end}}</table>{{end}}
{{template "kri-cards" .R}}
<h2>Definitions and sources</h2>
<table><tr><th>id</th><th>definition</th><th>source</th></tr>
{{range .R.Indicators}}<tr><td>{{.ID}}</td><td>{{.Definition}}</td><td>{{.Source}}</td></tr>{{end}}</table>
</main></body></html>
`))

// WriteHTML writes the report as one self-contained HTML page: inline
// SVG charts, no script, nothing fetched.
func (r *Report) WriteHTML(w io.Writer) error {
	return reportPage.Execute(w, struct {
		R     *Report
		Style template.CSS
	}{r, template.CSS(Style)})
}
