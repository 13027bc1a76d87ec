package gateway

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/modelgate/modelgate/store"
)

// observed records the last exchange a gateway finished.
type observed struct {
	mu sync.Mutex
	x  *Exchange
}

func (o *observed) middleware(next Handler) Handler {
	return func(x *Exchange) {
		next(x)
		o.mu.Lock()
		o.x = x
		o.mu.Unlock()
	}
}

func (o *observed) last() *Exchange {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.x
}

// newProtocolHarness adds an anthropic route to the demo model, which
// speaks Messages as well as OpenAI's APIs.
func newProtocolHarness(t *testing.T) (*harness, *observed) {
	obs := &observed{}
	h := newHarness(t, func(o *Options) { o.Hooks.Observe = []Middleware{obs.middleware} })
	h.route(&store.Route{Model: "demo-claude", Protocol: store.ProtocolAnthropic, Upstream: store.Upstream{URL: h.chat.URL + "/v1"}})
	h.route(&store.Route{Model: "rec-claude", Protocol: store.ProtocolAnthropic, Upstream: store.Upstream{URL: h.recSrv.URL + "/v1"}})
	return h, obs
}

func TestResponsesAPI(t *testing.T) {
	h, obs := newProtocolHarness(t)
	key, _ := h.key(nil)

	r := h.do("POST", "/v1/responses", key, `{"model":"demo-chat","instructions":"be brief","input":[{"role":"user","content":"four words of text"}]}`)
	if r.StatusCode != 200 || !strings.Contains(string(r.body), `"text":"four words of text"`) {
		t.Fatalf("%d %s", r.StatusCode, r.body)
	}
	x := obs.last()
	if x.Endpoint != EndpointResponses || x.Usage.Estimated || x.Usage.CompletionTokens != 4 || x.Usage.PromptTokens != 8 {
		t.Errorf("endpoint %v usage %+v: want the upstream's usage block (8 in, 4 out)", x.Endpoint, x.Usage)
	}
	if len(x.Segments) != 2 || x.Segments[0].Role != "system" || x.Segments[1].Role != "user" {
		t.Errorf("segments %+v", x.Segments)
	}

	r = h.do("POST", "/v1/responses", key, `{"model":"demo-chat","stream":true,"input":"streamed words here"}`)
	body := string(r.body)
	if r.StatusCode != 200 || !strings.Contains(body, "event: response.output_text.delta\n") || !strings.Contains(body, "event: response.completed\n") {
		t.Fatalf("stream: %d %s", r.StatusCode, body)
	}
	if x := obs.last(); x.Usage.Estimated || x.Usage.CompletionTokens != 3 {
		t.Errorf("stream usage %+v: want response.completed's usage", x.Usage)
	}

	// An answer without usage is estimated from its text.
	h.rec.answer(200, `{"id":"resp_1","object":"response","output":[{"type":"message","content":[{"type":"output_text","text":"abcdefgh"}]}]}`)
	h.do("POST", "/v1/responses", key, `{"model":"rec","input":"hi"}`)
	if x := obs.last(); !x.Usage.Estimated || x.Usage.CompletionTokens != 2 {
		t.Errorf("estimated usage %+v", x.Usage)
	}
	if got := h.rec.last().path; got != "/v1/responses" {
		t.Errorf("upstream path %q", got)
	}
}

func TestMessagesAPI(t *testing.T) {
	h, obs := newProtocolHarness(t)
	key, _ := h.key(nil)
	body := `{"model":"demo-claude","max_tokens":50,"system":"be brief","messages":[{"role":"user","content":[{"type":"text","text":"three little words"}]}]}`

	// Anthropic's SDKs send the key as x-api-key.
	r := h.do("POST", "/v1/messages", "", body, "X-Api-Key", key, "Anthropic-Version", "2023-06-01")
	if r.StatusCode != 200 || !strings.Contains(string(r.body), `"text":"three little words"`) {
		t.Fatalf("%d %s", r.StatusCode, r.body)
	}
	x := obs.last()
	if x.Endpoint != EndpointMessages || x.Usage.Estimated || x.Usage.CompletionTokens != 3 || x.Usage.PromptTokens != 9 {
		t.Errorf("endpoint %v usage %+v", x.Endpoint, x.Usage)
	}

	r = h.do("POST", "/v1/messages", key, strings.Replace(body, `"max_tokens":50`, `"max_tokens":50,"stream":true`, 1))
	s := string(r.body)
	for _, ev := range []string{"message_start", "content_block_delta", "message_delta", "message_stop"} {
		if !strings.Contains(s, "event: "+ev+"\n") {
			t.Fatalf("stream lacks %s: %s", ev, s)
		}
	}
	if x := obs.last(); x.Usage.Estimated || x.Usage.PromptTokens != 9 || x.Usage.CompletionTokens != 3 {
		t.Errorf("stream usage %+v: input from message_start, output from message_delta", x.Usage)
	}
}

