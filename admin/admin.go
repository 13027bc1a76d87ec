// Package admin is modelgate's control plane: the admin API under
// /admin/v1/ (scope admin), Prometheus metrics, and health and readiness
// probes, served on their own listener apart from model traffic.
package admin

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
	"github.com/modelgate/modelgate/access"
	"github.com/modelgate/modelgate/store"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Options configure the control plane.
type Options struct {
	Store    store.Store
	Certs    *access.CertMapper
	Gatherer prometheus.Gatherer // what /metrics serves; nil: no metrics
	Logger   *slog.Logger
	// Ready reports extra readiness conditions (the data plane is
	// listening); nil: ready when the store answers.
	Ready func() error
	// OnChange is told of every change made through the API, after it is
	// stored; the audit log plugs in here.
	OnChange func(ctx context.Context, c Change)
}

// Change describes one control-plane change.
type Change struct {
	Actor  *access.Principal
	Action string // key.create, key.revoke, key.rotate, route.update, route.delete, ipblock.create, ipblock.delete
	Target string // key id, model name or rule id
}

// maxBody bounds admin request bodies.
const maxBody = 64 << 10

// Handler serves the control plane.
type Handler struct {
	opts Options
	keys Local
	auth *access.Authenticator
	log  *slog.Logger
	mux  *http.ServeMux
}

// New returns the control-plane handler.
func New(opts Options) *Handler {
	h := &Handler{opts: opts, keys: Local{Store: opts.Store}, log: opts.Logger, mux: http.NewServeMux()}
	if h.log == nil {
		h.log = slog.Default()
	}
	// Admin calls are rare and must see every revocation at once: no cache.
	h.auth = &access.Authenticator{Keys: access.DirectKeys(opts.Store), Certs: opts.Certs}
	if opts.Gatherer != nil {
		h.mux.Handle("GET /metrics", promhttp.HandlerFor(opts.Gatherer, promhttp.HandlerOpts{}))
	}
	h.mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	h.mux.HandleFunc("GET /readyz", h.ready)

	h.handle("GET /admin/v1/keys", h.listKeys)
	h.handle("POST /admin/v1/keys", h.createKey)
	h.handle("GET /admin/v1/keys/{id}", h.getKey)
	h.handle("POST /admin/v1/keys/{id}/revoke", h.revokeKey)
	h.handle("POST /admin/v1/keys/{id}/rotate", h.rotateKey)
	h.handle("GET /admin/v1/routes", h.listRoutes)
	h.handle("GET /admin/v1/routes/{model...}", h.getRoute)
	h.handle("PUT /admin/v1/routes/{model...}", h.putRoute)
	h.handle("DELETE /admin/v1/routes/{model...}", h.deleteRoute)
	h.handle("GET /admin/v1/ipblocks", h.listIPRules)
	h.handle("POST /admin/v1/ipblocks", h.createIPRule)
	h.handle("DELETE /admin/v1/ipblocks/{id}", h.deleteIPRule)
	return h
}

// ServeHTTP implements http.Handler. Unknown paths and methods get the
// same JSON errors as everything else.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if _, pattern := h.mux.Handler(r); pattern == "" {
		h.noRoute(w, r)
		return
	}
	h.mux.ServeHTTP(w, r)
}

// noRoute answers 405 with Allow when the path exists under another
// method, else 404.
func (h *Handler) noRoute(w http.ResponseWriter, r *http.Request) {
	var allow []string
	for _, m := range []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodDelete} {
		probe := r.Clone(r.Context())
		probe.Method = m
		if _, p := h.mux.Handler(probe); p != "" {
			allow = append(allow, m)
		}
	}
	if len(allow) > 0 {
		w.Header().Set("Allow", strings.Join(allow, ", "))
		writeError(w, http.StatusMethodNotAllowed, "invalid_request_error", "method_not_allowed",
			r.Method+" is not allowed here; use "+strings.Join(allow, " or "))
		return
	}
	writeError(w, http.StatusNotFound, "not_found_error", "not_found", "no such endpoint: "+r.URL.Path)
}

