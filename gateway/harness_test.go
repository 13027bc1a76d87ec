package gateway

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/modelgate/modelgate/access"
	"github.com/modelgate/modelgate/demo"
	"github.com/modelgate/modelgate/store"
	"github.com/modelgate/modelgate/store/sqlite"
)

// harness runs a gateway in front of the demo upstreams and a recording
// upstream.
type harness struct {
	t      *testing.T
	store  store.Store
	gw     *Gateway
	srv    *httptest.Server
	chat   *httptest.Server
	clf    *httptest.Server
	rec    *recorder
	recSrv *httptest.Server
}

// recorder is an upstream that remembers what it was sent and answers
// with a canned response.
type recorder struct {
	mu      sync.Mutex
	reqs    []recorded
	status  int
	body    string
	handler http.HandlerFunc // overrides the canned answer
}

type recorded struct {
	method, path string
	header       http.Header
	body         string
}

func (r *recorder) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	b, _ := io.ReadAll(req.Body)
	r.mu.Lock()
	r.reqs = append(r.reqs, recorded{req.Method, req.URL.Path, req.Header.Clone(), string(b)})
	h, status, body := r.handler, r.status, r.body
	r.mu.Unlock()
	if h != nil {
		h(w, req)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	if status == 0 {
		status = 200
	}
	w.WriteHeader(status)
	io.WriteString(w, body)
}

func (r *recorder) last() recorded {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.reqs) == 0 {
		return recorded{}
	}
	return r.reqs[len(r.reqs)-1]
}

// answer sets the canned answer; answerWith a handler instead. Requests
// still in flight from an earlier step may read them, hence the lock.
func (r *recorder) answer(status int, body string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.status, r.body = status, body
}

func (r *recorder) answerWith(h http.HandlerFunc) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.handler = h
}

func (r *recorder) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.reqs)
}

func newHarness(t *testing.T, configure ...func(*Options)) *harness {
	t.Helper()
	st, err := sqlite.OpenDir(context.Background(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	h := &harness{t: t, store: st, rec: &recorder{}}
	h.chat = httptest.NewServer(&demo.ChatModel{})
	h.clf = httptest.NewServer(demo.NewClassifier("demo-classifier"))
	h.recSrv = httptest.NewServer(h.rec)
	t.Cleanup(func() { h.chat.Close(); h.clf.Close(); h.recSrv.Close() })
	h.route(&store.Route{Model: "demo-chat", Protocol: store.ProtocolOpenAI, Upstream: store.Upstream{URL: h.chat.URL + "/v1"}})
	h.route(&store.Route{Model: "demo-classifier", Protocol: store.ProtocolKServeV2, Upstream: store.Upstream{URL: h.clf.URL, ModelVersion: "1"}})
	h.route(&store.Route{Model: "rec", Protocol: store.ProtocolOpenAI, Upstream: store.Upstream{URL: h.recSrv.URL + "/v1"}})

	opts := Options{Store: st, Logger: slog.New(slog.DiscardHandler)}
	for _, c := range configure {
		c(&opts)
	}
	gw, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	h.gw = gw
	h.srv = httptest.NewServer(gw)
	t.Cleanup(h.srv.Close)
	return h
}

func (h *harness) route(r *store.Route) {
	h.t.Helper()
	r.CreatedAt, r.UpdatedAt, r.Source = time.Now(), time.Now(), store.SourceAPI
	if err := h.store.PutRoute(context.Background(), r); err != nil {
		h.t.Fatal(err)
	}
}

// key creates an API key; mutate may change it before it is stored.
func (h *harness) key(mutate func(*store.Key)) (string, *store.Key) {
	h.t.Helper()
	id, full, hash := access.NewKey()
	k := &store.Key{ID: id, Name: "test", SecretHash: hash, CreatedAt: time.Now(),
		Scopes: []string{"inference:invoke"}, Models: []string{"*"}}
	if mutate != nil {
		mutate(k)
	}
	if err := h.store.CreateKey(context.Background(), k); err != nil {
		h.t.Fatal(err)
	}
	return full, k
}

type errorBody struct {
	Error struct {
		Message   string `json:"message"`
		Type      string `json:"type"`
		Code      string `json:"code"`
		RequestID string `json:"request_id"`
	} `json:"error"`
}

type response struct {
	*http.Response
	body []byte
	err  errorBody
}

func (h *harness) do(method, path, key, body string, headers ...string) response {
	h.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, h.srv.URL+path, rd)
	if err != nil {
		h.t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	r := response{Response: resp, body: b}
	json.Unmarshal(b, &r.err)
	return r
}

// wantError checks an OpenAI-style error: status, type, code, and a
// request_id equal to the X-Request-Id header.
func wantError(t *testing.T, r response, status int, typ, code string) {
	t.Helper()
	if r.StatusCode != status || r.err.Error.Type != typ || r.err.Error.Code != code {
		t.Fatalf("got %d %s/%s (%q), want %d %s/%s\nbody: %s", r.StatusCode, r.err.Error.Type, r.err.Error.Code,
			r.err.Error.Message, status, typ, code, r.body)
	}
	if r.err.Error.Message == "" {
		t.Errorf("error without a message: %s", r.body)
	}
	if id := r.Header.Get("X-Request-Id"); id == "" || r.err.Error.RequestID != id {
		t.Errorf("request_id %q does not match X-Request-Id %q", r.err.Error.RequestID, id)
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q", ct)
	}
}

const chatBody = `{"model":"demo-chat","messages":[{"role":"user","content":"hello gateway"}]}`