func TestMessagesUpstreamRequest(t *testing.T) {
	t.Setenv("MODELGATE_TEST_ANTHROPIC_KEY", "sk-ant-upstream")
	h, _ := newProtocolHarness(t)
	h.route(&store.Route{Model: "keyed-claude", Protocol: store.ProtocolAnthropic, Upstream: store.Upstream{
		URL: h.recSrv.URL + "/v1", Model: "claude-sonnet-4-5", Credential: &store.Credential{Env: "MODELGATE_TEST_ANTHROPIC_KEY"}}})
	h.rec.answer(200, `{"id":"msg_1","type":"message","role":"assistant","content":[{"type":"text","text":"ok"}],"usage":{"input_tokens":3,"cache_read_input_tokens":10,"output_tokens":1}}`)
	key, _ := h.key(nil)
	body := `{"model":"keyed-claude","max_tokens":5,"messages":[{"role":"user","content":"hi"}]}`

	r := h.do("POST", "/v1/messages", key, body)
	if r.StatusCode != 200 {
		t.Fatalf("%d %s", r.StatusCode, r.body)
	}
	got := h.rec.last()
	if got.path != "/v1/messages" || got.header.Get("X-Api-Key") != "sk-ant-upstream" || got.header.Get("Authorization") != "" {
		t.Errorf("upstream %s, x-api-key %q, authorization %q: want the route's key as x-api-key", got.path,
			got.header.Get("X-Api-Key"), got.header.Get("Authorization"))
	}
	if v := got.header.Get("Anthropic-Version"); v != defaultAnthropicVersion {
		t.Errorf("anthropic-version %q, want the default", v)
	}
	if !strings.Contains(got.body, `"model":"claude-sonnet-4-5"`) {
		t.Errorf("body %s: the model was not renamed", got.body)
	}

	h.do("POST", "/v1/messages", key, body, "Anthropic-Version", "2023-01-01", "Anthropic-Beta", "tools-2024-04-04, pdfs-2024-09-25")
	got = h.rec.last()
	if got.header.Get("Anthropic-Version") != "2023-01-01" || got.header.Get("Anthropic-Beta") != "tools-2024-04-04, pdfs-2024-09-25" {
		t.Errorf("caller's version and beta headers not passed: %v", got.header)
	}

	calls := h.rec.count()
	r = h.do("POST", "/v1/messages", key, body, "Anthropic-Beta", "a;b=c")
	wantAnthropicError(t, r, 400, "invalid_request_error", "invalid_header")
	if h.rec.count() != calls {
		t.Error("the upstream was called with a malformed beta header")
	}
}

// anthropicErrorBody is Anthropic's error shape.
type anthropicErrorBody struct {
	Type  string `json:"type"`
	Error struct {
		Type    string `json:"type"`
		Message string `json:"message"`
		Code    string `json:"code"`
	} `json:"error"`
	RequestID string `json:"request_id"`
}

func wantAnthropicError(t *testing.T, r response, status int, typ, code string) {
	t.Helper()
	var e anthropicErrorBody
	if err := json.Unmarshal(r.body, &e); err != nil || r.StatusCode != status || e.Type != "error" ||
		e.Error.Type != typ || e.Error.Code != code || e.Error.Message == "" {
		t.Fatalf("got %d %s, want %d %s/%s in Anthropic's shape", r.StatusCode, r.body, status, typ, code)
	}
	if e.RequestID != r.Header.Get("X-Request-Id") {
		t.Errorf("request_id %q, header %q", e.RequestID, r.Header.Get("X-Request-Id"))
	}
}

