package server

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/modelgate/modelgate/config"
	"github.com/modelgate/modelgate/registry"
	"github.com/modelgate/modelgate/registry/registrytest"
	"github.com/modelgate/modelgate/store"
)

// TestRegistryRouteFollowsTheRegistry: a route naming a registry model
// serves only the version in production, and promotions, rollbacks and
// quarantines reach the running gateway at the next request.
func TestRegistryRouteFollowsTheRegistry(t *testing.T) {
	var mu sync.Mutex
	var seen []string // X-Modelgate-Model-Version of each upstream call
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.Header.Get("X-Modelgate-Model-Version"))
		mu.Unlock()
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"choices":[{"message":{"content":"ok"}}],"usage":{"prompt_tokens":1,"completion_tokens":1}}`)
	}))
	defer up.Close()
	f := newAuditFixture(t, func(c *config.Config) {
		c.Routes = []*store.Route{{Model: "m", Registry: "fraud", Protocol: store.ProtocolOpenAI, Upstream: store.Upstream{URL: up.URL + "/v1"}}}
	})
	ctx := context.Background()
	reg := registrytest.NewSigning(t, f.srv.Store().(registry.Store))

	call := func(wantStatus int, wantText string) *http.Response {
		t.Helper()
		resp, b := f.post(body, "Authorization", "Bearer "+f.key)
		if resp.StatusCode != wantStatus || !strings.Contains(b, wantText) {
			t.Fatalf("got %d %s, want %d with %q", resp.StatusCode, b, wantStatus, wantText)
		}
		return resp
	}
	call(http.StatusServiceUnavailable, "fraud is not in the model registry")

	dir := t.TempDir()
	for _, v := range []string{"1", "2"} {
		reg.Staged(t, dir, "fraud", v)
	}
	call(http.StatusServiceUnavailable, "no version of fraud is in production")
	must(t, promote(ctx, reg, "fraud@1"))
	resp := call(http.StatusOK, "ok")
	ev := f.event(resp.Header.Get("X-Request-Id"))
	m1, _ := reg.Store.GetModel(ctx, "fraud", "1")
	if ev.Resource.ModelVersion != "1" || ev.Resource.ModelDigest != m1.Manifest.Digest {
		t.Fatalf("audit resource %+v, want version 1 and digest %s", ev.Resource, m1.Manifest.Digest)
	}
	must(t, promote(ctx, reg, "fraud@2"))
	call(http.StatusOK, "ok")
	if _, err := reg.Rollback(ctx, "fraud"); err != nil {
		t.Fatal(err)
	}
	resp = call(http.StatusOK, "ok")
	if ev := f.event(resp.Header.Get("X-Request-Id")); ev.Resource.ModelVersion != "1" {
		t.Fatalf("after rollback the gateway serves %q", ev.Resource.ModelVersion)
	}
	if _, err := reg.Quarantine(ctx, "fraud@1", "leaks training records"); err != nil {
		t.Fatal(err)
	}
	resp = call(http.StatusServiceUnavailable, "version 1 of fraud is quarantined: leaks training records")
	if ev := f.event(resp.Header.Get("X-Request-Id")); ev.Decision.Reason != "model_unavailable" {
		t.Fatalf("refusal recorded as %+v", ev.Decision)
	}
	mu.Lock()
	defer mu.Unlock()
	if strings.Join(seen, ",") != "1,2,1" {
		t.Fatalf("upstream saw versions %v, want 1,2,1 (and nothing while refused)", seen)
	}
}

func promote(ctx context.Context, reg *registrytest.Signing, ref string) error {
	_, err := reg.Promote(ctx, ref, registry.Production)
	return err
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
