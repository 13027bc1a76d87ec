package gateway

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestFeedback(t *testing.T) {
	fb := &Feedback{Secret: []byte("0123456789abcdef0123456789abcdef")}
	h := newHarness(t, func(o *Options) { o.Feedback = fb })
	key, k := h.key(nil)
	other, _ := h.key(nil)

	answer := h.do("POST", "/v1/chat/completions", key, chatBody)
	tok, rid := answer.Header.Get(FeedbackTokenHeader), answer.Header.Get("X-Request-Id")
	if answer.StatusCode != 200 || !strings.HasPrefix(tok, "mgf.") || rid == "" {
		t.Fatalf("answer: %d token %q id %q", answer.StatusCode, tok, rid)
	}
	body := func(rating, extra string) string {
		return `{"request_id":"` + rid + `","rating":` + rating + `,"category":"wrong","comment":"the total is off"` + extra + `}`
	}
	status := func(r response) string {
		if r.StatusCode != 200 {
			t.Fatalf("%d %s", r.StatusCode, r.body)
		}
		return strings.Split(strings.Split(string(r.body), `"status":"`)[1], `"`)[0]
	}
	// A browser with the token alone; the same again is not new; a change is.
	if s := status(h.do("POST", "/v1/feedback", "", body("-1", ""), FeedbackTokenHeader, tok)); s != "recorded" {
		t.Errorf("token: %s", s)
	}
	if s := status(h.do("POST", "/v1/feedback", "", body("-1", ""), FeedbackTokenHeader, tok)); s != "unchanged" {
		t.Errorf("the same again: %s", s)
	}
	if s := status(h.do("POST", "/v1/feedback", "", body("1", `,"token":"`+tok+`"`))); s != "recorded" {
		t.Errorf("changed, token in the body: %s", s)
	}
	// The key that made the request may; another may not.
	if s := status(h.do("POST", "/v1/feedback", key, body("-1", ""))); s != "recorded" {
		t.Errorf("the caller's key: %s", s)
	}
	wantError(t, h.do("POST", "/v1/feedback", other, body("-1", "")), http.StatusForbidden, TypePermission, "not_your_request")

	// Forged, foreign, expired or missing credentials are refused.
	forged := tok[:len(tok)-2] + "AA"
	wantError(t, h.do("POST", "/v1/feedback", "", body("-1", ""), FeedbackTokenHeader, forged), http.StatusUnauthorized, TypeAuthentication, "invalid_feedback_token")
	second := h.do("POST", "/v1/chat/completions", key, chatBody).Header.Get(FeedbackTokenHeader)
	wantError(t, h.do("POST", "/v1/feedback", "", body("-1", ""), FeedbackTokenHeader, second), http.StatusForbidden, TypePermission, "invalid_feedback_token")
	expired := fb.token(tokenClaims{RequestID: rid, Caller: k.ID, Expires: time.Now().Add(-time.Minute).Unix()})
	wantError(t, h.do("POST", "/v1/feedback", "", body("-1", ""), FeedbackTokenHeader, expired), http.StatusUnauthorized, TypeAuthentication, "invalid_feedback_token")
	wantError(t, h.do("POST", "/v1/feedback", "", body("-1", "")), http.StatusUnauthorized, TypeAuthentication, "missing_api_key")
	wantError(t, h.do("POST", "/v1/feedback", "mg_aaaaaaaaaaaa_"+strings.Repeat("b", 52), body("-1", "")), http.StatusUnauthorized, TypeAuthentication, "invalid_api_key")

	// What is said is checked.
	for _, bad := range []string{
		`{"request_id":"` + rid + `","rating":5}`,
		`{"request_id":"` + rid + `"}`,
		`{"rating":1}`,
		`{"request_id":"` + rid + `","rating":1,"category":"meh"}`,
		`{"request_id":"` + rid + `","rating":1,"mood":"sad"}`,
		`{"request_id":"` + rid + `","rating":1,"comment":"` + strings.Repeat("x", 2001) + `"}`,
		`not json`,
	} {
		if r := h.do("POST", "/v1/feedback", key, bad); r.StatusCode != 400 {
			t.Errorf("%.60s: %d %s", bad, r.StatusCode, r.body)
		}
	}
	if r := h.do("POST", "/v1/feedback", key, `{"comment":"`+strings.Repeat("x", 20000)+`"}`); r.StatusCode != 413 {
		t.Errorf("a huge body: %d", r.StatusCode)
	}
	if r := h.do("GET", "/v1/feedback", key, ""); r.StatusCode != 405 {
		t.Errorf("GET: %d", r.StatusCode)
	}
}

func TestFeedbackDisabled(t *testing.T) {
	h := newHarness(t)
	key, _ := h.key(nil)
	answer := h.do("POST", "/v1/chat/completions", key, chatBody)
	if answer.Header.Get(FeedbackTokenHeader) != "" {
		t.Error("a token without feedback enabled")
	}
	wantError(t, h.do("POST", "/v1/feedback", key, `{"request_id":"x","rating":1}`), http.StatusNotFound, TypeNotFound, "feedback_disabled")
}

func FuzzFeedbackToken(f *testing.F) {
	fb := &Feedback{Secret: []byte("0123456789abcdef")}
	f.Add(fb.token(tokenClaims{RequestID: "r", Expires: 1 << 40}))
	f.Add("mgf.e30.AAAA")
	f.Fuzz(func(t *testing.T, tok string) {
		if c, err := fb.verify(tok, time.Now()); err == nil && c.RequestID != "r" {
			t.Fatalf("a token nobody signed verified: %+v", c)
		}
	})
}