func TestProtocolMismatchAndErrorShapes(t *testing.T) {
	h, _ := newProtocolHarness(t)
	key, _ := h.key(nil)
	claude := `{"model":"demo-claude","max_tokens":5,"messages":[{"role":"user","content":"hi"}]}`

	wantAnthropicError(t, h.do("POST", "/v1/messages", "", claude), 401, "authentication_error", "missing_api_key")
	wantAnthropicError(t, h.do("POST", "/v1/messages", key, strings.Replace(claude, "demo-claude", "demo-chat", 1)),
		400, "invalid_request_error", "wrong_protocol")
	wantAnthropicError(t, h.do("POST", "/v1/messages", key, strings.Replace(claude, "demo-claude", "nope", 1)),
		404, "not_found_error", "model_not_found")
	wantError(t, h.do("POST", "/v1/chat/completions", key, strings.Replace(chatBody, "demo-chat", "demo-claude", 1)),
		400, TypeInvalidRequest, "wrong_protocol")
	wantError(t, h.do("POST", "/v1/responses", key, `{"model":"demo-claude","input":"hi"}`), 400, TypeInvalidRequest, "wrong_protocol")

	for _, tc := range []struct{ path, body, want string }{
		{"/v1/responses", `{"input":"hi"}`, "model is required"},
		{"/v1/responses", `{"model":"demo-chat","input":42}`, "input must be a string or an array of input items"},
		{"/v1/responses", `{"model":"demo-chat","input":[{"content":"hi"}]}`, "input[0] needs a role"},
		{"/v1/responses", `{"model":"demo-chat","input":[{"role":"tool","content":"hi"}]}`, "input[0].role must be one of"},
		{"/v1/responses", `{"model":"demo-chat","input":[{"role":"user"}]}`, "input[0].content is required"},
		{"/v1/responses", `{"model":"demo-chat","input":[{"role":"user","content":[{"text":"x"}]}]}`, "input[0].content[0].type is required"},
		{"/v1/responses", `{"model":"demo-chat","input":"hi","max_output_tokens":-1}`, "max_output_tokens must not be negative"},
		{"/v1/messages", `{"model":"demo-claude","messages":[]}`, "messages must be a non-empty array"},
		{"/v1/messages", `{"model":"demo-claude","messages":[{"role":"system","content":"x"}]}`, "messages[0].role must be user or assistant"},
		{"/v1/messages", `{"model":"demo-claude","messages":[{"role":"user"}]}`, "messages[0].content is required"},
		{"/v1/messages", `{"model":"demo-claude","messages":[{"role":"user","content":[{"type":"text"}]}]}`, "messages[0].content[0].text is required"},
		{"/v1/messages", `{"model":"demo-claude","system":5,"messages":[{"role":"user","content":"x"}]}`, "system must be a string or an array of content blocks"},
		{"/v1/messages", `{"model":"demo-claude","max_tokens":-2,"messages":[{"role":"user","content":"x"}]}`, "max_tokens must not be negative"},
	} {
		r := h.do("POST", tc.path, key, tc.body)
		if r.StatusCode != 400 || !strings.Contains(string(r.body), tc.want) {
			t.Errorf("%s %s: %d %s, want 400 saying %q", tc.path, tc.body, r.StatusCode, r.body, tc.want)
		}
	}
}

