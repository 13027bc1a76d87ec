package console

import (
	"bytes"
	"html/template"
	"net/http"
	"time"

	"github.com/modelgate/modelgate/kri"
)

// pages are the console's templates: one layout, and a body per page.
var pages = template.Must(kri.Parse(template.New("console")).Funcs(template.FuncMap{
	"when": func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.UTC().Format("2006-01-02 15:04:05")
	},
	"detail":  func(m map[string]string, k string) string { return m[k] },
	"windows": func() []window { return windows },
}).Parse(`
{{define "layout"}}<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{{.Title}} · modelgate</title><style>{{.Style}}
nav{background:#212529;padding:8px 24px}nav a{color:#f8f9fa;margin-right:16px;text-decoration:none}nav a.on{font-weight:700;text-decoration:underline}
nav form{display:inline;float:right}button{cursor:pointer}.done{background:#d3f9d8;padding:8px;border-radius:4px}
.error{background:#ffe3e3;padding:8px;border-radius:4px}form.inline{display:inline}pre{white-space:pre-wrap;word-break:break-all;background:#fff;padding:8px;border:1px solid #dee2e6}
input[type=text],input[type=password]{padding:4px}</style></head>
<body>{{if .Session}}<nav>{{range .Nav}}<a href="{{.Path}}"{{if eq .Path $.Path}} class="on"{{end}}>{{.Name}}</a>{{end}}
<form method="post" action="/ui/logout"><input type="hidden" name="csrf" value="{{.CSRF}}"><button id="logout">Log out</button></form></nav>{{end}}
<main><h1>{{.Title}}</h1>{{template "body" .}}</main></body></html>{{end}}

{{define "login"}}<form method="post" action="/ui/login" id="login">
{{with .Body.Error}}<p class="error">{{.}}</p>{{end}}
<p>Log in with an API key that holds the admin scope. The key is checked, never stored; the session lasts eight hours.</p>
<input type="hidden" name="next" value="{{.Body.Next}}">
<label>Admin key <input type="password" name="key" autocomplete="off" size="60" autofocus></label> <button>Log in</button></form>{{end}}

{{define "error"}}<p class="error" id="error">{{.Body.Message}}</p><p><a href="/ui/">Back to the overview</a></p>{{end}}

{{define "overview"}}{{with .Body}}
<p class="muted">The last 30 days, computed from the audit log, the registry and the newest inventory snapshot at {{when .Generated}} UTC (kept fresh every minute while the overview is in use). <code>modelgate report kri</code> writes the same as a report.
<form class="inline" method="post" action="/ui/refresh" id="refresh"><input type="hidden" name="csrf" value="{{$.CSRF}}"><button>Recompute now</button></form></p>
{{if $.Recomputed}}<p class="done" id="recomputed">Recomputed just now.</p>{{end}}
{{template "kri-risks" .}}{{template "kri-cards" .}}{{end}}{{end}}

{{define "keys"}}{{with .Body.Done}}<p class="done" id="done">Done: {{.}}.</p>{{end}}
<p>Revoking a key takes effect at every gateway from its next request, and is recorded in the audit log.</p>
<table id="keys"><tr><th>id</th><th>name</th><th>status</th><th>scopes</th><th>models</th><th class="num">rpm</th><th>created</th><th></th></tr>
{{range .Body.Keys}}<tr id="key-{{.ID}}"><td><code>{{.ID}}</code></td><td>{{.Name}}</td><td>{{.Status}}</td><td>{{range $i, $s := .Scopes}}{{if $i}}, {{end}}{{$s}}{{end}}</td><td>{{range $i, $s := .Models}}{{if $i}}, {{end}}{{$s}}{{end}}</td><td class="num">{{.RPM}}</td><td>{{when .CreatedAt}}</td>
<td>{{if eq .Status "active"}}<form class="inline" method="post" action="/ui/keys/revoke"><input type="hidden" name="csrf" value="{{$.CSRF}}"><input type="hidden" name="id" value="{{.ID}}"><label><input type="checkbox" name="confirm" value="yes"> sure</label> <button>Revoke</button></form>{{end}}</td></tr>{{end}}</table>{{end}}

{{define "models"}}{{with .Body.Done}}<p class="done" id="done">Done: {{.}}.</p>{{end}}
{{if not .Body.Enabled}}<p class="muted">This gateway has no model registry.</p>{{end}}
<p>A quarantined version is refused at once by every gateway (503, with the reason); a rollback puts the golden version (else the last to leave production) back, after it passes the gate again.</p>
<table id="models"><tr><th>model</th><th>stage</th><th>signed</th><th>scanned</th><th class="num">critical + high</th><th>gate</th><th>threat model</th><th></th></tr>
{{range .Body.Models}}<tr id="model-{{.Name}}-{{.Version}}"><td>{{.Name}}@{{.Version}}{{if .Golden}} ★{{end}}</td><td>{{.Stage}}{{with .Reason}}<br><span class="muted">{{.}}</span>{{end}}</td><td>{{if .Signature.Valid}}valid{{else if .Signature.Signed}}<span class="worse">invalid</span>{{else}}no{{end}}</td><td>{{if .Scan.Scanned}}yes{{else}}no{{end}}</td><td class="num">{{.Findings}}</td><td>{{with .Gate}}{{if .Allow}}passed{{else}}<span class="worse">refused</span>{{end}}{{end}}</td><td>{{.ThreatModel}}</td>
<td>{{if ne (print .Stage) "quarantined"}}<form class="inline" method="post" action="/ui/models/quarantine"><input type="hidden" name="csrf" value="{{$.CSRF}}"><input type="hidden" name="ref" value="{{.Name}}@{{.Version}}"><input type="text" name="reason" placeholder="reason" size="14"> <label><input type="checkbox" name="confirm" value="yes"> sure</label> <button>Quarantine</button></form>{{end}}
<form class="inline" method="post" action="/ui/models/rollback"><input type="hidden" name="csrf" value="{{$.CSRF}}"><input type="hidden" name="name" value="{{.Name}}"><label><input type="checkbox" name="confirm" value="yes"> sure</label> <button>Roll back</button></form></td></tr>{{end}}</table>{{end}}

{{define "routes"}}<table id="routes"><tr><th>model</th><th>protocol</th><th>upstream</th><th>input guards</th><th>output guards</th><th>source</th></tr>
{{range .Body.Routes}}<tr><td>{{.Model}}</td><td>{{.Protocol}}</td><td>{{.Upstream.URL}}</td><td>{{if $.Body.Known}}{{range $i, $g := .Input}}{{if $i}}, {{end}}{{$g}}{{else}}<span class="worse">none</span>{{end}}{{else}}?{{end}}</td><td>{{if $.Body.Known}}{{range $i, $g := .Output}}{{if $i}}, {{end}}{{$g}}{{else}}<span class="worse">none</span>{{end}}{{else}}?{{end}}</td><td>{{.Source}}</td></tr>{{end}}</table>{{end}}

{{define "audit"}}<form method="get" action="/ui/audit" id="search">
<input type="text" name="action" value="{{.Body.Action}}" placeholder="action (key.revoke, inference.)"> <input type="text" name="actor" value="{{.Body.Actor}}" placeholder="actor id"> <input type="text" name="model" value="{{.Body.Model}}" placeholder="model"> <input type="text" name="outcome" value="{{.Body.Outcome}}" placeholder="outcome">
<select name="window">{{range windows}}<option value="{{.Name}}"{{if eq .Name $.Body.Window.Name}} selected{{end}}>{{.Label}}</option>{{end}}</select> <button>Search</button></form>
<p class="muted"{{if or .Body.Action .Body.Actor .Body.Model .Body.Outcome}} id="searched"{{end}}>The newest {{.Body.Limit}} matching events {{.Body.Window.Label}}. Open one to check its inclusion proof against the signed checkpoint.</p>
<table id="events"><tr><th class="num">index</th><th>time</th><th>actor</th><th>action</th><th>resource</th><th>outcome</th></tr>
{{range .Body.Events}}<tr><td class="num"><a href="/ui/audit/{{.Index}}">{{.Index}}</a></td><td>{{when .Time}}</td><td>{{.Actor.Kind}}:{{.Actor.ID}}</td><td>{{.Action}}</td><td>{{.Resource.ID}}{{.Resource.Model}}{{with .Resource.ModelVersion}}@{{.}}{{end}}</td><td>{{.Decision.Outcome}}{{with .Decision.Reason}} ({{.}}){{end}}</td></tr>{{end}}</table>{{end}}

{{define "event"}}<p id="proof" class="{{if .Body.Proven}}done{{else}}error{{end}}">{{if .Body.Proven}}Proof checked: {{else}}Not proven: {{end}}{{.Body.Proof}}.</p><pre id="event">{{.Body.JSON}}</pre>{{end}}

{{define "window"}}<p class="muted">Shown: {{.Window.Label}} ·{{range windows}} <a href="?window={{.Name}}">{{.Name}}</a>{{end}}</p>{{end}}

{{define "alerts"}}{{template "window" .}}<h2>Alerts</h2><table id="alerts"><tr><th>raised</th><th>rule</th><th>severity</th><th>subject</th><th>detail</th></tr>
{{range .Body.Alerts}}<tr><td>{{when .Time}}</td><td>{{detail .Details "rule"}}</td><td>{{detail .Details "severity"}}</td><td>{{detail .Details "by"}} {{detail .Details "subject"}}</td><td>{{detail .Details "detail"}}</td></tr>{{end}}</table>
<h2>Incidents</h2><table id="incidents"><tr><th>time</th><th>incident</th><th>event</th><th>detail</th></tr>
{{range .Body.Incidents}}<tr><td>{{when .Time}}</td><td>{{.Resource.ID}}</td><td>{{.Action}}</td><td>{{detail .Details "title"}}{{detail .Details "step"}} {{detail .Details "target"}} {{detail .Details "result"}}{{detail .Details "resolution"}}</td></tr>{{end}}</table>{{end}}

{{define "redteam"}}{{template "window" .}}<table id="runs"><tr><th>finished</th><th>run</th><th>model</th><th>suite</th><th class="num">attempts</th><th class="num">complied</th><th class="num">regressions</th></tr>
{{range .Body}}<tr><td>{{when .Time}}</td><td>{{.Resource.ID}}</td><td>{{.Resource.Model}}</td><td>{{detail .Details "suite"}}</td><td class="num">{{detail .Details "attempts"}}</td><td class="num">{{detail .Details "complied"}}</td><td class="num">{{detail .Details "regressions"}}</td></tr>{{end}}</table>{{end}}

{{define "threats"}}{{range .Body}}<h2>{{.Ref}} <span class="muted">({{.Model}})</span></h2>{{with .Problem}}<p class="error">{{.}}</p>{{end}}{{.Diagram}}{{else}}<p class="muted">No registered model names a threat model.</p>{{end}}{{end}}

{{define "feedback"}}{{template "window" .}}<table id="feedback"><tr><th>time</th><th>model</th><th>rating</th><th>category</th><th>request</th></tr>
{{range .Body}}<tr><td>{{when .Time}}</td><td>{{.Resource.Model}}@{{.Resource.ModelVersion}}</td><td>{{if eq (detail .Details "negative") "true"}}<span class="worse">negative</span>{{else}}positive{{end}}</td><td>{{detail .Details "category"}}</td><td>{{.RequestID}}</td></tr>{{end}}</table>{{end}}

{{define "inventory"}}{{with .Body}}<p class="muted">Snapshot {{.ID}} taken {{when .TakenAt}} of {{range $i, $r := .Roots}}{{if $i}}, {{end}}{{$r}}{{end}}.</p>
<table id="assets"><tr><th>kind</th><th>name</th><th>path</th><th>registered</th><th class="num">findings</th></tr>
{{range .Assets}}<tr><td>{{.Kind}}</td><td>{{.Name}}</td><td>{{.Path}}</td><td>{{with .Status}}{{.Registered}}{{end}}</td><td class="num">{{len .Findings}}</td></tr>{{end}}</table>
{{else}}<p class="muted">No inventory snapshot yet: <code>modelgate inventory snapshot PATH</code> records one.</p>{{end}}{{end}}
`))

