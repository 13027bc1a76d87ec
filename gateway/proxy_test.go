package gateway

import (
	"bufio"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/modelgate/modelgate/access"
	"github.com/modelgate/modelgate/internal/testpki"
	"github.com/modelgate/modelgate/store"
)

// TestStreamingPassthrough checks that each event reaches the client while
// the upstream is still producing: the upstream sends one event and then
// waits until the test has read it through the gateway.
func TestStreamingPassthrough(t *testing.T) {
	h := newHarness(t)
	key, _ := h.key(nil)
	firstSeen := make(chan struct{})
	upstreamDone := make(chan struct{})
	h.rec.answerWith(func(w http.ResponseWriter, r *http.Request) {
		defer close(upstreamDone)
		w.Header().Set("Content-Type", "text/event-stream")
		io.WriteString(w, "data: {\"choices\":[{\"delta\":{\"content\":\"first\"}}]}\n\n")
		w.(http.Flusher).Flush()
		select {
		case <-firstSeen:
		case <-time.After(10 * time.Second):
			return // the gateway buffered: the test fails below
		}
		io.WriteString(w, "data: {\"choices\":[{\"delta\":{\"content\":\" second\"}}]}\n\n")
		io.WriteString(w, "data: [DONE]\n\n")
	})
	body := `{"model":"rec","stream":true,"messages":[{"role":"user","content":"go"}]}`
	req, _ := http.NewRequest("POST", h.srv.URL+"/v1/chat/completions", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("Content-Type %q", ct)
	}
	br := bufio.NewReader(resp.Body)
	line, err := br.ReadString('\n')
	if err != nil || !strings.Contains(line, "first") {
		t.Fatalf("first event: %q %v", line, err)
	}
	select {
	case <-upstreamDone:
		t.Fatal("the upstream finished before the client saw the first event")
	default:
	}
	close(firstSeen)
	rest, _ := io.ReadAll(br)
	if !strings.Contains(string(rest), "second") || !strings.Contains(string(rest), "[DONE]") {
		t.Fatalf("rest of stream: %q", rest)
	}
	if h.rec.last().header.Get("Accept") != "text/event-stream" {
		t.Errorf("upstream Accept %q", h.rec.last().header.Get("Accept"))
	}
}

func TestStreamFromDemoModel(t *testing.T) {
	h := newHarness(t)
	key, _ := h.key(nil)
	r := h.do("POST", "/v1/chat/completions", key,
		`{"model":"demo-chat","stream":true,"messages":[{"role":"user","content":"one two three"}]}`)
	if r.StatusCode != 200 || strings.Count(string(r.body), "data: ") < 5 || !strings.HasSuffix(string(r.body), "data: [DONE]\n\n") {
		t.Fatalf("%d %q", r.StatusCode, r.body)
	}
}

// TestClientCancelReachesUpstream checks that when the client hangs up,
// the upstream request is cancelled rather than left running.
func TestClientCancelReachesUpstream(t *testing.T) {
	for _, stream := range []bool{false, true} {
		t.Run(fmt.Sprint("stream=", stream), func(t *testing.T) {
			h := newHarness(t)
			key, _ := h.key(nil)
			started := make(chan struct{})
			cancelled := make(chan struct{})
			h.rec.answerWith(func(w http.ResponseWriter, r *http.Request) {
				if stream {
					w.Header().Set("Content-Type", "text/event-stream")
					io.WriteString(w, "data: {}\n\n")
					w.(http.Flusher).Flush()
				}
				close(started)
				select {
				case <-r.Context().Done():
					close(cancelled)
				case <-time.After(10 * time.Second):
				}
			})
			ctx, cancel := context.WithCancel(context.Background())
			body := fmt.Sprintf(`{"model":"rec","stream":%v,"messages":[{"role":"user","content":"go"}]}`, stream)
			req, _ := http.NewRequestWithContext(ctx, "POST", h.srv.URL+"/v1/chat/completions", strings.NewReader(body))
			req.Header.Set("Authorization", "Bearer "+key)
			go func() {
				<-started
				cancel()
			}()
			resp, err := http.DefaultClient.Do(req)
			if err == nil {
				io.Copy(io.Discard, resp.Body) // returns when the cancel closes the connection
				resp.Body.Close()
			}
			select {
			case <-cancelled:
			case <-time.After(5 * time.Second):
				t.Fatal("the upstream request was not cancelled when the client went away")
			}
		})
	}
}

