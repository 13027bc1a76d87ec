// Package storetest is the conformance suite for store.Store backends. A
// backend's tests call Run with a function that returns a fresh, empty store.
package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/modelgate/modelgate/store"
)

// Run runs every conformance test. open must return an empty store; Run
// closes it when each test ends.
func Run(t *testing.T, open func(t *testing.T) store.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s store.Store)
	}{
		{"KeyRoundTrip", testKeyRoundTrip},
		{"KeyDuplicate", testKeyDuplicate},
		{"KeyNotFound", testKeyNotFound},
		{"KeyRevoke", testKeyRevoke},
		{"KeyRotate", testKeyRotate},
		{"KeyRotateRevoked", testKeyRotateRevoked},
		{"KeyRevokeRacesRotate", testKeyRevokeRacesRotate},
		{"Routes", testRoutes},
		{"ReplaceRoutes", testReplaceRoutes},
		{"IPRules", testIPRules},
		{"Generation", testGeneration},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := open(t)
			t.Cleanup(func() { s.Close() })
			tc.fn(t, s)
		})
	}
}

// ts returns a time that every backend stores exactly (microseconds, UTC).
func ts(sec int64) time.Time { return time.Unix(1_790_000_000+sec, 123_456_000).UTC() }

func sampleKey(id string) *store.Key {
	return &store.Key{
		ID:            id,
		Name:          "team " + id,
		SecretHash:    bytes.Repeat([]byte{0xab}, 32),
		Scopes:        []string{"inference:invoke", "models:read"},
		Models:        []string{"chat-small", "classifier"},
		RPM:           60,
		TPM:           10_000,
		Burst:         5,
		MaxConcurrent: 4,
		CreatedAt:     ts(0),
		ExpiresAt:     ts(3600),
	}
}

func testKeyRoundTrip(t *testing.T, s store.Store) {
	ctx := context.Background()
	want := sampleKey("k1")
	if err := s.CreateKey(ctx, want); err != nil {
		t.Fatal(err)
	}
	got, err := s.GetKey(ctx, "k1")
	if err != nil {
		t.Fatal(err)
	}
	assertKey(t, got, want)

	empty := &store.Key{ID: "k0", Name: "minimal", SecretHash: []byte{1}, CreatedAt: ts(-1)}
	if err := s.CreateKey(ctx, empty); err != nil {
		t.Fatal(err)
	}
	list, err := s.ListKeys(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 || list[0].ID != "k0" || list[1].ID != "k1" {
		t.Fatalf("ListKeys: want k0, k1 oldest first, got %v", keyIDs(list))
	}
	if len(list[0].Scopes) != 0 || !list[0].ExpiresAt.IsZero() || list[0].Revoked() {
		t.Errorf("minimal key came back as %+v", list[0])
	}
}

func testKeyDuplicate(t *testing.T, s store.Store) {
	ctx := context.Background()
	if err := s.CreateKey(ctx, sampleKey("dup")); err != nil {
		t.Fatal(err)
	}
	err := s.CreateKey(ctx, sampleKey("dup"))
	if !errors.Is(err, store.ErrConflict) {
		t.Fatalf("second CreateKey with the same id: want ErrConflict, got %v", err)
	}
}

func testKeyNotFound(t *testing.T, s store.Store) {
	ctx := context.Background()
	if _, err := s.GetKey(ctx, "nope"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("GetKey: want ErrNotFound, got %v", err)
	}
	if _, err := s.RevokeKey(ctx, "nope", ts(1)); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("RevokeKey: want ErrNotFound, got %v", err)
	}
	if _, err := s.RotateKey(ctx, "nope", []byte{1}, ts(1), time.Time{}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("RotateKey: want ErrNotFound, got %v", err)
	}
}

func testKeyRevoke(t *testing.T, s store.Store) {
	ctx := context.Background()
	if err := s.CreateKey(ctx, sampleKey("r")); err != nil {
		t.Fatal(err)
	}
	k, err := s.RevokeKey(ctx, "r", ts(10))
	if err != nil {
		t.Fatal(err)
	}
	if !k.RevokedAt.Equal(ts(10)) {
		t.Fatalf("RevokedAt = %v, want %v", k.RevokedAt, ts(10))
	}
	// A second revocation keeps the first time.
	k, err = s.RevokeKey(ctx, "r", ts(20))
	if err != nil {
		t.Fatal(err)
	}
	if !k.RevokedAt.Equal(ts(10)) {
		t.Fatalf("second revoke moved RevokedAt to %v", k.RevokedAt)
	}
}

