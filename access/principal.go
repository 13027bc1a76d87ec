package access

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/modelgate/modelgate/store"
)

// Principal kinds.
const (
	KindAPIKey = "api_key"
	KindMTLS   = "mtls"
)

// AllModels in a model allow-list allows every model.
const AllModels = "*"

// Limits are a principal's rate limits; zero means the configured default.
type Limits struct {
	RPM           int64 `yaml:"rpm" json:"rpm,omitempty"`
	TPM           int64 `yaml:"tpm" json:"tpm,omitempty"`
	Burst         int64 `yaml:"burst" json:"burst,omitempty"`
	MaxConcurrent int64 `yaml:"max_concurrent" json:"max_concurrent,omitempty"`
}

// Principal is an authenticated caller.
type Principal struct {
	Kind   string // KindAPIKey or KindMTLS
	ID     string // key id, or the configured name of a certificate identity
	Name   string // human-readable name
	Scopes ScopeSet
	Limits Limits

	models    []string
	allModels bool
}

// NewPrincipal builds a principal, validating its scopes and models.
func NewPrincipal(kind, id, name string, scopes, models []string, limits Limits) (*Principal, error) {
	set, err := ParseScopes(scopes)
	if err != nil {
		return nil, err
	}
	p := &Principal{Kind: kind, ID: id, Name: name, Scopes: set, Limits: limits}
	for _, m := range models {
		m = strings.TrimSpace(m)
		switch {
		case m == AllModels:
			p.allModels = true
		case m == "":
			return nil, fmt.Errorf("empty model name in allow-list")
		default:
			p.models = append(p.models, m)
		}
	}
	slices.Sort(p.models)
	return p, nil
}

// principalFromKey builds the principal a stored key stands for.
func principalFromKey(k *store.Key) (*Principal, error) {
	p, err := NewPrincipal(KindAPIKey, k.ID, k.Name, k.Scopes, k.Models,
		Limits{RPM: k.RPM, TPM: k.TPM, Burst: k.Burst, MaxConcurrent: k.MaxConcurrent})
	if err != nil {
		return nil, fmt.Errorf("stored key %s: %w", k.ID, err)
	}
	return p, nil
}

// MayUse reports whether the principal's allow-list includes a model.
func (p *Principal) MayUse(model string) bool {
	if p.allModels {
		return true
	}
	_, ok := slices.BinarySearch(p.models, model)
	return ok
}

// Models returns the allow-list, "*" included when every model is allowed.
func (p *Principal) Models() []string {
	if p.allModels {
		return append([]string{AllModels}, p.models...)
	}
	return slices.Clone(p.models)
}

// String names the principal for logs: kind and id, never a secret.
func (p *Principal) String() string { return p.Kind + ":" + p.ID }

// keyState is what the authenticator learns about a presented key.
type keyState struct {
	principal *Principal
	key       *store.Key
}

func (s *keyState) valid(secret string, now time.Time) bool {
	if secretMatches(secret, s.key.SecretHash) {
		return true
	}
	return !s.key.PrevValidUntil.IsZero() && now.Before(s.key.PrevValidUntil) &&
		secretMatches(secret, s.key.PrevSecretHash)
}