func TestUpstreamSeesOnlyWhatItShould(t *testing.T) {
	t.Setenv("MODELGATE_TEST_UPSTREAM_KEY", "upstream-secret")
	h := newHarness(t)
	h.route(&store.Route{Model: "renamed", Protocol: store.ProtocolOpenAI, Upstream: store.Upstream{
		URL: h.recSrv.URL + "/v1", Model: "llama3:8b", Credential: &store.Credential{Env: "MODELGATE_TEST_UPSTREAM_KEY"}}})
	h.rec.answer(0, `{"choices":[{"message":{"content":"ok"}}],"usage":{"prompt_tokens":5,"completion_tokens":1}}`)
	key, _ := h.key(nil)
	body := `{"model":"renamed","temperature":0.2,"messages":[{"role":"user","content":"hi"}]}`
	r := h.do("POST", "/v1/chat/completions", key, body, "Cookie", "session=abc", "X-Api-Key", key, "Connection", "keep-alive")
	if r.StatusCode != 200 {
		t.Fatalf("%d %s", r.StatusCode, r.body)
	}
	got := h.rec.last()
	if got.path != "/v1/chat/completions" {
		t.Errorf("upstream path %q", got.path)
	}
	if a := got.header.Get("Authorization"); a != "Bearer upstream-secret" {
		t.Errorf("upstream Authorization %q: the caller's key leaked or the route credential is missing", a)
	}
	for _, leaked := range []string{"X-Api-Key", "Cookie"} {
		if got.header.Get(leaked) != "" {
			t.Errorf("header %s was forwarded upstream", leaked)
		}
	}
	if strings.Contains(got.body, key) {
		t.Error("the caller's key reached the upstream")
	}
	if got.body != `{"model":"llama3:8b","temperature":0.2,"messages":[{"role":"user","content":"hi"}]}` {
		t.Errorf("rewritten body %s", got.body)
	}
	if got.header.Get("X-Request-Id") != r.Header.Get("X-Request-Id") {
		t.Error("the request id was not passed upstream")
	}
}

func TestUpstreamRedirectIsNotFollowed(t *testing.T) {
	h := newHarness(t)
	key, _ := h.key(nil)
	elsewhere := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t.Error("the gateway followed an upstream redirect")
	}))
	defer elsewhere.Close()
	h.rec.answerWith(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, elsewhere.URL, http.StatusTemporaryRedirect)
	})
	r := h.do("POST", "/v1/chat/completions", key, strings.Replace(chatBody, "demo-chat", "rec", 1))
	wantError(t, r, 502, TypeUpstream, "bad_upstream_response")
	if r.Header.Get("Location") != "" {
		t.Error("the upstream's Location header reached the client")
	}
}

func TestRateLimitsAndHeaders(t *testing.T) {
	h := newHarness(t)
	key, _ := h.key(func(k *store.Key) { k.RPM, k.Burst = 60, 2 })
	for i := range 2 {
		r := h.do("POST", "/v1/chat/completions", key, chatBody)
		if r.StatusCode != 200 {
			t.Fatalf("request %d: %d", i, r.StatusCode)
		}
		if got := r.Header.Get("RateLimit-Policy"); got != `"key-rpm";q=60;w=60` {
			t.Errorf("RateLimit-Policy %q", got)
		}
		if got, want := r.Header.Get("RateLimit"), fmt.Sprintf(`"key-rpm";r=%d;`, 1-i); !strings.HasPrefix(got, want) {
			t.Errorf("RateLimit %q, want prefix %q", got, want)
		}
	}
	r := h.do("POST", "/v1/chat/completions", key, chatBody)
	wantError(t, r, 429, TypeRateLimit, "rate_limit_exceeded")
	if ra := r.Header.Get("Retry-After"); ra != "1" {
		t.Errorf("Retry-After %q, want 1", ra)
	}
	if !strings.HasPrefix(r.Header.Get("RateLimit"), `"key-rpm";r=0;`) {
		t.Errorf("RateLimit on 429: %q", r.Header.Get("RateLimit"))
	}
	other, _ := h.key(nil)
	if r := h.do("POST", "/v1/chat/completions", other, chatBody); r.StatusCode != 200 {
		t.Errorf("another key was limited too: %d", r.StatusCode)
	}
}

