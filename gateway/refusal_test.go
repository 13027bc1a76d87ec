package gateway

import (
	"context"
	"net/http"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/modelgate/modelgate/access"
	"github.com/modelgate/modelgate/store"
)

func TestChatThroughGateway(t *testing.T) {
	h := newHarness(t)
	key, _ := h.key(nil)
	r := h.do("POST", "/v1/chat/completions", key, chatBody)
	if r.StatusCode != 200 || !strings.Contains(string(r.body), `"content":"hello gateway"`) {
		t.Fatalf("%d %s", r.StatusCode, r.body)
	}
	if r.Header.Get("X-Request-Id") == "" {
		t.Error("no X-Request-Id")
	}
}

func TestAuthenticationRefusals(t *testing.T) {
	h := newHarness(t)
	good, _ := h.key(nil)
	expired, _ := h.key(func(k *store.Key) { k.ExpiresAt = time.Now().Add(-time.Minute) })
	revoked, rk := h.key(nil)
	if _, err := h.store.RevokeKey(context.Background(), rk.ID, time.Now()); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		key     string
		headers []string
		code    string
	}{
		{"missing", "", nil, access.CodeMissingKey},
		{"garbage", "sk-not-ours", nil, access.CodeInvalidKey},
		{"wrong secret", good[:len(good)-3] + "aaa", nil, access.CodeInvalidKey},
		{"expired", expired, nil, access.CodeExpiredKey},
		{"revoked", revoked, nil, access.CodeRevokedKey},
		{"two different keys", good, []string{"X-Api-Key", expired}, access.CodeAmbiguousKey},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.name == "wrong secret" && strings.HasSuffix(good, "aaa") {
				t.Skip("the random secret happens to end in aaa")
			}
			r := h.do("POST", "/v1/chat/completions", tc.key, chatBody, tc.headers...)
			wantError(t, r, 401, TypeAuthentication, tc.code)
			if r.Header.Get("Www-Authenticate") == "" {
				t.Error("401 without WWW-Authenticate")
			}
		})
	}
	// curl -d's default form type, and text/plain, carry JSON bodies too.
	for _, ct := range []string{"application/x-www-form-urlencoded", "text/plain; charset=utf-8", "application/vnd.api+json"} {
		if r := h.do("POST", "/v1/chat/completions", good, chatBody, "Content-Type", ct); r.StatusCode != 200 {
			t.Errorf("Content-Type %s: %d", ct, r.StatusCode)
		}
	}
	// x-api-key alone works.
	if r := h.do("POST", "/v1/chat/completions", "", chatBody, "X-Api-Key", good); r.StatusCode != 200 {
		t.Fatalf("x-api-key: %d %s", r.StatusCode, r.body)
	}
}

func TestRevocationTakesEffectOnNextRequest(t *testing.T) {
	h := newHarness(t)
	key, k := h.key(nil)
	if r := h.do("POST", "/v1/chat/completions", key, chatBody); r.StatusCode != 200 {
		t.Fatalf("before revocation: %d", r.StatusCode)
	}
	// Revoke through a second handle on the same database, as the CLI in
	// another process does; the gateway has the key cached.
	other := reopen(t, h)
	if _, err := other.RevokeKey(context.Background(), k.ID, time.Now()); err != nil {
		t.Fatal(err)
	}
	wantError(t, h.do("POST", "/v1/chat/completions", key, chatBody), 401, TypeAuthentication, access.CodeRevokedKey)
}

func TestAuthorisationRefusals(t *testing.T) {
	h := newHarness(t)
	readOnly, _ := h.key(func(k *store.Key) { k.Scopes = []string{"models:read"} })
	noScopes, _ := h.key(func(k *store.Key) { k.Scopes = []string{"audit:read"} })
	if r := h.do("GET", "/v2/health/ready", noScopes, ""); r.StatusCode != 200 {
		t.Errorf("health with any valid key: %d", r.StatusCode)
	}
	onlyClassifier, _ := h.key(func(k *store.Key) { k.Models = []string{"demo-classifier"} })
	wantError(t, h.do("POST", "/v1/chat/completions", readOnly, chatBody), 403, TypePermission, "insufficient_scope")
	wantError(t, h.do("GET", "/v1/models", noScopes, ""), 403, TypePermission, "insufficient_scope")
	wantError(t, h.do("POST", "/v1/chat/completions", onlyClassifier, chatBody), 403, TypePermission, "model_not_allowed")

	all, _ := h.key(nil)
	wantError(t, h.do("POST", "/v1/chat/completions", all, strings.Replace(chatBody, "demo-chat", "gpt-9", 1)),
		404, TypeNotFound, "model_not_found")
	wantError(t, h.do("POST", "/v1/chat/completions", all, strings.Replace(chatBody, "demo-chat", "demo-classifier", 1)),
		400, TypeInvalidRequest, "wrong_protocol")
}

