// Package admin is modelgate's control plane: the admin API under
// /admin/v1/ (scope admin), Prometheus metrics, and health and readiness
// probes, served on their own listener apart from model traffic.
package admin

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
	"github.com/modelgate/modelgate/access"
	"github.com/modelgate/modelgate/internal/httpbody"
	"github.com/modelgate/modelgate/internal/jsonerr"
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
	// Recorder records every change before it is made, and every refused
	// attempt: the audit log plugs in here.
	Recorder ChangeRecorder
}

// Control-plane actions.
const (
	ActionKeyCreate   = "key.create"
	ActionKeyRevoke   = "key.revoke"
	ActionKeyRotate   = "key.rotate"
	ActionRouteUpdate = "route.update"
	ActionRouteDelete = "route.delete"
	ActionIPCreate    = "ipblock.create"
	ActionIPDelete    = "ipblock.delete"
	ActionDenied      = "admin.denied"
)

// maxBody bounds admin request bodies; bodyTimeout the time from a
// request's start to the end of its body.
const (
	maxBody     = 64 << 10
	bodyTimeout = 30 * time.Second
)

// Handler serves the control plane.
type Handler struct {
	opts Options
	auth *access.Authenticator
	log  *slog.Logger
	mux  *http.ServeMux
}

// New returns the control-plane handler.
func New(opts Options) *Handler {
	h := &Handler{opts: opts, log: opts.Logger, mux: http.NewServeMux()}
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
	w, r, bodyDone := httpbody.Track(w, r, bodyTimeout)
	defer bodyDone()
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
				h.denied(r, nil, ae.Code)
				w.Header().Set("Www-Authenticate", `Bearer realm="modelgate-admin"`)
				writeError(w, http.StatusUnauthorized, "authentication_error", ae.Code, ae.Message)
				return
			}
			h.log.Error("admin authentication failed", "err", err)
			writeError(w, http.StatusServiceUnavailable, "server_error", "store_unavailable", "cannot check credentials right now")
			return
		}
		if !p.Scopes.Has(access.ScopeAdmin) {
			h.denied(r, p, "insufficient_scope")
			writeError(w, http.StatusForbidden, "permission_error", "insufficient_scope", p.String()+" lacks the admin scope")
			return
		}
		fn(w, r, p)
	})
}

// ActorOf describes who makes a request, for the record of a change:
// the principal, the client's address and user agent. The admin API and
// the web console both record their changes with it.
func ActorOf(r *http.Request, p *access.Principal) Change {
	c := Change{IP: r.RemoteAddr, UserAgent: r.UserAgent()}
	if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		c.IP = host
	}
	if p != nil {
		c.Actor = p.String()
	}
	return c
}

// keysAs is the key manager acting for a principal.
func (h *Handler) keysAs(r *http.Request, p *access.Principal) Local {
	return Local{Store: h.opts.Store, Recorder: h.opts.Recorder, Actor: ActorOf(r, p)}
}

// apply records a change, then makes it.
func (h *Handler) apply(r *http.Request, p *access.Principal, action, target string, details map[string]string, fn func() error) error {
	c := ActorOf(r, p)
	c.Action, c.Target, c.Details = action, target, details
	h.log.Info("admin change", "actor", c.Actor, "action", action, "target", target)
	return recordThenApply(r.Context(), h.opts.Recorder, c, fn)
}

// denied records a refused admin request.
func (h *Handler) denied(r *http.Request, p *access.Principal, reason string) {
	if h.opts.Recorder == nil {
		return
	}
	c := ActorOf(r, p)
	c.Action, c.Target, c.Outcome, c.Reason = ActionDenied, r.Method+" "+r.URL.Path, ChangeDenied, reason
	if err := h.opts.Recorder.RecordChange(r.Context(), c); err != nil {
		h.log.Error("audit log: refused admin request not recorded", "err", err)
	}
}

// decode reads a JSON body strictly: unknown fields and duplicate keys are
// errors, so a misspelt field never silently means its default.
func decode(w http.ResponseWriter, r *http.Request, v any) bool {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	var mbe *http.MaxBytesError
	var ne net.Error
	switch {
	case errors.As(err, &mbe):
		writeError(w, http.StatusRequestEntityTooLarge, "invalid_request_error", "request_too_large",
			fmt.Sprintf("the request body exceeds the limit of %d bytes", maxBody))
		return false
	case errors.As(err, &ne) && ne.Timeout():
		writeError(w, http.StatusRequestTimeout, "invalid_request_error", "body_timeout",
			fmt.Sprintf("the request body did not arrive within %s", bodyTimeout))
		return false
	case err != nil:
		writeError(w, http.StatusBadRequest, "invalid_request_error", "body_unreadable", "cannot read the request body: "+err.Error())
		return false
	}
	if len(body) == 0 {
		body = []byte("{}")
	}
	if err := json.Unmarshal(body, v, json.RejectUnknownMembers(true)); err != nil {
		p := jsonerr.Describe(err)
		writeError(w, http.StatusBadRequest, "invalid_request_error", p.Code, p.Message)
		return false
	}
	return true
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
	case errors.Is(err, ErrNotRecorded):
		h.log.Error("admin change refused: audit log unavailable", "err", err)
		writeError(w, http.StatusServiceUnavailable, "server_error", "audit_unavailable", err.Error())
	default:
		h.log.Error("admin store error", "err", err)
		writeError(w, http.StatusInternalServerError, "server_error", "internal", "the store failed; see the gateway log")
	}
}