// TestShouldRetry: every refusal a retry cannot change says so, in the
// header OpenAI's and Anthropic's SDKs read before their own rule; the
// ones a retry may get past leave the SDK's rule to decide.
func TestShouldRetry(t *testing.T) {
	h, _ := newProtocolHarness(t)
	key, _ := h.key(func(k *store.Key) { k.Models = []string{"demo-chat", "demo-claude", "bad-url", "dead"} })
	h.route(&store.Route{Model: "bad-url", Protocol: store.ProtocolOpenAI, Upstream: store.Upstream{URL: "ftp://nowhere"}})
	h.route(&store.Route{Model: "dead", Protocol: store.ProtocolOpenAI, Upstream: store.Upstream{URL: "http://127.0.0.1:1/v1"}})
	h.route(&store.Route{Model: "registry-only", Registry: "nothing", Protocol: store.ProtocolOpenAI, Upstream: store.Upstream{URL: h.chat.URL + "/v1"}})
	for _, tc := range []struct {
		name, body string
		key        string
		status     int
		retry      string // the x-should-retry header, "" for none
	}{
		{"unauthenticated", chatBody, "", 401, "false"},
		{"bad request", `{"model":"demo-chat"}`, key, 400, "false"},
		{"model not allowed", strings.Replace(chatBody, "demo-chat", "registry-only", 1), key, 403, "false"},
		{"no such model", strings.Replace(chatBody, "demo-chat", "nope", 1), key, 404, "false"},
		{"misconfigured upstream", strings.Replace(chatBody, "demo-chat", "bad-url", 1), key, 502, "false"},
		{"unreachable upstream", strings.Replace(chatBody, "demo-chat", "dead", 1), key, 502, ""},
	} {
		r := h.do("POST", "/v1/chat/completions", tc.key, tc.body)
		if r.StatusCode != tc.status || r.Header.Get("X-Should-Retry") != tc.retry {
			t.Errorf("%s: %d x-should-retry %q, want %d %q (%s)", tc.name, r.StatusCode, r.Header.Get("X-Should-Retry"), tc.status, tc.retry, r.body)
		}
	}

	retryable := map[string]bool{}
	for _, r := range []*Refusal{
		{Status: 408, Code: "body_timeout"}, {Status: 429, Code: "rate_limit_exceeded"},
		{Status: 503, Code: "store_unavailable"}, {Status: 503, Code: "audit_unavailable"}, {Status: 503, Code: "guard_failed"},
		{Status: 502, Code: "upstream_unreachable"}, {Status: 504, Code: "upstream_timeout"}, {Status: 502, Code: "output_check_failed"},
	} {
		retryable[r.Code] = true
		if !r.retryable() {
			t.Errorf("%d %s should be left to the SDK's retry rule", r.Status, r.Code)
		}
	}
	for _, r := range []*Refusal{
		{Status: 400, Code: "invalid_json"}, {Status: 401, Code: "invalid_api_key"}, {Status: 403, Code: "model_not_allowed"},
		{Status: 404, Code: "model_not_found"}, {Status: 413, Code: "request_too_large"},
		{Status: 502, Code: "response_blocked", Blocked: true}, {Status: 502, Code: "upstream_misconfigured"},
		{Status: 502, Code: "upstream_auth_failed"}, {Status: 502, Code: "bad_upstream_response"},
		{Status: 502, Code: "upstream_response_too_large"}, {Status: 503, Code: "model_unavailable"},
		{Status: 503, Code: "guard_pipeline_unknown"},
	} {
		if r.retryable() {
			t.Errorf("%d %s: a retry cannot change it, yet it is not marked so", r.Status, r.Code)
		}
	}
}

// TestWithheldAnswerShapes: an answer an output filter withholds reaches
// the caller in its API's content-filter terms, never as a status an SDK
// retries, and says which guard and why.
func TestWithheldAnswerShapes(t *testing.T) {
	withhold := withholdingFilter{}
	obs := &observed{}
	h := newHarness(t, func(o *Options) {
		o.Hooks.Observe = []Middleware{obs.middleware}
		o.Hooks.Output = []ResponseFilter{withhold}
	})
	h.route(&store.Route{Model: "demo-claude", Protocol: store.ProtocolAnthropic, Upstream: store.Upstream{URL: h.chat.URL + "/v1"}})
	key, _ := h.key(nil)
	for _, tc := range []struct {
		path, body string
		want       []string
	}{
		{"/v1/chat/completions", chatBody, []string{`"finish_reason":"content_filter"`, `"refusal":"withheld by test"`,
			`"content_filter_results":{"tester":{"filtered":true,"entities":["SECRET"]}}`, `"object":"chat.completion"`, `"usage":{"prompt_tokens"`}},
		{"/v1/completions", `{"model":"demo-chat","prompt":"hello gateway"}`, []string{`"finish_reason":"content_filter"`, `"text":""`, `"object":"text_completion"`}},
		{"/v1/responses", `{"model":"demo-chat","input":"hello gateway"}`, []string{`"status":"incomplete"`,
			`"incomplete_details":{"reason":"content_filter"}`, `"type":"refusal","refusal":"withheld by test"`, `"usage":{"input_tokens"`}},
		{"/v1/messages", `{"model":"demo-claude","max_tokens":9,"messages":[{"role":"user","content":"hello gateway"}]}`,
			[]string{`"stop_reason":"refusal"`, `"content":[]`, `"content_filter_results":{"tester"`}},
	} {
		r := h.do("POST", tc.path, key, tc.body)
		s := string(r.body)
		if r.StatusCode != 200 || r.Header.Get("X-Should-Retry") != "false" || strings.Contains(s, "hello gateway") {
			t.Errorf("%s: %d x-should-retry %q %s", tc.path, r.StatusCode, r.Header.Get("X-Should-Retry"), s)
		}
		for _, w := range tc.want {
			if !strings.Contains(s, w) {
				t.Errorf("%s: %s lacks %s", tc.path, s, w)
			}
		}
		if x := obs.last(); x.Denial == nil || x.Denial.Code != "response_blocked" || !x.Denial.Blocked || x.Status != 200 {
			t.Errorf("%s: the exchange must record the block: %+v status %d", tc.path, x.Denial, x.Status)
		}
	}

	// Streams end the same way, part way through.
	for _, tc := range []struct {
		path, body string
		want       []string
	}{
		{"/v1/chat/completions", `{"model":"demo-chat","stream":true,"messages":[{"role":"user","content":"one two three"}]}`,
			[]string{`"finish_reason":"content_filter"`, `"delta":{"refusal":"withheld by test"}`, "data: [DONE]"}},
		{"/v1/responses", `{"model":"demo-chat","stream":true,"input":"one two three"}`,
			[]string{"event: response.incomplete\n", `"reason":"content_filter"`}},
		{"/v1/messages", `{"model":"demo-claude","max_tokens":9,"stream":true,"messages":[{"role":"user","content":"one two three"}]}`,
			[]string{"event: content_block_stop\n", "event: message_delta\n", `"stop_reason":"refusal"`, "event: message_stop\n"}},
	} {
		r := h.do("POST", tc.path, key, tc.body)
		s := string(r.body)
		if r.StatusCode != 200 || strings.Contains(s, "three") {
			t.Errorf("%s stream: %d %s", tc.path, r.StatusCode, s)
		}
		for _, w := range tc.want {
			if !strings.Contains(s, w) {
				t.Errorf("%s stream: %s lacks %q", tc.path, s, w)
			}
		}
	}
}