func TestModelListIsFilteredByAllowList(t *testing.T) {
	h := newHarness(t)
	key, _ := h.key(func(k *store.Key) { k.Models = []string{"demo-chat"} })
	r := h.do("GET", "/v1/models", key, "")
	if r.StatusCode != 200 || !strings.Contains(string(r.body), `"id":"demo-chat"`) || strings.Contains(string(r.body), `"rec"`) {
		t.Fatalf("%d %s", r.StatusCode, r.body)
	}
	if r := h.do("GET", "/v1/models/demo-chat", key, ""); r.StatusCode != 200 {
		t.Fatalf("GET one model: %d", r.StatusCode)
	}
	wantError(t, h.do("GET", "/v1/models/rec", key, ""), 404, TypeNotFound, "model_not_found")
}

func TestIPLists(t *testing.T) {
	h := newHarness(t, func(o *Options) {
		o.StaticIPRules = []*store.IPRule{{ID: "cfg", CIDR: "192.0.2.0/24", Action: store.IPDeny}}
	})
	key, k := h.key(nil)
	// A per-key allow list that excludes loopback.
	if err := h.store.CreateIPRule(context.Background(), &store.IPRule{CIDR: "10.0.0.0/8", Action: store.IPAllow, KeyID: k.ID}); err != nil {
		t.Fatal(err)
	}
	wantError(t, h.do("POST", "/v1/chat/completions", key, chatBody), 403, TypePermission, "ip_denied")
	other, _ := h.key(nil)
	if r := h.do("POST", "/v1/chat/completions", other, chatBody); r.StatusCode != 200 {
		t.Fatalf("other key: %d %s", r.StatusCode, r.body)
	}
	// A global deny on loopback blocks everyone, before authentication.
	if err := h.store.CreateIPRule(context.Background(), &store.IPRule{CIDR: "127.0.0.0/8", Action: store.IPDeny}); err != nil {
		t.Fatal(err)
	}
	wantError(t, h.do("POST", "/v1/chat/completions", "", chatBody), 403, TypePermission, "ip_denied")
}

func TestMethodAndPathRefusals(t *testing.T) {
	h := newHarness(t)
	key, _ := h.key(nil)
	r := h.do("GET", "/v1/chat/completions", key, "")
	wantError(t, r, 405, TypeInvalidRequest, "method_not_allowed")
	if r.Header.Get("Allow") != "POST" {
		t.Errorf("Allow %q", r.Header.Get("Allow"))
	}
	r = h.do("POST", "/v1/models", key, "{}")
	wantError(t, r, 405, TypeInvalidRequest, "method_not_allowed")
	if r.Header.Get("Allow") != "GET" {
		t.Errorf("Allow %q", r.Header.Get("Allow"))
	}
	for _, p := range []string{
		"/v1/chat/completions/", "/v1//chat/completions", "/V1/chat/completions", "/v1/chat/../chat/completions",
		"/v2/models/a%2Fb/infer", "/v2/models/demo-classifier/infer/extra", "/v2/models/../infer", "/admin/v1/keys", "/",
	} {
		r := h.do("POST", p, key, chatBody)
		if r.StatusCode != 404 && r.StatusCode != 301 {
			t.Errorf("POST %s: %d, want 404", p, r.StatusCode)
		}
		if r.StatusCode == 200 {
			t.Errorf("POST %s reached an upstream", p)
		}
	}
}

