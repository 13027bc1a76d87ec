package access

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/modelgate/modelgate/store"
)

// AuthError is an authentication failure. Code is stable and machine
// readable; Message is safe to show the caller (it never echoes a secret).
type AuthError struct {
	Code    string
	Message string
}

func (e *AuthError) Error() string { return e.Message }

// Authentication failure codes.
const (
	CodeMissingKey    = "missing_api_key"
	CodeInvalidKey    = "invalid_api_key"
	CodeExpiredKey    = "expired_api_key"
	CodeRevokedKey    = "revoked_api_key"
	CodeAmbiguousKey  = "ambiguous_credentials"
	CodeUnknownClient = "unknown_client_certificate"
)

func authErr(code, format string, args ...any) *AuthError {
	return &AuthError{Code: code, Message: fmt.Sprintf(format, args...)}
}

// KeySource finds keys for an Authenticator: a *KeyCache, or DirectKeys
// for callers that must see every change at once without tracking the
// store's generation.
type KeySource interface {
	lookupKey(ctx context.Context, id string) (*keyState, error)
}

// DirectKeys reads every key from the store, uncached.
func DirectKeys(keys store.KeyStore) KeySource { return directKeys{keys} }

type directKeys struct{ keys store.KeyStore }

func (d directKeys) lookupKey(ctx context.Context, id string) (*keyState, error) {
	k, err := d.keys.GetKey(ctx, id)
	if err != nil {
		return nil, err
	}
	p, err := principalFromKey(k)
	if err != nil {
		return nil, err
	}
	return &keyState{principal: p, key: k}, nil
}

// Authenticator turns a request's credentials into a Principal.
type Authenticator struct {
	Keys  KeySource
	Certs *CertMapper      // nil: client certificates are not accepted
	Now   func() time.Time // nil: time.Now
}

// Authenticate identifies the caller of r. An API key, when presented, is
// what counts; otherwise a verified client certificate is mapped to a
// configured identity. Any other outcome is an *AuthError or, when the key
// store cannot be read, a plain error: the caller must refuse the request
// either way.
func (a *Authenticator) Authenticate(ctx context.Context, r *http.Request) (*Principal, error) {
	key, err := presentedKey(r.Header)
	if err != nil {
		return nil, err
	}
	if key != "" {
		return a.authenticateKey(ctx, key)
	}
	if a.Certs != nil && r.TLS != nil && len(r.TLS.VerifiedChains) > 0 {
		return a.Certs.Map(r.TLS.VerifiedChains[0][0])
	}
	return nil, authErr(CodeMissingKey, "missing API key: send it as 'Authorization: Bearer <key>' or 'x-api-key: <key>'")
}

// presentedKey reads the API key from Authorization: Bearer or x-api-key.
// Two different keys, or a header sent twice, are refused: the gateway must
// never pick one credential while something downstream picks another.
func presentedKey(h http.Header) (string, error) {
	auth, xkey := h.Values("Authorization"), h.Values("X-Api-Key")
	if len(auth) > 1 || len(xkey) > 1 {
		return "", authErr(CodeAmbiguousKey, "more than one credential header was sent")
	}
	var bearer string
	if len(auth) == 1 {
		fields := strings.Fields(auth[0])
		switch {
		case len(fields) == 0:
		case !strings.EqualFold(fields[0], "Bearer") || len(fields) > 2:
			return "", authErr(CodeInvalidKey, "the Authorization header must be 'Bearer <key>'")
		case len(fields) == 2:
			bearer = fields[1]
		}
	}
	var x string
	if len(xkey) == 1 {
		x = strings.TrimSpace(xkey[0])
	}
	if bearer != "" && x != "" && bearer != x {
		return "", authErr(CodeAmbiguousKey, "the Authorization and x-api-key headers carry different keys")
	}
	if bearer != "" {
		return bearer, nil
	}
	return x, nil
}

