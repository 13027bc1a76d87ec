package admin

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	"github.com/modelgate/modelgate/access"
	"github.com/modelgate/modelgate/store"
)

// IPRuleRequest is the body of POST /admin/v1/ipblocks.
type IPRuleRequest struct {
	CIDR    string `json:"cidr"`
	Action  string `json:"action"` // allow | deny
	KeyID   string `json:"key_id,omitempty"`
	Comment string `json:"comment,omitempty"`
}

func (h *Handler) listIPRules(w http.ResponseWriter, r *http.Request, _ *access.Principal) {
	rules, err := h.opts.Store.ListIPRules(r.Context())
	if err != nil {
		h.storeError(w, err)
		return
	}
	if rules == nil {
		rules = []*store.IPRule{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"ipblocks": rules})
}

func (h *Handler) createIPRule(w http.ResponseWriter, r *http.Request, p *access.Principal) {
	var req IPRuleRequest
	if !decode(w, r, &req) {
		return
	}
	rule, err := NewIPRule(r.Context(), h.opts.Store, req)
	if err != nil {
		writeError(w, http.StatusBadRequest, "invalid_request_error", "invalid_field", err.Error())
		return
	}
	details := map[string]string{"cidr": rule.CIDR, "action": rule.Action}
	if rule.KeyID != "" {
		details["key_id"] = rule.KeyID
	}
	if err := h.apply(r, p, ActionIPCreate, rule.ID, details, func() error { return h.opts.Store.CreateIPRule(r.Context(), rule) }); err != nil {
		h.storeError(w, err)
		return
	}
	writeJSON(w, http.StatusCreated, rule)
}

func (h *Handler) deleteIPRule(w http.ResponseWriter, r *http.Request, p *access.Principal) {
	id := r.PathValue("id")
	if err := h.apply(r, p, ActionIPDelete, id, nil, func() error { return h.opts.Store.DeleteIPRule(r.Context(), id) }); err != nil {
		h.storeError(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// NewIPRule validates a rule request. A rule for a key must name a key
// that exists, so a typo cannot leave a key unrestricted.
func NewIPRule(ctx context.Context, keys store.KeyStore, req IPRuleRequest) (*store.IPRule, error) {
	prefix, err := access.ParseCIDR(strings.TrimSpace(req.CIDR))
	if err != nil {
		return nil, err
	}
	if req.Action != store.IPAllow && req.Action != store.IPDeny {
		return nil, fmt.Errorf("action must be allow or deny, got %q", req.Action)
	}
	if req.KeyID != "" {
		if _, err := keys.GetKey(ctx, req.KeyID); err != nil {
			return nil, fmt.Errorf("key_id %q: %w", req.KeyID, err)
		}
	}
	rule := &store.IPRule{CIDR: prefix.String(), Action: req.Action, KeyID: req.KeyID, Comment: req.Comment}
	store.FillIPRule(rule)
	return rule, nil
}