func TestBodyRefusals(t *testing.T) {
	h := newHarness(t, func(o *Options) {
		o.Limits = Limits{MaxBodyBytes: 2048, MaxMessages: 3, MaxPromptChars: 100}
	})
	key, _ := h.key(nil)
	msg := func(n int, text string) string {
		var parts []string
		for range n {
			parts = append(parts, `{"role":"user","content":"`+text+`"}`)
		}
		return `{"model":"demo-chat","messages":[` + strings.Join(parts, ",") + `]}`
	}
	tests := []struct {
		name         string
		body         string
		headers      []string
		status       int
		code, inText string
	}{
		{"too large", `{"model":"demo-chat","pad":"` + strings.Repeat("x", 3000) + `"}`, nil, 413, "request_too_large", "2048"},
		{"not json", `{"model":`, nil, 400, "invalid_json", "not valid JSON"},
		{"empty", ``, nil, 400, "invalid_json", "empty"},
		{"array body", `[1]`, nil, 400, "invalid_json", "JSON object"},
		{"wrong field type", `{"model":"demo-chat","messages":"hi"}`, nil, 400, "invalid_field", "messages must be an array"},
		{"missing model", `{"messages":[{"role":"user","content":"x"}]}`, nil, 400, "invalid_field", "model is required"},
		{"bad role", `{"model":"demo-chat","messages":[{"role":"root","content":"x"}]}`, nil, 400, "invalid_field", "messages[0].role"},
		{"bad content", `{"model":"demo-chat","messages":[{"role":"user","content":{"a":1}}]}`, nil, 400, "invalid_field", "messages[0].content"},
		{"negative max_tokens", `{"model":"demo-chat","messages":[{"role":"user","content":"x"}],"max_tokens":-1}`, nil, 400, "invalid_field", "max_tokens"},
		{"too many messages", msg(4, "x"), nil, 400, "too_many_messages", "limit is 3"},
		{"prompt too long", msg(2, strings.Repeat("y", 60)), nil, 400, "prompt_too_long", "limit is 100"},
		{"duplicate model key", `{"model":"rec","model":"demo-chat","messages":[{"role":"user","content":"x"}]}`, nil, 400, "duplicate_key", `"model"`},
		{"duplicate nested key", `{"model":"demo-chat","messages":[{"role":"user","content":"x","content":"y"}]}`, nil, 400, "duplicate_key", "messages[0].content"},
		{"invalid utf-8", "{\"model\":\"demo-chat\",\"messages\":[{\"role\":\"user\",\"content\":\"\xff\"}]}", nil, 400, "invalid_json", "UTF-8"},
		{"byte order mark", "\ufeff" + chatBody, nil, 400, "invalid_json", "not valid JSON"},
		{"trailing data", chatBody + `{}`, nil, 400, "invalid_json", "after top-level value"},
		{"case-variant key", `{"MODEL":"demo-chat","messages":[{"role":"user","content":"x"}]}`, nil, 400, "invalid_field", "model is required"},
		{"multipart upload", chatBody, []string{"Content-Type", "multipart/form-data; boundary=x"}, 415, "unsupported_media_type", "application/json"},
		{"binary tensor", chatBody, []string{"Content-Type", "application/octet-stream"}, 415, "unsupported_media_type", "application/json"},
		{"gzip body", chatBody, []string{"Content-Encoding", "gzip"}, 415, "unsupported_content_encoding", "gzip"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := h.do("POST", "/v1/chat/completions", key, tc.body, tc.headers...)
			if tc.body == "" {
				r = h.do("POST", "/v1/chat/completions", key, "", "Content-Type", "application/json")
			}
			typ := TypeInvalidRequest
			wantError(t, r, tc.status, typ, tc.code)
			if !strings.Contains(r.err.Error.Message, tc.inText) {
				t.Errorf("message %q does not mention %q", r.err.Error.Message, tc.inText)
			}
		})
	}
	if h.rec.count() != 0 {
		t.Fatalf("a refused request reached the upstream")
	}
}

func TestChunkedBodyTooLarge(t *testing.T) {
	h := newHarness(t, func(o *Options) { o.Limits.MaxBodyBytes = 1024 })
	key, _ := h.key(nil)
	// No Content-Length: the limit must hold while reading.
	req, _ := http.NewRequest("POST", h.srv.URL+"/v1/chat/completions", struct{ *strings.Reader }{strings.NewReader(
		`{"model":"demo-chat","x":"` + strings.Repeat("z", 5000) + `"}`)})
	req.Header.Set("Authorization", "Bearer "+key)
	req.ContentLength = -1
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 413 {
		t.Fatalf("chunked oversized body: %d", resp.StatusCode)
	}
}