func TestPerIPLimitAppliesBeforeAuthentication(t *testing.T) {
	h := newHarness(t, func(o *Options) { o.RateLimits.IP = access.Limits{RPM: 60, Burst: 3} })
	for range 3 {
		wantError(t, h.do("POST", "/v1/chat/completions", "mg_guess", chatBody), 401, TypeAuthentication, access.CodeInvalidKey)
	}
	r := h.do("POST", "/v1/chat/completions", "mg_guess", chatBody)
	wantError(t, r, 429, TypeRateLimit, "rate_limit_exceeded")
	if !strings.Contains(r.err.Error.Message, "client address 127.0.0.1") {
		t.Errorf("message %q", r.err.Error.Message)
	}
}

func TestTokenLimit(t *testing.T) {
	h := newHarness(t)
	h.rec.answer(0, `{"choices":[{"message":{"content":"ok"}}],"usage":{"prompt_tokens":10,"completion_tokens":90}}`)
	key, _ := h.key(func(k *store.Key) { k.TPM = 150 })
	body := strings.Replace(chatBody, "demo-chat", "rec", 1)
	// The estimate (~11 tokens) fits; afterwards the real cost, 100
	// tokens, is charged.
	if r := h.do("POST", "/v1/chat/completions", key, body); r.StatusCode != 200 {
		t.Fatalf("%d %s", r.StatusCode, r.body)
	}
	if r := h.do("POST", "/v1/chat/completions", key, body); r.StatusCode != 200 {
		t.Fatalf("second: %d %s", r.StatusCode, r.body)
	}
	// 200 tokens charged against 150 a minute: now in debt.
	r := h.do("POST", "/v1/chat/completions", key, body)
	wantError(t, r, 429, TypeRateLimit, "rate_limit_exceeded")
	if !strings.Contains(r.err.Error.Message, "150 tokens per minute") || r.Header.Get("Retry-After") == "" {
		t.Errorf("%q, Retry-After %q", r.err.Error.Message, r.Header.Get("Retry-After"))
	}
	// A request that can never fit is a 400, not a 429 to retry forever.
	big, _ := h.key(func(k *store.Key) { k.TPM = 5 })
	wantError(t, h.do("POST", "/v1/chat/completions", big, body), 400, TypeInvalidRequest, "tokens_exceed_limit")
}

func TestTokensNotChargedWhenUpstreamFails(t *testing.T) {
	h := newHarness(t)
	h.rec.answer(500, `{"error":{"message":"boom"}}`)
	key, _ := h.key(func(k *store.Key) { k.TPM = 30 })
	body := strings.Replace(chatBody, "demo-chat", "rec", 1) // about 11 tokens
	for i := range 6 {
		if r := h.do("POST", "/v1/chat/completions", key, body); r.StatusCode != 500 {
			t.Fatalf("request %d: %d (failed requests must not use up the token budget)", i, r.StatusCode)
		}
	}
}

