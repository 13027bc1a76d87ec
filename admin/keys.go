package admin

import (
	"net/http"
	"time"

	"github.com/modelgate/modelgate/access"
	"github.com/modelgate/modelgate/store"
)

// KeyView is a key as the API shows it: never its hash.
type KeyView struct {
	ID            string    `json:"id"`
	Name          string    `json:"name"`
	Status        string    `json:"status"`
	Scopes        []string  `json:"scopes"`
	Models        []string  `json:"models"`
	RPM           int64     `json:"rpm,omitempty"`
	TPM           int64     `json:"tpm,omitempty"`
	Burst         int64     `json:"burst,omitempty"`
	MaxConcurrent int64     `json:"max_concurrent,omitempty"`
	CreatedAt     time.Time `json:"created_at"`
	ExpiresAt     time.Time `json:"expires_at,omitzero"`
	RevokedAt     time.Time `json:"revoked_at,omitzero"`
	RotatedAt     time.Time `json:"rotated_at,omitzero"`
	// PreviousSecretValidUntil is set while a rotated-out secret still works.
	PreviousSecretValidUntil time.Time `json:"previous_secret_valid_until,omitzero"`
}

// ViewKey converts a stored key for display.
func ViewKey(k *store.Key, now time.Time) KeyView {
	v := KeyView{ID: k.ID, Name: k.Name, Status: access.KeyStatus(k, now), Scopes: k.Scopes, Models: k.Models,
		RPM: k.RPM, TPM: k.TPM, Burst: k.Burst, MaxConcurrent: k.MaxConcurrent,
		CreatedAt: k.CreatedAt, ExpiresAt: k.ExpiresAt, RevokedAt: k.RevokedAt, RotatedAt: k.RotatedAt}
	if now.Before(k.PrevValidUntil) {
		v.PreviousSecretValidUntil = k.PrevValidUntil
	}
	return v
}

// NewKeyRequest is the body of POST /admin/v1/keys.
type NewKeyRequest struct {
	Name          string   `json:"name"`
	Scopes        []string `json:"scopes"`
	Models        []string `json:"models"`
	RPM           int64    `json:"rpm,omitempty"`
	TPM           int64    `json:"tpm,omitempty"`
	Burst         int64    `json:"burst,omitempty"`
	MaxConcurrent int64    `json:"max_concurrent,omitempty"`
	ExpiresIn     string   `json:"expires_in,omitempty"` // "30d", "12h"
}

// KeyWithSecret is returned when a key is created or rotated: the only
// time its secret is shown.
type KeyWithSecret struct {
	Key    KeyView `json:"key"`
	Secret string  `json:"secret"`
}

// RotateRequest is the body of POST /admin/v1/keys/{id}/rotate.
type RotateRequest struct {
	Grace string `json:"grace,omitempty"` // how long the old secret keeps working, e.g. "1h"
}

func (h *Handler) listKeys(w http.ResponseWriter, r *http.Request, _ *access.Principal) {
	keys, err := h.opts.Store.ListKeys(r.Context())
	if err != nil {
		h.storeError(w, err)
		return
	}
	now := time.Now()
	out := make([]KeyView, 0, len(keys))
	for _, k := range keys {
		out = append(out, ViewKey(k, now))
	}
	writeJSON(w, http.StatusOK, map[string]any{"keys": out})
}

func (h *Handler) createKey(w http.ResponseWriter, r *http.Request, p *access.Principal) {
	var req NewKeyRequest
	if !decode(w, r, &req) {
		return
	}
	spec := access.KeySpec{Name: req.Name, Scopes: req.Scopes, Models: req.Models,
		Limits: access.Limits{RPM: req.RPM, TPM: req.TPM, Burst: req.Burst, MaxConcurrent: req.MaxConcurrent}}
	if req.ExpiresIn != "" {
		d, err := access.ParseTTL(req.ExpiresIn)
		if err != nil {
			writeError(w, http.StatusBadRequest, "invalid_request_error", "invalid_field", "expires_in: "+err.Error())
			return
		}
		spec.ExpiresIn = d
	}
	now := time.Now()
	k, secret, err := access.CreateKey(r.Context(), h.opts.Store, spec, now)
	if err != nil {
		h.storeError(w, err)
		return
	}
	h.changed(r, p, "key.create", k.ID)
	writeJSON(w, http.StatusCreated, KeyWithSecret{Key: ViewKey(k, now), Secret: secret})
}

func (h *Handler) getKey(w http.ResponseWriter, r *http.Request, _ *access.Principal) {
	k, err := h.opts.Store.GetKey(r.Context(), r.PathValue("id"))
	if err != nil {
		h.storeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, ViewKey(k, time.Now()))
}

func (h *Handler) revokeKey(w http.ResponseWriter, r *http.Request, p *access.Principal) {
	k, err := h.opts.Store.RevokeKey(r.Context(), r.PathValue("id"), time.Now())
	if err != nil {
		h.storeError(w, err)
		return
	}
	h.changed(r, p, "key.revoke", k.ID)
	writeJSON(w, http.StatusOK, ViewKey(k, time.Now()))
}

func (h *Handler) rotateKey(w http.ResponseWriter, r *http.Request, p *access.Principal) {
	var req RotateRequest
	if !decode(w, r, &req) {
		return
	}
	var grace time.Duration
	if req.Grace != "" {
		d, err := access.ParseTTL(req.Grace)
		if err != nil {
			writeError(w, http.StatusBadRequest, "invalid_request_error", "invalid_field", "grace: "+err.Error())
			return
		}
		grace = d
	}
	now := time.Now()
	k, secret, err := access.RotateKey(r.Context(), h.opts.Store, r.PathValue("id"), grace, now)
	if err != nil {
		h.storeError(w, err)
		return
	}
	h.changed(r, p, "key.rotate", k.ID)
	writeJSON(w, http.StatusOK, KeyWithSecret{Key: ViewKey(k, now), Secret: secret})
}