func testKeyRotate(t *testing.T, s store.Store) {
	ctx := context.Background()
	old := sampleKey("rot")
	if err := s.CreateKey(ctx, old); err != nil {
		t.Fatal(err)
	}
	h1 := bytes.Repeat([]byte{1}, 32)
	k, err := s.RotateKey(ctx, "rot", h1, ts(5), ts(65))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(k.SecretHash, h1) || !bytes.Equal(k.PrevSecretHash, old.SecretHash) ||
		!k.PrevValidUntil.Equal(ts(65)) || !k.RotatedAt.Equal(ts(5)) {
		t.Fatalf("rotation with grace: got %+v", k)
	}
	// Without a grace period the old secret is dropped at once.
	h2 := bytes.Repeat([]byte{2}, 32)
	k, err = s.RotateKey(ctx, "rot", h2, ts(6), time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(k.SecretHash, h2) || len(k.PrevSecretHash) != 0 || !k.PrevValidUntil.IsZero() {
		t.Fatalf("rotation without grace kept the old secret: %+v", k)
	}
	got, err := s.GetKey(ctx, "rot")
	if err != nil {
		t.Fatal(err)
	}
	assertKey(t, got, k)
}

func testKeyRotateRevoked(t *testing.T, s store.Store) {
	ctx := context.Background()
	if err := s.CreateKey(ctx, sampleKey("rr")); err != nil {
		t.Fatal(err)
	}
	if _, err := s.RevokeKey(ctx, "rr", ts(1)); err != nil {
		t.Fatal(err)
	}
	_, err := s.RotateKey(ctx, "rr", []byte{9}, ts(2), time.Time{})
	if !errors.Is(err, store.ErrConflict) {
		t.Fatalf("rotating a revoked key: want ErrConflict, got %v", err)
	}
	k, err := s.GetKey(ctx, "rr")
	if err != nil {
		t.Fatal(err)
	}
	if !k.Revoked() || bytes.Equal(k.SecretHash, []byte{9}) {
		t.Fatalf("failed rotation changed the key: %+v", k)
	}
}

// testKeyRevokeRacesRotate checks that however a revocation and rotations
// interleave, the key ends up revoked: a rotation must never undo it.
func testKeyRevokeRacesRotate(t *testing.T, s store.Store) {
	ctx := context.Background()
	for i := range 5 {
		id := fmt.Sprintf("race%d", i)
		if err := s.CreateKey(ctx, sampleKey(id)); err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		for j := range 4 {
			wg.Go(func() {
				_, err := s.RotateKey(ctx, id, []byte{byte(j)}, ts(int64(j)), time.Time{})
				if err != nil && !errors.Is(err, store.ErrConflict) {
					t.Errorf("rotate: %v", err)
				}
			})
		}
		wg.Go(func() {
			if _, err := s.RevokeKey(ctx, id, ts(100)); err != nil {
				t.Errorf("revoke: %v", err)
			}
		})
		wg.Wait()
		k, err := s.GetKey(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if !k.Revoked() {
			t.Fatalf("key %s not revoked after a revoke raced rotations", id)
		}
	}
}

func sampleRoute(model string) *store.Route {
	return &store.Route{
		Model:    model,
		Protocol: store.ProtocolOpenAI,
		Upstream: store.Upstream{
			URL:          "http://127.0.0.1:9000/v1",
			Model:        "upstream-" + model,
			ModelVersion: "sha256:abc",
			Credential:   &store.Credential{Env: "UPSTREAM_KEY", Header: "Authorization", Prefix: "Bearer "},
			TLS:          &store.UpstreamTLS{CAFile: "/etc/ca.pem", ServerName: "models.internal"},
			Timeout:      store.Duration(30 * time.Second),
		},
		Capture:   &store.Capture{Input: store.CaptureFull, Output: store.CaptureHash},
		Guards:    "strict",
		Source:    store.SourceAPI,
		CreatedAt: ts(0),
		UpdatedAt: ts(0),
	}
}

func testRoutes(t *testing.T, s store.Store) {
	ctx := context.Background()
	if _, err := s.GetRoute(ctx, "m"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("GetRoute on empty store: want ErrNotFound, got %v", err)
	}
	r := sampleRoute("m")
	if err := s.PutRoute(ctx, r); err != nil {
		t.Fatal(err)
	}
	got, err := s.GetRoute(ctx, "m")
	if err != nil {
		t.Fatal(err)
	}
	assertRoute(t, got, r)

	// Replacing keeps the creation time and takes the rest.
	r2 := sampleRoute("m")
	r2.Protocol = store.ProtocolKServeV2
	r2.Upstream.Credential = nil
	r2.Capture = nil
	r2.CreatedAt, r2.UpdatedAt = ts(50), ts(50)
	if err := s.PutRoute(ctx, r2); err != nil {
		t.Fatal(err)
	}
	got, err = s.GetRoute(ctx, "m")
	if err != nil {
		t.Fatal(err)
	}
	want := *r2
	want.CreatedAt = ts(0)
	assertRoute(t, got, &want)

	if err := s.PutRoute(ctx, sampleRoute("a")); err != nil {
		t.Fatal(err)
	}
	list, err := s.ListRoutes(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 || list[0].Model != "a" || list[1].Model != "m" {
		t.Fatalf("ListRoutes: want a, m, got %d routes", len(list))
	}
	if err := s.DeleteRoute(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteRoute(ctx, "a"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("deleting twice: want ErrNotFound, got %v", err)
	}
}

func testReplaceRoutes(t *testing.T, s store.Store) {
	ctx := context.Background()
	api := sampleRoute("api-only")
	if err := s.PutRoute(ctx, api); err != nil {
		t.Fatal(err)
	}
	shadowed := sampleRoute("shared")
	if err := s.PutRoute(ctx, shadowed); err != nil {
		t.Fatal(err)
	}
	if err := s.ReplaceRoutes(ctx, store.SourceConfig, []*store.Route{sampleRoute("c1"), sampleRoute("shared")}); err != nil {
		t.Fatal(err)
	}
	if got := routeSources(t, s); !maps(got, map[string]string{"api-only": "api", "c1": "config", "shared": "config"}) {
		t.Fatalf("after first replace: %v", got)
	}
	// The file no longer names c1 or shared: both go, the API route stays.
	if err := s.ReplaceRoutes(ctx, store.SourceConfig, []*store.Route{sampleRoute("c2")}); err != nil {
		t.Fatal(err)
	}
	if got := routeSources(t, s); !maps(got, map[string]string{"api-only": "api", "c2": "config"}) {
		t.Fatalf("after second replace: %v", got)
	}
}

func testIPRules(t *testing.T, s store.Store) {
	ctx := context.Background()
	r1 := &store.IPRule{CIDR: "10.0.0.0/8", Action: store.IPDeny, Comment: "corp", CreatedAt: ts(1)}
	if err := s.CreateIPRule(ctx, r1); err != nil {
		t.Fatal(err)
	}
	if r1.ID == "" {
		t.Fatal("CreateIPRule did not assign an id")
	}
	r2 := &store.IPRule{ID: "fixed", CIDR: "2001:db8::/32", Action: store.IPAllow, KeyID: "k1", CreatedAt: ts(2)}
	if err := s.CreateIPRule(ctx, r2); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateIPRule(ctx, &store.IPRule{ID: "fixed", CIDR: "1.2.3.4/32", Action: store.IPDeny}); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("duplicate rule id: want ErrConflict, got %v", err)
	}
	list, err := s.ListIPRules(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 || *list[0] != *r1 || *list[1] != *r2 {
		t.Fatalf("ListIPRules: got %+v", list)
	}
	if err := s.DeleteIPRule(ctx, r1.ID); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteIPRule(ctx, r1.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("deleting twice: want ErrNotFound, got %v", err)
	}
}

// testGeneration checks that every kind of change moves the generation.
func testGeneration(t *testing.T, s store.Store) {
	ctx := context.Background()
	last, err := s.Generation(ctx)
	if err != nil {
		t.Fatal(err)
	}
	changes := []struct {
		what string
		do   func() error
	}{
		{"create key", func() error { return s.CreateKey(ctx, sampleKey("g")) }},
		{"rotate key", func() error { _, err := s.RotateKey(ctx, "g", []byte{3}, ts(1), time.Time{}); return err }},
		{"revoke key", func() error { _, err := s.RevokeKey(ctx, "g", ts(2)); return err }},
		{"put route", func() error { return s.PutRoute(ctx, sampleRoute("g")) }},
		{"replace routes", func() error { return s.ReplaceRoutes(ctx, store.SourceConfig, []*store.Route{sampleRoute("h")}) }},
		{"delete route", func() error { return s.DeleteRoute(ctx, "g") }},
		{"create ip rule", func() error {
			return s.CreateIPRule(ctx, &store.IPRule{ID: "g", CIDR: "10.0.0.0/8", Action: store.IPDeny})
		}},
		{"delete ip rule", func() error { return s.DeleteIPRule(ctx, "g") }},
	}
	for _, c := range changes {
		if err := c.do(); err != nil {
			t.Fatalf("%s: %v", c.what, err)
		}
		g, err := s.Generation(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if g == last {
			t.Errorf("generation did not change after %s", c.what)
		}
		last = g
	}
	if err := s.Ping(ctx); err != nil {
		t.Errorf("Ping: %v", err)
	}
}

func assertKey(t *testing.T, got, want *store.Key) {
	t.Helper()
	if got.ID != want.ID || got.Name != want.Name || !bytes.Equal(got.SecretHash, want.SecretHash) ||
		!bytes.Equal(got.PrevSecretHash, want.PrevSecretHash) || !got.PrevValidUntil.Equal(want.PrevValidUntil) ||
		!slices.Equal(got.Scopes, want.Scopes) || !slices.Equal(got.Models, want.Models) ||
		got.RPM != want.RPM || got.TPM != want.TPM || got.Burst != want.Burst || got.MaxConcurrent != want.MaxConcurrent ||
		!got.CreatedAt.Equal(want.CreatedAt) || !got.ExpiresAt.Equal(want.ExpiresAt) ||
		!got.RevokedAt.Equal(want.RevokedAt) || !got.RotatedAt.Equal(want.RotatedAt) {
		t.Fatalf("key mismatch:\n got %+v\nwant %+v", got, want)
	}
}

func assertRoute(t *testing.T, got, want *store.Route) {
	t.Helper()
	g, w := *got, *want
	if !g.CreatedAt.Equal(w.CreatedAt) || !g.UpdatedAt.Equal(w.UpdatedAt) {
		t.Fatalf("route times: got %v/%v, want %v/%v", g.CreatedAt, g.UpdatedAt, w.CreatedAt, w.UpdatedAt)
	}
	g.CreatedAt, g.UpdatedAt, w.CreatedAt, w.UpdatedAt = time.Time{}, time.Time{}, time.Time{}, time.Time{}
	if (g.Capture == nil) != (w.Capture == nil) || g.Capture != nil && *g.Capture != *w.Capture {
		t.Fatalf("route capture: got %+v, want %+v", g.Capture, w.Capture)
	}
	gu, wu := g.Upstream, w.Upstream
	g.Upstream, w.Upstream, g.Capture, w.Capture = store.Upstream{}, store.Upstream{}, nil, nil
	if g != w || !upstreamEqual(gu, wu) {
		t.Fatalf("route mismatch:\n got %+v %+v\nwant %+v %+v", g, gu, w, wu)
	}
}

func upstreamEqual(a, b store.Upstream) bool {
	if (a.Credential == nil) != (b.Credential == nil) || (a.TLS == nil) != (b.TLS == nil) {
		return false
	}
	if a.Credential != nil && *a.Credential != *b.Credential || a.TLS != nil && *a.TLS != *b.TLS {
		return false
	}
	a.Credential, b.Credential, a.TLS, b.TLS = nil, nil, nil, nil
	return a == b
}

func routeSources(t *testing.T, s store.Store) map[string]string {
	t.Helper()
	list, err := s.ListRoutes(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]string{}
	for _, r := range list {
		m[r.Model] = r.Source
	}
	return m
}

func maps(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func keyIDs(ks []*store.Key) []string {
	var ids []string
	for _, k := range ks {
		ids = append(ids, k.ID)
	}
	return ids
}