func TestConcurrencyLimit(t *testing.T) {
	h := newHarness(t)
	key, _ := h.key(func(k *store.Key) { k.MaxConcurrent = 1 })
	inside := make(chan struct{})
	release := make(chan struct{})
	var once sync.Once
	h.rec.answerWith(func(w http.ResponseWriter, r *http.Request) {
		once.Do(func() { close(inside) })
		<-release
		w.Write([]byte(`{}`))
	})
	body := strings.Replace(chatBody, "demo-chat", "rec", 1)
	done := make(chan int)
	go func() { done <- h.do("POST", "/v1/chat/completions", key, body).StatusCode }()
	<-inside
	r := h.do("POST", "/v1/chat/completions", key, body)
	wantError(t, r, 429, TypeRateLimit, "concurrency_limit_exceeded")
	close(release)
	if s := <-done; s != 200 {
		t.Fatalf("first request: %d", s)
	}
	if r := h.do("POST", "/v1/chat/completions", key, body); r.StatusCode != 200 {
		t.Fatalf("after the first finished: %d", r.StatusCode)
	}
}

// holdBack is an output filter that holds every event until the stream
// ends and then releases them upper-cased, the shape a guard with a
// hold-back window takes.
type holdBack struct{}

func (holdBack) FilterBody(x *Exchange, status int, body []byte) ([]byte, error) {
	if strings.Contains(string(body), "forbidden") {
		return nil, &Refusal{Status: 422, Type: TypeInvalidRequest, Code: "output_blocked", Message: "blocked"}
	}
	return []byte(strings.ToUpper(string(body))), nil
}

func (holdBack) FilterStream(x *Exchange) StreamFilter { return &heldEvents{} }

type heldEvents struct{ held [][]byte }

func (h *heldEvents) Event(ev []byte) ([][]byte, error) {
	h.held = append(h.held, []byte(strings.ToUpper(string(ev))))
	return nil, nil
}

func (h *heldEvents) End() ([][]byte, error) { return h.held, nil }

func TestHooks(t *testing.T) {
	var (
		mu       sync.Mutex
		observed []*Exchange
	)
	observe := func(next Handler) Handler {
		return func(x *Exchange) {
			next(x)
			mu.Lock()
			observed = append(observed, x)
			mu.Unlock()
		}
	}
	input := func(next Handler) Handler {
		return func(x *Exchange) {
			for _, s := range x.Segments {
				if strings.Contains(s.Text, "attack") {
					x.Refuse(&Refusal{Status: 400, Type: TypeInvalidRequest, Code: "input_blocked", Message: "blocked by a test guard"})
					return
				}
			}
			next(x)
		}
	}
	h := newHarness(t, func(o *Options) {
		o.Hooks = Hooks{Observe: []Middleware{observe}, Input: []Middleware{input}, Output: []ResponseFilter{holdBack{}}}
	})
	key, _ := h.key(nil)

	wantError(t, h.do("POST", "/v1/chat/completions", key, strings.Replace(chatBody, "hello gateway", "an attack", 1)),
		400, TypeInvalidRequest, "input_blocked")
	r := h.do("POST", "/v1/chat/completions", key, chatBody)
	if r.StatusCode != 200 || !strings.Contains(string(r.body), "HELLO GATEWAY") {
		t.Fatalf("output filter not applied: %s", r.body)
	}
	wantError(t, h.do("POST", "/v1/chat/completions", key, strings.Replace(chatBody, "hello gateway", "forbidden", 1)),
		422, TypeInvalidRequest, "output_blocked")
	r = h.do("POST", "/v1/chat/completions", key, `{"model":"demo-chat","stream":true,"messages":[{"role":"user","content":"quiet words"}]}`)
	if !strings.Contains(string(r.body), "QUIET") || !strings.Contains(string(r.body), "DATA: [DONE]") {
		t.Fatalf("stream filter not applied: %s", r.body)
	}
	wantError(t, h.do("POST", "/v1/chat/completions", "", chatBody), 401, TypeAuthentication, access.CodeMissingKey)

	mu.Lock()
	defer mu.Unlock()
	if len(observed) != 5 {
		t.Fatalf("observer saw %d requests, want 5 (refused ones included)", len(observed))
	}
	if x := observed[0]; x.Denial == nil || x.Denial.Code != "input_blocked" || x.Principal == nil || x.Status != 400 {
		t.Errorf("refused exchange: %+v", x)
	}
	if x := observed[1]; x.Status != 200 || x.Usage.PromptTokens == 0 || x.Usage.CompletionTokens == 0 || x.Route == nil || x.UpstreamLatency == 0 {
		t.Errorf("served exchange: status %d usage %+v route %v", x.Status, x.Usage, x.Route)
	}
	if x := observed[4]; x.Status != 401 || x.Principal != nil {
		t.Errorf("unauthenticated exchange: %+v", x)
	}
}

