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
		Actor:    Actor{Kind: ActorAPIKey, ID: "k3xabcdefghi", IP: "203.0.113.9", UserAgent: "curl/8.5 \"quoted\""},
		Action:   ActionInvoke,
		Resource: Resource{Route: "chat", Model: "llama3:8b", ModelVersion: "sha256:abc"},
		Decision: Decision{Outcome: Allowed},
		Guards: []GuardResult{{Name: "pii", Stage: "input", Verdict: "redact", Score: 0.8723456789, DurationUS: 12, Entities: map[string]int64{"EMAIL": 2, "\U0001F600x": 1, "\uffffy": 3}},
			{Name: "secrets", Stage: "output", Verdict: "block", Error: "guard overran its time budget"}},
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

// TestDecodeEvent checks that decodeEvent reads back exactly what the
// encoder writes, agrees with reflection-based decoding, and refuses what
// an event cannot hold.
func TestDecodeEvent(t *testing.T) {
	for _, e := range []*Event{sampleEvent(), {Time: time.Unix(0, 1), Actor: Actor{Kind: ActorSystem}, Action: ActionServerStart, Decision: Decision{Outcome: Allowed}}} {
		got, err := decodeEvent(e.Canonical())
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got.Canonical(), e.Canonical()) {
			t.Fatalf("round trip:\n%s\n%s", e.Canonical(), got.Canonical())
		}
		var viaJSON Event
		if err := json.Unmarshal(e.Canonical(), &viaJSON); err != nil || !bytes.Equal(viaJSON.Canonical(), got.Canonical()) {
			t.Fatalf("decodeEvent and json.Unmarshal disagree: %v", err)
		}
	}
	// Escapes in values, including a surrogate pair and a \u control.
	e := sampleEvent()
	e.RequestID = "tab\tquote\"back\\slash\x01\U0001F600é"
	if got, err := decodeEvent(e.Canonical()); err != nil || got.RequestID != e.RequestID {
		t.Fatalf("escaped string: %q %v", got.RequestID, err)
	}
	for _, bad := range []string{
		``, `{`, `{"action":"x","extra":1}`, `{"v":2}`, `{"index":"1"}`, `[]`, `{"actor":{"kind":"a","role":"root"}}`,
		`{"action":"x"} {}`, `{"time":"yesterday"}`, `{"action":"unterminated}`, `{"action":"a" "actor":{}}`,
		`{"request_id":"\q"}`, `{"request_id":"\u12"}`, `{"guards":[{"name":"a"},]}`, `{"usage":{"estimated":maybe}}`,
	} {
		if _, err := decodeEvent([]byte(bad)); err == nil {
			t.Errorf("decodeEvent(%s) accepted it", bad)
		}
	}
}

// FuzzDecodeEvent: the decoder never panics or hangs, and whatever it
// accepts re-encodes to canonical JSON (so the byte comparison in verify
// is what decides, never the decoder's leniency).
func FuzzDecodeEvent(f *testing.F) {
	f.Add(sampleEvent().Canonical())
	f.Add([]byte(`{"action":"a","actor":{"kind":"k"},"decision":{"outcome":"allowed"},"index":0,"time":"2026-01-01T00:00:00Z","v":1}`))
	f.Add([]byte(`{"request_id":"\ud83d\ude00\\\"","details":{"\u0041":"b"}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		ev, err := decodeEvent(data)
		if err != nil {
			return
		}
		out := ev.Canonical()
		canon := jsontext.Value(bytes.Clone(out))
		if err := canon.Canonicalize(); err != nil || !bytes.Equal(canon, out) {
			t.Fatalf("re-encoding of %q is not canonical: %q", data, out)
		}
		// If the input was canonical, the decoder read it exactly.
		if bytes.Equal(out, data) {
			var viaJSON Event
			if err := json.Unmarshal(data, &viaJSON); err != nil || !bytes.Equal(viaJSON.Canonical(), out) {
				t.Fatalf("decodeEvent accepted canonical %q that json.Unmarshal reads differently (%v)", data, err)
			}
		}
	})
}
