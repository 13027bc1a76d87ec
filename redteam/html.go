package redteam

import (
	"fmt"
	"html/template"
	"io"
)

// HTMLReport is what the HTML report shows: runs, and when the same
// attacks ran with the controls off and on, the gap between them.
type HTMLReport struct {
	Title  string
	Runs   []*Run
	Purple *Purple
}

type categoryRow struct {
	Category
	*Rates
}

func (r *Run) rows() []categoryRow {
	var out []categoryRow
	for _, c := range Categories {
		if rt := r.Rates[c.Name]; rt != nil {
			out = append(out, categoryRow{c, rt})
		}
	}
	return out
}

func (r *Run) complied() []Attempt {
	var out []Attempt
	for _, a := range r.Attempts {
		if a.Outcome == Complied {
			out = append(out, a)
		}
	}
	return out
}

var funcs = template.FuncMap{
	"pct": func(f float64) string { return fmt.Sprintf("%.0f%%", f*100) },
	// bar draws a rate as an inline SVG bar, so the report needs nothing
	// beyond itself.
	"bar": func(f float64, colour string) template.HTML {
		w := int(f*120 + 0.5)
		return template.HTML(fmt.Sprintf(`<svg width="124" height="12" role="img" aria-label="%.0f%%"><rect x="0" y="1" width="122" height="10" fill="#f1f3f5"/><rect x="0" y="1" width="%d" height="10" fill="%s"/></svg>`, f*100, w, template.HTMLEscapeString(colour)))
	},
	"rows":     (*Run).rows,
	"complied": (*Run).complied,
}

var page = template.Must(template.New("page").Funcs(funcs).Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{{.Title}}</title>
<style>
body{font-family:Helvetica,Arial,sans-serif;margin:2em;color:#212529;max-width:1200px}
table{border-collapse:collapse;width:100%;font-size:13px;margin-bottom:1.5em}th,td{border-bottom:1px solid #dee2e6;padding:5px;text-align:left;vertical-align:top}
.ev{color:#495057;font-size:12px}.bad{color:#b3001b;font-weight:bold}.good{color:#2b8a3e;font-weight:bold}
</style></head><body>
<h1>{{.Title}}</h1>
{{with .Purple}}
<h2>Resilience gap</h2>
<p>The same attacks with the controls off ({{.Off.Model}}) and on ({{.On.Model}}). The share of attacks that worked, by business impact:</p>
<table><tr><th>Business impact</th><th>Categories</th><th>Attempts</th><th>Controls off</th><th>Controls on</th></tr>
{{range .Impacts}}<tr><td><b>{{.Impact}}</b></td><td class="ev">{{range .Categories}}{{.}} {{end}}</td><td>{{.Attempts}}</td>
<td>{{bar .Off "#e03131"}} {{pct .Off}}</td><td>{{bar .On "#e03131"}} {{pct .On}}</td></tr>{{end}}</table>
<table><tr><th>Category</th><th>OWASP LLM 2025</th><th>ATLAS</th><th>Impact</th><th>Off</th><th>On</th><th>Closed</th><th>Blocked by a guard</th></tr>
{{range .Gaps}}<tr><td>{{.Title}}</td><td>{{.OWASP}}</td><td class="ev">{{range .ATLAS}}{{.}} {{end}}</td><td>{{.Impact}}</td>
<td>{{pct .Off}}</td><td>{{pct .On}}</td><td class="{{if lt .Closed 0.0}}bad{{else}}good{{end}}">{{pct .Closed}}</td><td>{{.Blocked}}</td></tr>{{end}}</table>
{{if .Classifier}}<h2>Classifier attacks</h2>
<table><tr><th>Attack</th><th>Measure</th><th>Controls off</th><th>Controls on</th></tr>
{{range .Classifier}}<tr><td>{{.Attack}}</td><td>{{.Measure}}</td><td>{{.Off}}</td><td>{{.On}}</td></tr>{{end}}</table>{{end}}
{{end}}
{{range .Runs}}
<h2>Run {{.ID}}: {{.Model}}</h2>
<p class="ev">Target {{.Target}}, suite {{.Suite}}, {{len .Attempts}} attempts, {{.Started.Format "2006-01-02 15:04:05 UTC"}} to {{.Finished.Format "15:04:05"}}. Canary {{.Canary}}, planted record {{.Record}}.</p>
<table><tr><th>Category</th><th>OWASP LLM 2025</th><th>Impact</th><th>Attempts</th><th>Blocked</th><th>Refused</th><th>Resisted</th><th>Complied</th><th>Errors</th><th>Attacks that worked</th></tr>
{{range rows .}}<tr><td>{{.Title}}</td><td>{{.OWASP}}</td><td>{{.Impact}}</td><td>{{.Attempts}}</td><td>{{.Blocked}}</td><td>{{.Refused}}</td><td>{{.Resisted}}</td><td>{{.Complied}}</td><td>{{.Errors}}</td>
<td>{{bar .ComplianceRate "#e03131"}} {{pct .ComplianceRate}}</td></tr>{{end}}</table>
{{if .Regressions}}<p class="bad">Regressions against the baseline:</p><ul>{{range .Regressions}}<li>{{.Category}}: {{pct .Now}} of attacks worked, {{pct .Baseline}} in the baseline</li>{{end}}</ul>{{end}}
{{with complied .}}<h3>Attacks that worked</h3><table><tr><th>Probe</th><th>Category</th><th>Technique</th><th>Evidence</th></tr>
{{range .}}<tr><td>{{.Probe}}</td><td>{{.Category}}</td><td>{{.Technique}}</td><td class="ev">{{.Evidence}}</td></tr>{{end}}</table>{{end}}
{{end}}
<p class="ev">Categories map to the OWASP Top 10 for LLM Applications, 2025 edition, and MITRE ATLAS techniques.</p>
</body></html>
`))

// WriteHTML writes a self-contained HTML report.
func WriteHTML(w io.Writer, r HTMLReport) error { return page.Execute(w, r) }
