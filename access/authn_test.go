package access

import (
	"context"
	"crypto/tls"
	"errors"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/modelgate/modelgate/internal/testpki"
	"github.com/modelgate/modelgate/store"
	"github.com/modelgate/modelgate/store/sqlite"
)

func newStore(t *testing.T) store.Store {
	t.Helper()
	s, err := sqlite.OpenDir(context.Background(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func createKey(t *testing.T, s store.Store, mutate func(*store.Key)) (string, *store.Key) {
	t.Helper()
	id, key, hash := NewKey()
	k := &store.Key{ID: id, Name: "test", SecretHash: hash, Scopes: []string{"inference:invoke"},
		Models: []string{"m1"}, CreatedAt: time.Now()}
	if mutate != nil {
		mutate(k)
	}
	if err := s.CreateKey(context.Background(), k); err != nil {
		t.Fatal(err)
	}
	return key, k
}

func request(headers ...string) *http.Request {
	r, _ := http.NewRequest("POST", "http://gw/v1/chat/completions", nil)
	for i := 0; i < len(headers); i += 2 {
		r.Header.Add(headers[i], headers[i+1])
	}
	return r
}

func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	var ae *AuthError
	if !errors.As(err, &ae) || ae.Code != code {
		t.Fatalf("want AuthError %s, got %v", code, err)
	}
}

func TestAuthenticateKey(t *testing.T) {
	s := newStore(t)
	key, k := createKey(t, s, nil)
	a := &Authenticator{Keys: NewKeyCache(s)}
	ctx := context.Background()

	for _, r := range []*http.Request{
		request("Authorization", "Bearer "+key),
		request("Authorization", "bearer  "+key+" "),
		request("X-Api-Key", key),
		request("Authorization", "Bearer "+key, "X-Api-Key", key), // the same key twice is fine
	} {
		p, err := a.Authenticate(ctx, r)
		if err != nil {
			t.Fatalf("headers %v: %v", r.Header, err)
		}
		if p.ID != k.ID || p.Kind != KindAPIKey || !p.Scopes.Has(ScopeInvoke) || !p.MayUse("m1") || p.MayUse("m2") {
			t.Fatalf("principal %+v", p)
		}
	}
}

func TestAuthenticateRefusals(t *testing.T) {
	s := newStore(t)
	key, _ := createKey(t, s, nil)
	other, _ := createKey(t, s, nil)
	id, _, _ := ParseKey(key)
	unknown := KeyPrefix + NewKeyID() + key[len(KeyPrefix)+idLen:]
	wrongSecret := key[:len(key)-4] + "aaaa"
	if wrongSecret == key {
		wrongSecret = key[:len(key)-4] + "bbbb"
	}
	a := &Authenticator{Keys: NewKeyCache(s)}
	tests := []struct {
		name string
		r    *http.Request
		code string
	}{
		{"no credentials", request(), CodeMissingKey},
		{"empty bearer", request("Authorization", "Bearer "), CodeMissingKey},
		{"basic scheme", request("Authorization", "Basic "+key), CodeInvalidKey},
		{"no scheme", request("Authorization", key), CodeInvalidKey},
		{"malformed", request("Authorization", "Bearer sk-123"), CodeInvalidKey},
		{"unknown id", request("Authorization", "Bearer "+unknown), CodeInvalidKey},
		{"wrong secret", request("Authorization", "Bearer "+wrongSecret), CodeInvalidKey},
		{"id only", request("Authorization", "Bearer "+id), CodeInvalidKey},
		{"two different keys", request("Authorization", "Bearer "+key, "X-Api-Key", other), CodeAmbiguousKey},
		{"header twice", request("Authorization", "Bearer "+key, "Authorization", "Bearer "+other), CodeAmbiguousKey},
		{"x-api-key twice", request("X-Api-Key", key, "X-Api-Key", key), CodeAmbiguousKey},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := a.Authenticate(context.Background(), tc.r)
			wantCode(t, err, tc.code)
		})
	}
}

func TestRevokedAndExpired(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	now := time.Now()
	key, k := createKey(t, s, func(k *store.Key) { k.ExpiresAt = now.Add(time.Hour) })
	cache := NewKeyCache(s)
	a := &Authenticator{Keys: cache, Now: func() time.Time { return now }}
	if _, err := a.Authenticate(ctx, request("X-Api-Key", key)); err != nil {
		t.Fatal(err)
	}
	a.Now = func() time.Time { return now.Add(time.Hour) }
	_, err := a.Authenticate(ctx, request("X-Api-Key", key))
	wantCode(t, err, CodeExpiredKey)

	a.Now = nil
	if _, err := s.RevokeKey(ctx, k.ID, now); err != nil {
		t.Fatal(err)
	}
	cache.Reset() // what the gateway does when the generation moves
	_, err = a.Authenticate(ctx, request("X-Api-Key", key))
	wantCode(t, err, CodeRevokedKey)
}