// navItem is an entry of the menu.
type navItem struct{ Name, Path string }

var nav = []navItem{{"Overview", "/ui/"}, {"Inventory", "/ui/inventory"}, {"Models", "/ui/models"}, {"Keys", "/ui/keys"},
	{"Routes", "/ui/routes"}, {"Audit log", "/ui/audit"}, {"Alerts", "/ui/alerts"}, {"Red team", "/ui/redteam"},
	{"Threat models", "/ui/threats"}, {"Feedback", "/ui/feedback"}}

var titles = map[string]string{"login": "modelgate console", "error": "Something went wrong", "overview": "Overview: key risk indicators",
	"keys": "API keys", "models": "Models and stages", "routes": "Routes and guards", "audit": "Audit log", "event": "Audit event",
	"alerts": "Alerts and incidents", "redteam": "Red-team runs", "threats": "Threat models", "feedback": "Feedback", "inventory": "Inventory"}

// render executes a page in the layout, into a buffer first so that a
// failure midway sends a clean error rather than half a page.
func (h *Handler) render(w http.ResponseWriter, r *http.Request, status int, page string, body any) {
	t, err := pages.Clone()
	if err == nil {
		_, err = t.New("body").Parse(`{{template "` + page + `" .}}`)
	}
	var buf bytes.Buffer
	if err == nil {
		x := h.current(r)
		_, period := h.window(r)
		view := struct {
			Title, Path, CSRF   string
			Window              window
			Session, Recomputed bool
			Nav                 []navItem
			Style               template.CSS
			Body                any
		}{Title: titles[page], Path: r.URL.Path, Window: period, Recomputed: r.URL.Query().Has("recomputed"), Session: x != nil, Nav: nav, Style: template.CSS(kri.Style), Body: body}
		if x != nil {
			view.CSRF = x.csrf
		}
		err = t.ExecuteTemplate(&buf, "layout", view)
	}
	if err != nil {
		h.log.Error("console: a page failed to render", "page", page, "err", err)
		http.Error(w, "the page failed to render", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}