func (h *Handler) ready(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if err := h.opts.Store.Ping(ctx); err != nil {
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "unavailable", "reason": "store: " + err.Error()})
		return
	}
	if h.opts.Ready != nil {
		if err := h.opts.Ready(); err != nil {
			writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "unavailable", "reason": err.Error()})
			return
		}
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
}

// handle registers an admin endpoint: the caller must authenticate and
// hold the admin scope.
func (h *Handler) handle(pattern string, fn func(w http.ResponseWriter, r *http.Request, p *access.Principal)) {
	h.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		p, err := h.auth.Authenticate(r.Context(), r)
		if err != nil {
			var ae *access.AuthError
			if errors.As(err, &ae) {
				w.Header().Set("Www-Authenticate", `Bearer realm="modelgate-admin"`)
				writeError(w, http.StatusUnauthorized, "authentication_error", ae.Code, ae.Message)
				return
			}
			h.log.Error("admin authentication failed", "err", err)
			writeError(w, http.StatusServiceUnavailable, "server_error", "store_unavailable", "cannot check credentials right now")
			return
		}
		if !p.Scopes.Has(access.ScopeAdmin) {
			writeError(w, http.StatusForbidden, "permission_error", "insufficient_scope", p.String()+" lacks the admin scope")
			return
		}
		fn(w, r, p)
	})
}

// changed logs a change and tells OnChange.
func (h *Handler) changed(r *http.Request, p *access.Principal, action, target string) {
	h.log.Info("admin change", "actor", p.String(), "action", action, "target", target)
	if h.opts.OnChange != nil {
		h.opts.OnChange(r.Context(), Change{Actor: p, Action: action, Target: target})
	}
}

// decode reads a JSON body strictly: unknown fields and duplicate keys are
// errors, so a misspelt field never silently means its default.
func decode(w http.ResponseWriter, r *http.Request, v any) bool {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		writeError(w, http.StatusRequestEntityTooLarge, "invalid_request_error", "request_too_large", "request body too large")
		return false
	}
	if len(body) == 0 {
		body = []byte("{}")
	}
	if err := json.Unmarshal(body, v, json.RejectUnknownMembers(true)); err != nil {
		writeError(w, http.StatusBadRequest, "invalid_request_error", "invalid_json", describeJSONError(err))
		return false
	}
	return true
}

func describeJSONError(err error) string {
	var se *json.SemanticError
	if errors.As(err, &se) && se.JSONPointer != "" {
		field := strings.ReplaceAll(strings.TrimPrefix(string(se.JSONPointer), "/"), "/", ".")
		if se.Err != nil && strings.Contains(se.Err.Error(), "unknown") {
			return "unknown field " + strconv.Quote(field)
		}
		return "field " + strconv.Quote(field) + ": " + se.Error()
	}
	return "invalid JSON: " + err.Error()
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v, jsontext.Multiline(true))
	if err != nil {
		writeError(w, http.StatusInternalServerError, "server_error", "internal", "cannot encode the response")
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}

func writeError(w http.ResponseWriter, status int, typ, code, msg string) {
	writeJSON(w, status, map[string]any{"error": map[string]string{"message": msg, "type": typ, "code": code}})
}

// storeError maps store errors to statuses.
func (h *Handler) storeError(w http.ResponseWriter, err error) {
	switch {
	case errors.Is(err, store.ErrNotFound):
		writeError(w, http.StatusNotFound, "not_found_error", "not_found", err.Error())
	case errors.Is(err, store.ErrConflict):
		writeError(w, http.StatusConflict, "invalid_request_error", "conflict", err.Error())
	case errors.Is(err, access.ErrInvalidSpec):
		writeError(w, http.StatusBadRequest, "invalid_request_error", "invalid_field", err.Error())
	default:
		h.log.Error("admin store error", "err", err)
		writeError(w, http.StatusInternalServerError, "server_error", "internal", "the store failed; see the gateway log")
	}
}
