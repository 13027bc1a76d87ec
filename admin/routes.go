package admin

import (
	"errors"
	"net/http"
	"time"

	"github.com/modelgate/modelgate/access"
	"github.com/modelgate/modelgate/gateway"
	"github.com/modelgate/modelgate/store"
)

// RouteRequest is the body of PUT /admin/v1/routes/{model}.
type RouteRequest struct {
	Protocol string         `json:"protocol"`
	Upstream store.Upstream `json:"upstream"`
	// Guards names the route's guard pipeline ("" for the default, "none").
	Guards string `json:"guards,omitempty"`
	// Outputs limits what a kserve_v2 route's answers reveal.
	Outputs *store.OutputControls `json:"outputs,omitempty"`
	// MaxBatch caps the inputs of one kserve_v2 request.
	MaxBatch int `json:"max_batch,omitempty"`
}

func (h *Handler) listRoutes(w http.ResponseWriter, r *http.Request, _ *access.Principal) {
	routes, err := h.opts.Store.ListRoutes(r.Context())
	if err != nil {
		h.storeError(w, err)
		return
	}
	if routes == nil {
		routes = []*store.Route{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"routes": routes})
}

func (h *Handler) getRoute(w http.ResponseWriter, r *http.Request, _ *access.Principal) {
	rt, err := h.opts.Store.GetRoute(r.Context(), r.PathValue("model"))
	if err != nil {
		h.storeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, rt)
}

// putRoute creates or replaces an API-managed route. Routes from the
// configuration file are the file's to change: the next start would undo
// an edit made here.
func (h *Handler) putRoute(w http.ResponseWriter, r *http.Request, p *access.Principal) {
	var req RouteRequest
	if !decode(w, r, &req) {
		return
	}
	model := r.PathValue("model")
	now := time.Now().UTC()
	rt := &store.Route{Model: model, Protocol: req.Protocol, Upstream: req.Upstream, Guards: req.Guards, Outputs: req.Outputs, MaxBatch: req.MaxBatch, Source: store.SourceAPI, CreatedAt: now, UpdatedAt: now}
	if err := gateway.ValidateRoute(rt); err != nil {
		writeError(w, http.StatusBadRequest, "invalid_request_error", "invalid_field", err.Error())
		return
	}
	existing, err := h.opts.Store.GetRoute(r.Context(), model)
	switch {
	case err == nil && existing.Source == store.SourceConfig:
		writeError(w, http.StatusConflict, "invalid_request_error", "managed_by_config",
			"route "+model+" comes from the configuration file; change it there")
		return
	case err != nil && !errors.Is(err, store.ErrNotFound):
		h.storeError(w, err)
		return
	}
	details := map[string]string{"protocol": rt.Protocol, "upstream_url": rt.Upstream.URL}
	if err := h.apply(r, p, ActionRouteUpdate, model, details, func() error { return h.opts.Store.PutRoute(r.Context(), rt) }); err != nil {
		h.storeError(w, err)
		return
	}
	status := http.StatusCreated
	if existing != nil {
		status = http.StatusOK
	}
	stored, err := h.opts.Store.GetRoute(r.Context(), model)
	if err != nil {
		h.storeError(w, err)
		return
	}
	writeJSON(w, status, stored)
}

func (h *Handler) deleteRoute(w http.ResponseWriter, r *http.Request, p *access.Principal) {
	model := r.PathValue("model")
	existing, err := h.opts.Store.GetRoute(r.Context(), model)
	if err != nil {
		h.storeError(w, err)
		return
	}
	if existing.Source == store.SourceConfig {
		writeError(w, http.StatusConflict, "invalid_request_error", "managed_by_config",
			"route "+model+" comes from the configuration file; remove it there")
		return
	}
	if err := h.apply(r, p, ActionRouteDelete, model, nil, func() error { return h.opts.Store.DeleteRoute(r.Context(), model) }); err != nil {
		h.storeError(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