func TestHeaderTooLarge(t *testing.T) {
	h := newHarness(t, func(o *Options) { o.Limits.MaxHeaderBytes = 2048 })
	key, _ := h.key(nil)
	r := h.do("POST", "/v1/chat/completions", key, chatBody, "X-Padding", strings.Repeat("p", 4000))
	wantError(t, r, 431, TypeInvalidRequest, "headers_too_large")
}

func TestKServeRefusals(t *testing.T) {
	h := newHarness(t)
	key, _ := h.key(nil)
	tests := []struct{ name, body, inText string }{
		{"no inputs", `{"inputs":[]}`, "inputs must be a non-empty"},
		{"bad datatype", `{"inputs":[{"name":"features","shape":[1],"datatype":"FP128","data":[1]}]}`, "inputs[0].datatype"},
		{"shape mismatch", `{"inputs":[{"name":"features","shape":[2,4],"datatype":"FP32","data":[1,2,3]}]}`, "holds 3 elements but shape [2 4] needs 8"},
		{"negative dim", `{"inputs":[{"name":"features","shape":[-1,4],"datatype":"FP32","data":[1,2,3,4]}]}`, "inputs[0].shape[0]"},
		{"string in FP32", `{"inputs":[{"name":"features","shape":[2],"datatype":"FP32","data":[1,"x"]}]}`, "inputs[0].data[1] must be a number"},
		{"int out of range", `{"inputs":[{"name":"x","shape":[1],"datatype":"INT8","data":[300]}]}`, "range of INT8"},
		{"fraction in INT32", `{"inputs":[{"name":"x","shape":[1],"datatype":"INT32","data":[1.5]}]}`, "range of INT32"},
		{"nested position", `{"inputs":[{"name":"x","shape":[2,2],"datatype":"BOOL","data":[[true,false],[true,1]]}]}`, "inputs[0].data[1][1]"},
		{"object in data", `{"inputs":[{"name":"x","shape":[1],"datatype":"FP32","data":[{"a":1}]}]}`, "not objects"},
		{"absurd shape", `{"inputs":[{"name":"x","shape":[100000,100000,100000],"datatype":"FP32","data":[1]}]}`, "more than"},
		{"missing data", `{"inputs":[{"name":"x","shape":[1],"datatype":"FP32"}]}`, "data is required"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := h.do("POST", "/v2/models/demo-classifier/infer", key, tc.body)
			wantError(t, r, 400, TypeInvalidRequest, "invalid_field")
			if !strings.Contains(r.err.Error.Message, tc.inText) {
				t.Errorf("message %q does not mention %q", r.err.Error.Message, tc.inText)
			}
		})
	}
}

func TestKServeThroughGateway(t *testing.T) {
	h := newHarness(t)
	key, _ := h.key(nil)
	body := `{"id":"x1","inputs":[{"name":"features","shape":[1,4],"datatype":"FP32","data":[1.9,0.1,1.8,1.9]}]}`
	for _, path := range []string{"/v2/models/demo-classifier/infer", "/v2/models/demo-classifier/versions/1/infer"} {
		r := h.do("POST", path, key, body)
		if r.StatusCode != 200 || !strings.Contains(string(r.body), `"name":"label"`) {
			t.Fatalf("%s: %d %s", path, r.StatusCode, r.body)
		}
	}
	for path, want := range map[string]int{
		"/v2/models/demo-classifier": 200, "/v2/models/demo-classifier/ready": 200,
		"/v2/health/live": 200, "/v2/health/ready": 200, "/v2/models/nope": 404,
	} {
		if r := h.do("GET", path, key, ""); r.StatusCode != want {
			t.Errorf("GET %s: %d, want %d (%s)", path, r.StatusCode, want, r.body)
		}
	}
	wantError(t, h.do("GET", "/v2/models/demo-classifier/infer", key, ""), 405, TypeInvalidRequest, "method_not_allowed")
	wantError(t, h.do("GET", "/v2/health/live", "", ""), 401, TypeAuthentication, access.CodeMissingKey)
}