func (a *Authenticator) authenticateKey(ctx context.Context, key string) (*Principal, error) {
	id, secret, err := ParseKey(key)
	if err != nil {
		return nil, authErr(CodeInvalidKey, "invalid API key")
	}
	st, err := a.Keys.lookupKey(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, authErr(CodeInvalidKey, "invalid API key")
	}
	if err != nil {
		return nil, fmt.Errorf("look up key %s: %w", id, err)
	}
	now := time.Now()
	if a.Now != nil {
		now = a.Now()
	}
	// The secret is checked before revocation or expiry, so that only the
	// holder of a key learns its state.
	if !st.valid(secret, now) {
		return nil, authErr(CodeInvalidKey, "invalid API key")
	}
	if st.key.Revoked() {
		return nil, authErr(CodeRevokedKey, "API key %s has been revoked", id)
	}
	if st.key.Expired(now) {
		return nil, authErr(CodeExpiredKey, "API key %s expired at %s", id, st.key.ExpiresAt.Format(time.RFC3339))
	}
	return st.principal, nil
}

// CertIdentity maps client certificates to a principal. A certificate
// matches by its SPIFFE ID (an exact URI, or a prefix ending in "/*") or,
// when SPIFFEID is empty, by its subject common name.
type CertIdentity struct {
	Name       string
	SPIFFEID   string
	CommonName string
	Scopes     []string
	Models     []string
	Limits     Limits
}

// CertMapper maps verified client certificates to principals.
type CertMapper struct {
	rules []certRule
}

type certRule struct {
	spiffe    string
	prefix    bool
	cn        string
	principal *Principal
}

// NewCertMapper validates identities and builds a mapper.
func NewCertMapper(ids []CertIdentity) (*CertMapper, error) {
	m := &CertMapper{}
	for i, id := range ids {
		if id.Name == "" {
			return nil, fmt.Errorf("identity %d: name is required", i)
		}
		if (id.SPIFFEID == "") == (id.CommonName == "") {
			return nil, fmt.Errorf("identity %q: set exactly one of spiffe_id and common_name", id.Name)
		}
		p, err := NewPrincipal(KindMTLS, id.Name, id.Name, id.Scopes, id.Models, id.Limits)
		if err != nil {
			return nil, fmt.Errorf("identity %q: %w", id.Name, err)
		}
		r := certRule{cn: id.CommonName, principal: p}
		if id.SPIFFEID != "" {
			if !strings.HasPrefix(id.SPIFFEID, "spiffe://") {
				return nil, fmt.Errorf("identity %q: spiffe_id must start with spiffe://", id.Name)
			}
			r.spiffe, r.prefix = strings.CutSuffix(id.SPIFFEID, "*")
			if r.prefix && !strings.HasSuffix(r.spiffe, "/") {
				return nil, fmt.Errorf("identity %q: a wildcard spiffe_id must end in \"/*\"", id.Name)
			}
		}
		m.rules = append(m.rules, r)
	}
	return m, nil
}

// Map returns the principal for a verified leaf certificate. A certificate
// carrying a SPIFFE ID is matched only by SPIFFE rules: its common name is
// not a fallback an attacker could steer.
func (m *CertMapper) Map(cert *x509.Certificate) (*Principal, error) {
	spiffe, err := spiffeID(cert)
	if err != nil {
		return nil, err
	}
	for _, r := range m.rules {
		switch {
		case spiffe != "" && r.spiffe != "":
			if r.prefix && len(spiffe) > len(r.spiffe) && strings.HasPrefix(spiffe, r.spiffe) ||
				!r.prefix && spiffe == r.spiffe {
				return r.principal, nil
			}
		case spiffe == "" && r.cn != "":
			if cert.Subject.CommonName == r.cn {
				return r.principal, nil
			}
		}
	}
	who := "CN=" + cert.Subject.CommonName
	if spiffe != "" {
		who = spiffe
	}
	return nil, authErr(CodeUnknownClient, "client certificate %s is not mapped to an identity", who)
}

// spiffeID returns the certificate's SPIFFE ID, or "" if it has none. An
// SVID carries exactly one; more than one is refused.
func spiffeID(cert *x509.Certificate) (string, error) {
	var id string
	for _, u := range cert.URIs {
		if u.Scheme != "spiffe" {
			continue
		}
		if id != "" {
			return "", authErr(CodeUnknownClient, "client certificate has more than one SPIFFE ID")
		}
		id = u.String()
	}
	return id, nil
}
