package probe

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// adminAPI is a model-server or ML-platform API that should never answer
// a caller without credentials, and how to recognise its answer: a
// status of 200 alone is not enough, since a catch-all page answers 200
// to everything.
type adminAPI struct {
	name, method, path, body string
	severity                 string // of the exposure, in the evidence
	match                    func(body []byte) bool
}

func jsonHas(keys ...string) func([]byte) bool {
	return func(b []byte) bool {
		var m map[string]json.RawMessage
		if json.Unmarshal(b, &m) != nil {
			return false
		}
		for _, k := range keys {
			if _, ok := m[k]; !ok {
				return false
			}
		}
		return true
	}
}

func jsonArray(b []byte) bool {
	var a []json.RawMessage
	return json.Unmarshal(b, &a) == nil
}

// adminAPIs: each entry's path and answer are those the product
// documents for listing what it holds; none changes state.
var adminAPIs = []adminAPI{
	{name: "Ollama API (pull, delete and run models)", method: "GET", path: "/api/tags", severity: "high", match: jsonHas("models")},
	{name: "Triton model repository", method: "POST", path: "/v2/repository/index", body: "{}", severity: "high", match: jsonArray},
	{name: "TorchServe management API (register models: code execution)", method: "GET", path: "/models", severity: "critical", match: func(b []byte) bool {
		return jsonHas("models")(b) && (strings.Contains(string(b), "modelName") || strings.Contains(string(b), `"models": []`) || strings.Contains(string(b), `"models":[]`))
	}},
	{name: "Ray dashboard (job submission: code execution)", method: "GET", path: "/api/version", severity: "critical", match: jsonHas("ray_version")},
	{name: "MLflow tracking server", method: "GET", path: "/api/2.0/mlflow/experiments/search?max_results=1", severity: "high", match: jsonHas("experiments")},
	{name: "Jupyter server (code execution)", method: "GET", path: "/api/kernels", severity: "critical", match: jsonArray},
	{name: "Gradio app configuration", method: "GET", path: "/config", severity: "medium", match: jsonHas("components", "version")},
	{name: "vLLM metrics", method: "GET", path: "/metrics", severity: "low", match: func(b []byte) bool { return strings.Contains(string(b), "vllm:") }},
	{name: "text-generation-inference metrics", method: "GET", path: "/metrics", severity: "low", match: func(b []byte) bool { return strings.Contains(string(b), "tgi_request") }},
	{name: "model list", method: "GET", path: "/v1/models", severity: "low", match: func(b []byte) bool {
		return jsonHas("data")(b) && strings.Contains(string(b), `"object"`)
	}},
}

// modelPorts are the ports model servers and ML platforms listen on.
var modelPorts = []int{11434, 8000, 8001, 8002, 8080, 8081, 8265, 5000, 7860, 8888}

func (p *prober) checkAdminAPIs(ctx context.Context) Check {
	origins := []string{p.origin(p.base.Scheme, p.base.Host)}
	if p.opts.AdminPorts {
		for _, port := range modelPorts {
			hostport := net.JoinHostPort(p.base.Hostname(), strconv.Itoa(port))
			if hostport == p.base.Host || !p.listening(ctx, hostport) {
				continue
			}
			origins = append(origins, p.origin("http", hostport))
		}
	}
	var found []string
	for _, o := range origins {
		for _, api := range adminAPIs {
			var body *strings.Reader
			var h http.Header
			if api.body != "" {
				body, h = strings.NewReader(api.body), jsonHeader("")
			}
			var r *response
			var err error
			if body != nil {
				r, err = p.doURL(ctx, api.method, o+api.path, h, body, int64(body.Len()))
			} else {
				r, err = p.doURL(ctx, api.method, o+api.path, nil, nil, 0)
			}
			if err != nil {
				if err == errBudget {
					return Check{Status: Inconclusive, Detail: err.Error()}
				}
				continue
			}
			if r.status == http.StatusOK && api.match(r.body) {
				p.issue("PS-EP-014", "%s answers %s %s without credentials (%s)", api.name, api.method, o+api.path, api.severity)
				found = append(found, api.name+" at "+o)
			}
		}
	}
	if len(found) > 0 {
		return Check{Status: Fail, Detail: strings.Join(found, "; ")}
	}
	return Check{Status: Pass, Detail: fmt.Sprintf("no admin API answered without credentials (%d origins, %d APIs)", len(origins), len(adminAPIs))}
}

func (p *prober) origin(scheme, hostport string) string {
	return (&url.URL{Scheme: scheme, Host: hostport}).String()
}

// listening says whether something accepts connections on hostport.
func (p *prober) listening(ctx context.Context, hostport string) bool {
	ctx, cancel := context.WithTimeout(ctx, min(p.opts.Timeout, 2*time.Second))
	defer cancel()
	c, err := p.dial(ctx, "tcp", hostport)
	if err != nil {
		return false
	}
	c.Close()
	return true
}
