package audit

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
)

func sampleEvent() *Event {
	return &Event{
		Index: 42, Time: time.Date(2026, 11, 21, 23, 59, 59, 123456789, time.UTC), RequestID: "req_abc",
		Actor:     Actor{Kind: ActorAPIKey, ID: "k3xabcdefghi", IP: "203.0.113.9", UserAgent: "curl/8.5 \"quoted\""},
		Action:    ActionInvoke,
		Resource:  Resource{Route: "chat", Model: "llama3:8b", ModelVersion: "sha256:abc"},
		Decision:  Decision{Outcome: Allowed},
		Guards:    []GuardResult{{Name: "pii", Verdict: "redact", Score: 0.8723456789, DurationUS: 12}},
		HTTP:      &HTTP{Method: "POST", Path: "/v1/chat/completions", Status: 200},
		LatencyUS: 1234, UpstreamLatencyUS: 1000,
		Usage:    &Usage{PromptTokens: 10, CompletionTokens: 20, Estimated: true},
		Payloads: Payloads{Input: &PayloadRef{Mode: CaptureHash, SHA256: strings.Repeat("ab", 32), Size: 99}},
		Details:  map[string]string{"zeta": "1", "alpha": "tab\there", "\U0001F600emoji": "x", "\uffffhigh": "y"},
	}
}

// checkCanonical asserts that the hand-written encoder produces exactly
// what an independent RFC 8785 implementation makes of it, and that it
// decodes back to the same event.
func checkCanonical(t *testing.T, e *Event) {
	t.Helper()
	got := e.Canonical()
	canon := jsontext.Value(bytes.Clone(got))
	if err := canon.Canonicalize(); err != nil {
		t.Fatalf("encoder output is not valid JSON: %v\n%s", err, got)
	}
	if !bytes.Equal(got, canon) {
		t.Fatalf("encoder output is not canonical:\n got %s\nwant %s", got, canon)
	}
	var back Event
	if err := json.Unmarshal(got, &back); err != nil {
		t.Fatalf("does not decode: %v", err)
	}
	if !bytes.Equal(back.Canonical(), got) {
		t.Fatalf("round trip changed the event:\n%s\n%s", got, back.Canonical())
	}
}

func TestCanonicalSample(t *testing.T) {
	e := sampleEvent()
	checkCanonical(t, e)
	if !bytes.Contains(e.Canonical(), []byte(`"score":0.872346`)) {
		t.Errorf("score not rounded to six decimals: %s", e.Canonical())
	}
	// The minimal event.
	checkCanonical(t, &Event{Time: time.Unix(0, 1), Actor: Actor{Kind: ActorSystem}, Action: ActionServerStart, Decision: Decision{Outcome: Allowed}})
}

func TestCanonicalEscapes(t *testing.T) {
	for _, s := range []string{"\x00\x01\x1f\x7f", "\"\\/", "\u2028\u2029", "é日本\U0001F600", "\xff\xfe invalid", "<>&"} {
		e := sampleEvent()
		e.RequestID, e.Actor.UserAgent = s, s
		checkCanonical(t, e)
	}
}

func FuzzCanonical(f *testing.F) {
	f.Add("req", "agent", "model", "k", "v", 0.5, int64(7))
	f.Add("\x00\"\\", "\U0001F600", "\xff", "\uffff", "\U00010000", 1e-7, int64(-1))
	f.Fuzz(func(t *testing.T, req, ua, model, dk, dv string, score float64, n int64) {
		e := sampleEvent()
		e.RequestID, e.Actor.UserAgent, e.Resource.Model = req, ua, model
		e.Guards[0].Score, e.Usage.PromptTokens, e.LatencyUS = score, n, n
		e.Details = map[string]string{dk: dv, dk + "x": dv}
		got := e.Canonical()
		canon := jsontext.Value(bytes.Clone(got))
		if err := canon.Canonicalize(); err != nil {
			t.Fatalf("invalid JSON: %v\n%q", err, got)
		}
		if !bytes.Equal(got, canon) {
			t.Fatalf("not canonical:\n got %q\nwant %q", got, canon)
		}
	})
}

func TestRanges(t *testing.T) {
	s := FormatRanges([]int64{9, 1, 2, 3, 5, 3, 12, 13})
	if s != "1-3,5,9,12-13" {
		t.Fatalf("FormatRanges: %q", s)
	}
	back, err := ParseRanges(s)
	if err != nil || len(back) != 7 || back[0] != 1 || back[6] != 13 {
		t.Fatalf("ParseRanges: %v %v", back, err)
	}
	for _, bad := range []string{"", "a", "5-3", "-1", "1,,2", "0-999999999999"} {
		if _, err := ParseRanges(bad); err == nil {
			t.Errorf("ParseRanges(%q) accepted", bad)
		}
	}
}