// withholdingFilter withholds every answer containing "gateway" or
// "three", in content-filter mode.
type withholdingFilter struct{}

func withheldRefusal() *Refusal {
	return &Refusal{Status: http.StatusBadGateway, Type: TypeUpstream, Code: "response_blocked", Message: "withheld by test",
		Blocked: true, Filter: &ContentFilter{Guard: "tester", Entities: []string{"SECRET"}}}
}

func (withholdingFilter) FilterBody(x *Exchange, status int, body []byte) ([]byte, error) {
	if strings.Contains(string(body), "gateway") {
		return nil, withheldRefusal()
	}
	return body, nil
}

func (withholdingFilter) FilterStream(x *Exchange) StreamFilter { return withholdingStream{} }

type withholdingStream struct{}

func (withholdingStream) Event(ev []byte) ([][]byte, error) {
	if strings.Contains(string(ev), "three") {
		return nil, withheldRefusal()
	}
	return [][]byte{ev}, nil
}

func (withholdingStream) End() ([][]byte, error) { return nil, nil }

// TestResponsesSequenceNumbers: a filter that adds or holds back events
// leaves the numbers the client sees consecutive, and the gateway's own
// closing event takes the next one.
func TestResponsesSequenceNumbers(t *testing.T) {
	f := responsesFormat{}.follow()
	var got []int64
	for _, ev := range []string{
		`event: response.created` + "\n" + `data: {"type":"response.created","sequence_number":0}`,
		`event: response.output_text.delta` + "\n" + `data: {"type":"response.output_text.delta","sequence_number":1,"delta":"a"}`,
		// a flushed event cut from the one before repeats its number
		`event: response.output_text.delta` + "\n" + `data: {"type":"response.output_text.delta","sequence_number":1,"delta":"b"}`,
		// the upstream's event 2 was held back and dropped
		`event: response.output_text.done` + "\n" + `data: {"sequence_number": 3,"type":"response.output_text.done"}`,
	} {
		out := f.outgoing([]byte(ev))
		var v struct {
			N int64 `json:"sequence_number"`
		}
		if err := json.Unmarshal(EventData(out), &v); err != nil {
			t.Fatalf("%s: %v", out, err)
		}
		if !strings.HasPrefix(string(out), "event: ") {
			t.Fatalf("the event name was lost: %s", out)
		}
		got = append(got, v.N)
	}
	if want := []int64{0, 1, 2, 3}; !slices.Equal(got, want) {
		t.Errorf("numbers %v, want %v", got, want)
	}
	end := f.filteredEnd(&Exchange{ID: "req_1", Model: "m"}, withheldRefusal())
	if !strings.Contains(string(end[0]), `"sequence_number":4`) {
		t.Errorf("closing event %s, want number 4", end[0])
	}
}
