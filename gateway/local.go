package gateway

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/go-json-experiment/json"
)

// serveHealth answers the KServe v2 health endpoints for the gateway
// itself. Reaching this point means the store answered.
func (g *Gateway) serveHealth(x *Exchange) {
	if !g.release(x, http.StatusOK) {
		return
	}
	if strings.HasSuffix(x.R.URL.Path, "/live") {
		writeJSON(x.W, http.StatusOK, map[string]bool{"live": true})
		return
	}
	writeJSON(x.W, http.StatusOK, map[string]bool{"ready": true})
}

type modelObject struct {
	ID      string `json:"id"`
	Object  string `json:"object"`
	Created int64  `json:"created"`
	OwnedBy string `json:"owned_by"`
}

// serveModels answers GET /v1/models with the OpenAI-protocol models the
// caller may use, and GET /v1/models/{model} with one of them. A model the
// caller may not use is reported as absent.
func (g *Gateway) serveModels(x *Exchange, snap *snapshot) {
	var list []modelObject
	for _, r := range snap.routes {
		if r.Protocol != "openai" || !x.Principal.MayUse(r.Model) {
			continue
		}
		m := modelObject{ID: r.Model, Object: "model", Created: r.CreatedAt.Unix(), OwnedBy: "modelgate"}
		if x.Model != "" {
			if r.Model == x.Model {
				if g.release(x, http.StatusOK) {
					writeJSON(x.W, http.StatusOK, m)
				}
				return
			}
			continue
		}
		list = append(list, m)
	}
	if x.Model != "" {
		x.Refuse(refusal(http.StatusNotFound, TypeNotFound, "model_not_found", "model %q does not exist", x.Model))
		return
	}
	if list == nil {
		list = []modelObject{}
	}
	if !g.release(x, http.StatusOK) {
		return
	}
	writeJSON(x.W, http.StatusOK, struct {
		Object string        `json:"object"`
		Data   []modelObject `json:"data"`
	}{"list", list})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, `{"error":{"message":"internal error","type":"server_error","code":"internal"}}`, http.StatusInternalServerError)
		return
	}
	b = append(b, '\n')
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	w.Write(b)
}