func TestStreamUsageIsAccounted(t *testing.T) {
	var seen Usage
	observe := func(next Handler) Handler {
		return func(x *Exchange) { next(x); seen = x.Usage }
	}
	h := newHarness(t, func(o *Options) { o.Hooks.Observe = []Middleware{observe} })
	key, _ := h.key(nil)
	h.do("POST", "/v1/chat/completions", key,
		`{"model":"demo-chat","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"a b c d"}]}`)
	if seen.CompletionTokens != 4 || seen.Estimated {
		t.Fatalf("usage from the stream's usage chunk: %+v", seen)
	}
	h.do("POST", "/v1/chat/completions", key, `{"model":"demo-chat","stream":true,"messages":[{"role":"user","content":"a b c d"}]}`)
	if seen.CompletionTokens == 0 || !seen.Estimated {
		t.Fatalf("estimated usage without a usage chunk: %+v", seen)
	}
}

// TestMutualTLSPrincipal serves the gateway over TLS with client
// certificates and checks the mapping from certificate to identity.
func TestMutualTLSPrincipal(t *testing.T) {
	ca := testpki.NewCA(t, "clients")
	certs, err := access.NewCertMapper([]access.CertIdentity{
		{Name: "svc-chat", SPIFFEID: "spiffe://corp.example/ns/prod/sa/chat", Scopes: []string{"inference:invoke"}, Models: []string{"demo-chat"}},
		{Name: "svc-reader", CommonName: "reader", Scopes: []string{"models:read"}, Models: []string{"*"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	h := newHarness(t, func(o *Options) { o.Certs = certs })
	srv := httptest.NewUnstartedServer(h.gw)
	srv.TLS = &tls.Config{ClientCAs: ca.Pool(), ClientAuth: tls.VerifyClientCertIfGiven, MinVersion: tls.VersionTLS12}
	srv.StartTLS()
	defer srv.Close()

	client := func(cert *tls.Certificate) *http.Client {
		tr := srv.Client().Transport.(*http.Transport).Clone()
		if cert != nil {
			tr.TLSClientConfig.Certificates = []tls.Certificate{*cert}
		}
		return &http.Client{Transport: tr}
	}
	post := func(c *http.Client, body string) int {
		resp, err := c.Post(srv.URL+"/v1/chat/completions", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	chatCert := ca.Client("ignored", "spiffe://corp.example/ns/prod/sa/chat")
	readerCert := ca.Client("reader")
	strangerCert := ca.Client("stranger")
	rogue := testpki.NewCA(t, "rogue").Client("reader")

	if s := post(client(&chatCert), chatBody); s != 200 {
		t.Errorf("SPIFFE identity: %d", s)
	}
	if s := post(client(&chatCert), strings.Replace(chatBody, "demo-chat", "rec", 1)); s != 403 {
		t.Errorf("SPIFFE identity, model outside its list: %d", s)
	}
	if s := post(client(&readerCert), chatBody); s != 403 {
		t.Errorf("CN identity without the invoke scope: %d", s)
	}
	if s := post(client(&strangerCert), chatBody); s != 401 {
		t.Errorf("unmapped certificate: %d", s)
	}
	if s := post(client(nil), chatBody); s != 401 {
		t.Errorf("no certificate, no key: %d", s)
	}
	// A certificate from another CA never authenticates: Go's client
	// withholds a certificate no acceptable CA signed, and a server that
	// received one would fail the handshake.
	resp, err := client(&rogue).Post(srv.URL+"/v1/chat/completions", "application/json", strings.NewReader(chatBody))
	if err == nil {
		resp.Body.Close()
		if resp.StatusCode != 401 {
			t.Errorf("certificate from an unknown CA: %d, want 401", resp.StatusCode)
		}
	}
}
