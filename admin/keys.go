package admin

import (
	"context"
	"fmt"
	"net/http"
	"strings"
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

// Keys manages API keys. Local works on a store directly (the CLI with a
// data directory, and the admin API itself); Client goes through a running
// gateway's admin API.
type Keys interface {
	CreateKey(ctx context.Context, req NewKeyRequest) (*KeyWithSecret, error)
	ListKeys(ctx context.Context) ([]KeyView, error)
	GetKey(ctx context.Context, id string) (*KeyView, error)
	RevokeKey(ctx context.Context, id string) (*KeyView, error)
	RotateKey(ctx context.Context, id string, req RotateRequest) (*KeyWithSecret, error)
}

var (
	_ Keys = Local{}
	_ Keys = (*Client)(nil)
)

// Local manages keys in a store. With a Recorder, every change is recorded,
// attributed to Actor, before it is made.
type Local struct {
	Store    store.KeyStore
	Recorder ChangeRecorder
	Actor    Change // who acts: Actor, IP, UserAgent
}

func (l Local) change(action, target string, details map[string]string) Change {
	c := l.Actor
	c.Action, c.Target, c.Details = action, target, details
	return c
}

// CreateKey implements Keys.
func (l Local) CreateKey(ctx context.Context, req NewKeyRequest) (*KeyWithSecret, error) {
	spec := access.KeySpec{Name: req.Name, Scopes: req.Scopes, Models: req.Models,
		Limits: access.Limits{RPM: req.RPM, TPM: req.TPM, Burst: req.Burst, MaxConcurrent: req.MaxConcurrent}}
	if req.ExpiresIn != "" {
		d, err := access.ParseTTL(req.ExpiresIn)
		if err != nil {
			return nil, fmt.Errorf("%w: expires_in: %v", access.ErrInvalidSpec, err)
		}
		spec.ExpiresIn = d
	}
	now := time.Now()
	k, secret, err := access.PrepareKey(spec, now)
	if err != nil {
		return nil, err
	}
	details := map[string]string{"name": k.Name, "scopes": strings.Join(k.Scopes, ","), "models": strings.Join(k.Models, ",")}
	if !k.ExpiresAt.IsZero() {
		details["expires_at"] = k.ExpiresAt.Format(time.RFC3339)
	}
	err = recordThenApply(ctx, l.Recorder, l.change(ActionKeyCreate, k.ID, details), func() error {
		return l.Store.CreateKey(ctx, k)
	})
	if err != nil {
		return nil, err
	}
	return &KeyWithSecret{Key: ViewKey(k, now), Secret: secret}, nil
}

// ListKeys implements Keys.
func (l Local) ListKeys(ctx context.Context) ([]KeyView, error) {
	keys, err := l.Store.ListKeys(ctx)
	if err != nil {
		return nil, err
	}
	now := time.Now()
	out := make([]KeyView, 0, len(keys))
	for _, k := range keys {
		out = append(out, ViewKey(k, now))
	}
	return out, nil
}

// GetKey implements Keys.
func (l Local) GetKey(ctx context.Context, id string) (*KeyView, error) {
	k, err := l.Store.GetKey(ctx, id)
	if err != nil {
		return nil, err
	}
	v := ViewKey(k, time.Now())
	return &v, nil
}

// RevokeKey implements Keys.
func (l Local) RevokeKey(ctx context.Context, id string) (*KeyView, error) {
	if _, err := l.Store.GetKey(ctx, id); err != nil {
		return nil, err
	}
	var k *store.Key
	err := recordThenApply(ctx, l.Recorder, l.change(ActionKeyRevoke, id, nil), func() (err error) {
		k, err = l.Store.RevokeKey(ctx, id, time.Now())
		return err
	})
	if err != nil {
		return nil, err
	}
	v := ViewKey(k, time.Now())
	return &v, nil
}

// RotateKey implements Keys.
func (l Local) RotateKey(ctx context.Context, id string, req RotateRequest) (*KeyWithSecret, error) {
	var grace time.Duration
	if req.Grace != "" {
		d, err := access.ParseTTL(req.Grace)
		if err != nil {
			return nil, fmt.Errorf("%w: grace: %v", access.ErrInvalidSpec, err)
		}
		grace = d
	}
	now := time.Now()
	current, err := l.Store.GetKey(ctx, id)
	if err != nil {
		return nil, err
	}
	if current.Revoked() {
		return nil, fmt.Errorf("key %q is revoked and cannot be rotated: %w", id, store.ErrConflict)
	}
	var (
		k      *store.Key
		secret string
	)
	details := map[string]string{}
	if grace > 0 {
		details["grace"] = grace.String()
	}
	err = recordThenApply(ctx, l.Recorder, l.change(ActionKeyRotate, id, details), func() (err error) {
		k, secret, err = access.RotateKey(ctx, l.Store, id, grace, now)
		return err
	})
	if err != nil {
		return nil, err
	}
	return &KeyWithSecret{Key: ViewKey(k, now), Secret: secret}, nil
}

func (h *Handler) listKeys(w http.ResponseWriter, r *http.Request, _ *access.Principal) {
	keys, err := Local{Store: h.opts.Store}.ListKeys(r.Context())
	if err != nil {
		h.storeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"keys": keys})
}

func (h *Handler) createKey(w http.ResponseWriter, r *http.Request, p *access.Principal) {
	var req NewKeyRequest
	if !decode(w, r, &req) {
		return
	}
	k, err := h.keysAs(r, p).CreateKey(r.Context(), req)
	if err != nil {
		h.storeError(w, err)
		return
	}
	writeJSON(w, http.StatusCreated, k)
}

func (h *Handler) getKey(w http.ResponseWriter, r *http.Request, _ *access.Principal) {
	k, err := Local{Store: h.opts.Store}.GetKey(r.Context(), r.PathValue("id"))
	if err != nil {
		h.storeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, k)
}

func (h *Handler) revokeKey(w http.ResponseWriter, r *http.Request, p *access.Principal) {
	k, err := h.keysAs(r, p).RevokeKey(r.Context(), r.PathValue("id"))
	if err != nil {
		h.storeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, k)
}

func (h *Handler) rotateKey(w http.ResponseWriter, r *http.Request, p *access.Principal) {
	var req RotateRequest
	if !decode(w, r, &req) {
		return
	}
	k, err := h.keysAs(r, p).RotateKey(r.Context(), r.PathValue("id"), req)
	if err != nil {
		h.storeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, k)
}
