package gateway

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"testing"

	"github.com/modelgate/modelgate/store"
)

// fakeAdmission admits what its map says; an absent name is an error.
type fakeAdmission struct {
	mu sync.Mutex
	m  map[string]Admitted
}

func (f *fakeAdmission) Serving(_ context.Context, name string) (Admitted, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	a, ok := f.m[name]
	if !ok {
		return Admitted{}, errors.New("registry unreadable")
	}
	return a, nil
}

const fraudBody = `{"model":"fraud","messages":[{"role":"user","content":"hi"}]}`

func TestRegistryRouteWithoutAdmission(t *testing.T) {
	h := newHarness(t)
	h.route(&store.Route{Model: "fraud", Registry: "fraud", Protocol: store.ProtocolOpenAI, Upstream: store.Upstream{URL: h.recSrv.URL + "/v1"}})
	key, _ := h.key(nil)
	r := h.do("POST", "/v1/chat/completions", key, fraudBody)
	wantError(t, r, http.StatusServiceUnavailable, TypeServer, "model_unavailable")
	if h.rec.count() != 0 {
		t.Fatal("an unchecked registry model was served")
	}
}

func TestRegistryRouteAdmission(t *testing.T) {
	adm := &fakeAdmission{m: map[string]Admitted{"fraud-registry": {Refusal: "version 3 of fraud-registry is quarantined: backdoor"}}}
	h := newHarness(t, func(o *Options) { o.Admission = adm })
	h.route(&store.Route{Model: "fraud", Registry: "fraud-registry", Protocol: store.ProtocolOpenAI, Upstream: store.Upstream{URL: h.recSrv.URL + "/v1"}})
	key, _ := h.key(nil)
	r := h.do("POST", "/v1/chat/completions", key, fraudBody)
	wantError(t, r, http.StatusServiceUnavailable, TypeServer, "model_unavailable")
	if want := `model "fraud" is unavailable: version 3 of fraud-registry is quarantined: backdoor`; r.err.Error.Message != want {
		t.Fatalf("message %q", r.err.Error.Message)
	}

	// Admitting a version takes a registry change, which moves the
	// generation; the next request sees it.
	adm.mu.Lock()
	adm.m["fraud-registry"] = Admitted{Version: "2", Digest: "abc123"}
	adm.mu.Unlock()
	h.route(&store.Route{Model: "other", Protocol: store.ProtocolOpenAI, Upstream: store.Upstream{URL: h.recSrv.URL + "/v1"}})
	r = h.do("POST", "/v1/chat/completions", key, fraudBody)
	if r.StatusCode != http.StatusOK {
		t.Fatalf("admitted version refused: %d %s", r.StatusCode, r.body)
	}
	if got := h.rec.last().header; got.Get("X-Modelgate-Model-Version") != "2" || got.Get("X-Modelgate-Model-Digest") != "abc123" {
		t.Fatalf("upstream headers %v", got)
	}
	// A registry that cannot be read fails closed.
	adm.mu.Lock()
	delete(adm.m, "fraud-registry")
	adm.mu.Unlock()
	h.route(&store.Route{Model: "other2", Protocol: store.ProtocolOpenAI, Upstream: store.Upstream{URL: h.recSrv.URL + "/v1"}})
	r = h.do("POST", "/v1/chat/completions", key, fraudBody)
	if r.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("unreadable registry: %d %s", r.StatusCode, r.body)
	}
}