func TestRotationGrace(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	now := time.Now()
	oldKey, k := createKey(t, s, nil)
	newKey, newHash := NewSecret(k.ID)
	if _, err := s.RotateKey(ctx, k.ID, newHash, now, now.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	a := &Authenticator{Keys: NewKeyCache(s), Now: func() time.Time { return now }}
	for _, key := range []string{oldKey, newKey} {
		if _, err := a.Authenticate(ctx, request("X-Api-Key", key)); err != nil {
			t.Fatalf("within the grace period: %v", err)
		}
	}
	a.Now = func() time.Time { return now.Add(time.Minute) }
	_, err := a.Authenticate(ctx, request("X-Api-Key", oldKey))
	wantCode(t, err, CodeInvalidKey)
	if _, err := a.Authenticate(ctx, request("X-Api-Key", newKey)); err != nil {
		t.Fatal(err)
	}
}

// slowKeys lets a test revoke a key while a lookup is between reading the
// store and filling the cache.
type slowKeys struct {
	store.KeyStore
	read, resume chan struct{}
	once         sync.Once
}

func (s *slowKeys) GetKey(ctx context.Context, id string) (*store.Key, error) {
	k, err := s.KeyStore.GetKey(ctx, id)
	s.once.Do(func() { // only the first lookup pauses
		s.read <- struct{}{}
		<-s.resume
	})
	return k, err
}

func TestResetDuringLookupIsNotCached(t *testing.T) {
	s := newStore(t)
	key, k := createKey(t, s, nil)
	slow := &slowKeys{KeyStore: s, read: make(chan struct{}), resume: make(chan struct{})}
	cache := NewKeyCache(slow)
	a := &Authenticator{Keys: cache}
	ctx := context.Background()

	done := make(chan error)
	go func() {
		_, err := a.Authenticate(ctx, request("X-Api-Key", key))
		done <- err
	}()
	<-slow.read // the lookup has read the still-valid key
	if _, err := s.RevokeKey(ctx, k.ID, time.Now()); err != nil {
		t.Fatal(err)
	}
	cache.Reset()
	close(slow.resume)
	if err := <-done; err != nil {
		t.Fatalf("the request in flight: %v", err) // it read before the revocation
	}
	// The next request must not be served from what the first one read.
	go func() {
		_, err := a.Authenticate(ctx, request("X-Api-Key", key))
		done <- err
	}()
	wantCode(t, <-done, CodeRevokedKey)
}

func TestNegativeCacheIsBounded(t *testing.T) {
	s := newStore(t)
	cache := NewKeyCache(s)
	for range 10 {
		if _, err := cache.lookupKey(context.Background(), NewKeyID()); !errors.Is(err, store.ErrNotFound) {
			t.Fatal(err)
		}
	}
	cache.mu.RLock()
	n := len(cache.m)
	cache.mu.RUnlock()
	if n != 10 || n > maxCachedKeys {
		t.Fatalf("cache holds %d entries", n)
	}
}

func TestCertMapper(t *testing.T) {
	ca := testpki.NewCA(t, "test-ca")
	m, err := NewCertMapper([]CertIdentity{
		{Name: "payments", SPIFFEID: "spiffe://example.org/ns/prod/sa/payments", Scopes: []string{"inference:invoke"}, Models: []string{"*"}},
		{Name: "batch", SPIFFEID: "spiffe://example.org/ns/batch/*", Scopes: []string{"inference:invoke"}, Models: []string{"m1"}},
		{Name: "legacy", CommonName: "legacy-client", Scopes: []string{"models:read"}},
		{Name: "cn-payments", CommonName: "payments", Scopes: []string{"admin"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	leaf := func(c tls.Certificate) *tls.Certificate { return &c }
	tests := []struct {
		name string
		cert *tls.Certificate
		want string // principal id, or "" for refusal
	}{
		{"exact spiffe", leaf(ca.Client("whatever", "spiffe://example.org/ns/prod/sa/payments")), "payments"},
		{"wildcard spiffe", leaf(ca.Client("", "spiffe://example.org/ns/batch/sa/etl")), "batch"},
		{"wildcard needs a suffix", leaf(ca.Client("", "spiffe://example.org/ns/batch/")), ""},
		{"spiffe prefix is not a path prefix", leaf(ca.Client("", "spiffe://example.org/ns/batchx/sa/a")), ""},
		{"common name", leaf(ca.Client("legacy-client")), "legacy"},
		{"unknown cn", leaf(ca.Client("stranger")), ""},
		// An unmapped SPIFFE ID must not fall back to a CN that happens to
		// match a more privileged identity.
		{"spiffe present, cn not a fallback", leaf(ca.Client("payments", "spiffe://evil.example/x")), ""},
		{"two spiffe ids", leaf(ca.Client("", "spiffe://example.org/ns/prod/sa/payments", "spiffe://example.org/ns/batch/sa/x")), ""},
		{"non-spiffe uri is ignored", leaf(ca.Client("legacy-client", "https://example.org/x")), "legacy"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, err := m.Map(tc.cert.Leaf)
			if tc.want == "" {
				wantCode(t, err, CodeUnknownClient)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if p.ID != tc.want || p.Kind != KindMTLS {
				t.Fatalf("mapped to %s, want %s", p, tc.want)
			}
		})
	}
}

func TestCertMapperRejectsBadConfig(t *testing.T) {
	for _, ids := range [][]CertIdentity{
		{{SPIFFEID: "spiffe://x/y"}},
		{{Name: "a"}},
		{{Name: "a", SPIFFEID: "spiffe://x/y", CommonName: "y"}},
		{{Name: "a", SPIFFEID: "https://x/y"}},
		{{Name: "a", SPIFFEID: "spiffe://x/y*"}},
		{{Name: "a", CommonName: "y", Scopes: []string{"root"}}},
	} {
		if _, err := NewCertMapper(ids); err == nil {
			t.Errorf("accepted %+v", ids)
		}
	}
}