func TestUpstreamFailures(t *testing.T) {
	h := newHarness(t)
	key, _ := h.key(nil)
	h.route(&store.Route{Model: "down", Protocol: store.ProtocolOpenAI, Upstream: store.Upstream{URL: "http://127.0.0.1:1/v1"}})
	h.route(&store.Route{Model: "slow", Protocol: store.ProtocolOpenAI,
		Upstream: store.Upstream{URL: h.recSrv.URL + "/v1", Timeout: store.Duration(200 * time.Millisecond)}})
	h.route(&store.Route{Model: "badcred", Protocol: store.ProtocolOpenAI,
		Upstream: store.Upstream{URL: h.recSrv.URL + "/v1", Credential: &store.Credential{Env: "MODELGATE_TEST_UNSET_VAR"}}})
	body := func(model string) string { return strings.Replace(chatBody, "demo-chat", model, 1) }

	wantError(t, h.do("POST", "/v1/chat/completions", key, body("down")), 502, TypeUpstream, "upstream_unreachable")
	wantError(t, h.do("POST", "/v1/chat/completions", key, body("badcred")), 502, TypeUpstream, "upstream_misconfigured")

	h.rec.answerWith(func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() })
	wantError(t, h.do("POST", "/v1/chat/completions", key, body("slow")), 504, TypeUpstream, "upstream_timeout")

	h.rec.answerWith(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(401) })
	wantError(t, h.do("POST", "/v1/chat/completions", key, body("rec")), 502, TypeUpstream, "upstream_auth_failed")

	h.rec.answerWith(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Encoding", "gzip")
		w.Write([]byte("\x1f\x8b"))
	})
	wantError(t, h.do("POST", "/v1/chat/completions", key, body("rec")), 502, TypeUpstream, "bad_upstream_response")

	// An upstream's own 4xx passes through untouched.
	h.rec.answerWith(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(400)
		w.Write([]byte(`{"error":{"message":"context too long","type":"invalid_request_error"}}`))
	})
	if r := h.do("POST", "/v1/chat/completions", key, body("rec")); r.StatusCode != 400 || r.err.Error.Message != "context too long" {
		t.Fatalf("upstream 400: %d %s", r.StatusCode, r.body)
	}
}

// failingStore fails every generation read once switched on.
type failingStore struct {
	store.Store
	fail bool
}

func (f *failingStore) Generation(ctx context.Context) (uint64, error) {
	if f.fail {
		return 0, context.DeadlineExceeded
	}
	return f.Store.Generation(ctx)
}

func TestStoreUnavailableFailsClosed(t *testing.T) {
	var fs *failingStore
	h := newHarness(t, func(o *Options) { fs = &failingStore{Store: o.Store}; o.Store = fs })
	key, _ := h.key(nil)
	if r := h.do("POST", "/v1/chat/completions", key, chatBody); r.StatusCode != 200 {
		t.Fatalf("%d", r.StatusCode)
	}
	fs.fail = true
	wantError(t, h.do("POST", "/v1/chat/completions", key, chatBody), 503, TypeServer, "store_unavailable")
}

func TestClientIPBehindTrustedProxy(t *testing.T) {
	trusted := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}
	tests := []struct {
		remote, xff, want string
	}{
		{"203.0.113.5:1234", "198.51.100.1", "203.0.113.5"},                  // untrusted peer: header ignored
		{"10.0.0.2:1234", "198.51.100.1", "198.51.100.1"},                    // one trusted hop
		{"10.0.0.2:1234", "6.6.6.6, 198.51.100.1, 10.0.0.9", "198.51.100.1"}, // spoofed left entry ignored
		{"10.0.0.2:1234", "not-an-ip", "10.0.0.2"},
		{"[::ffff:10.0.0.2]:1234", "198.51.100.7", "198.51.100.7"},
		{"10.0.0.2:1234", "", "10.0.0.2"},
	}
	for _, tc := range tests {
		r, _ := http.NewRequest("GET", "/", nil)
		r.RemoteAddr = tc.remote
		if tc.xff != "" {
			r.Header.Set("X-Forwarded-For", tc.xff)
		}
		if got := clientIP(r, trusted); got.String() != tc.want {
			t.Errorf("remote %s xff %q: got %s, want %s", tc.remote, tc.xff, got, tc.want)
		}
	}
}
