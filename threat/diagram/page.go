package diagram

import (
	"bytes"
	"html/template"
	"io"

	"github.com/modelgate/modelgate/threat"
)

var page = template.Must(template.New("page").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Threat model: {{.Model.System.Name}}</title>
<style>
body{font-family:Helvetica,Arial,sans-serif;margin:2em;color:#212529}
table{border-collapse:collapse;width:100%;font-size:13px}th,td{border-bottom:1px solid #dee2e6;padding:6px;text-align:left;vertical-align:top}
.open{color:#b3001b;font-weight:bold}.mitigated{color:#2b8a3e}.accepted{color:#e67700}.false_positive{color:#868e96}
.sev-critical{background:#b3001b;color:#fff}.sev-high{background:#d9480f;color:#fff}.sev-medium{background:#ffd43b}.sev-low{background:#d0ebff}
.sev{padding:1px 6px;border-radius:3px}.ev{color:#495057;font-size:12px}.holds{color:#2b8a3e}.fails{color:#b3001b}
</style></head><body>
<h1>Threat model: {{.Model.System.Name}}</h1>
<p>Owner: {{.Model.System.Owner}}. {{.Model.System.Description}}</p>
<p>{{.Result.Open}} open, {{.Result.Mitigated}} mitigated, {{.Result.Accepted}} accepted, {{.Result.FalsePositive}} false positives; {{len .Result.Undeclared}} flows seen in the audit log but not declared.</p>
<div>{{.SVG}}</div>
{{if .Result.Undeclared}}<h2>Undeclared flows</h2><table><tr><th>Caller</th><th>Model</th><th>Requests</th></tr>
{{range .Result.Undeclared}}<tr><td>{{.Caller}}</td><td>{{.Model}}</td><td>{{.Count}}</td></tr>{{end}}</table>{{end}}
<h2>Threats</h2>
<table><tr><th>Severity</th><th>Threat</th><th>Element</th><th>Status</th><th>L × I</th><th>Evidence</th><th>References</th></tr>
{{range .Result.Threats}}<tr><td><span class="sev sev-{{.Severity}}">{{.Severity}}</span></td>
<td><b>{{.Threat.ID}}</b><br>{{.Threat.Title}}</td><td>{{.TargetName}} ({{.Target}})</td>
<td class="{{.Status}}">{{.Status}}{{if .Note}}<div class="ev">{{.Note}}</div>{{end}}</td><td>{{.Likelihood}} × {{.Impact}} = {{.Score}}</td>
<td>{{range .Evidence}}<div class="ev"><span class="{{if .Holds}}holds{{else}}fails{{end}}">{{if .Holds}}✓{{else}}✗{{end}}</span> {{.Mitigation}}: {{.Detail}}{{if .Declared}} (declared){{end}}</div>{{end}}</td>
<td class="ev">{{range .Threat.OWASPLLM}}OWASP {{.}} (LLM Top 10 2025)<br>{{end}}{{range .Threat.OWASPML}}OWASP {{.}} (ML Top 10)<br>{{end}}{{range .Threat.ATLAS}}ATLAS {{.}}<br>{{end}}</td></tr>
{{end}}</table>
</body></html>
`))

// HTML writes a self-contained report: the diagram, the undeclared
// flows, and every applied threat with its evidence.
func HTML(w io.Writer, m *threat.Model, res *threat.Result) error {
	var svg bytes.Buffer
	if err := SVG(&svg, m, MarksFrom(res)); err != nil {
		return err
	}
	// The SVG escapes every name it draws (see esc), so it is markup
	// the page may carry as it is.
	return page.Execute(w, map[string]any{"Model": m, "Result": res, "SVG": template.HTML(svg.String())})
}
