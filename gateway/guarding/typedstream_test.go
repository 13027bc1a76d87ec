package guarding

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/modelgate/modelgate/config"
	"github.com/modelgate/modelgate/gateway"
)

// typedEvent builds a named event as the Responses and Messages APIs send.
func typedEvent(name string, fields map[string]any) []byte {
	fields["type"] = name
	b, _ := json.Marshal(fields)
	return []byte("event: " + name + "\n" + string(gateway.DataEvent(b)))
}

// responsesStream is the events of a Responses answer whose text arrives
// in pieces, with the whole text repeated at the end as the API does.
func responsesStream(pieces []string) [][]byte {
	text := strings.Join(pieces, "")
	part := func(s string) map[string]any { return map[string]any{"type": "output_text", "text": s} }
	item := func(s string) map[string]any {
		return map[string]any{"type": "message", "id": "msg_1", "role": "assistant", "content": []any{part(s)}}
	}
	evs := [][]byte{
		typedEvent("response.created", map[string]any{"response": map[string]any{"id": "resp_1", "output": []any{}}}),
		typedEvent("response.output_item.added", map[string]any{"output_index": 0, "item": item("")}),
		typedEvent("response.content_part.added", map[string]any{"item_id": "msg_1", "output_index": 0, "content_index": 0, "part": part("")}),
	}
	for _, p := range pieces {
		evs = append(evs, typedEvent("response.output_text.delta", map[string]any{"item_id": "msg_1", "output_index": 0, "content_index": 0, "delta": p}))
	}
	return append(evs,
		typedEvent("response.output_text.done", map[string]any{"item_id": "msg_1", "output_index": 0, "content_index": 0, "text": text}),
		typedEvent("response.content_part.done", map[string]any{"item_id": "msg_1", "output_index": 0, "content_index": 0, "part": part(text)}),
		typedEvent("response.output_item.done", map[string]any{"output_index": 0, "item": item(text)}),
		typedEvent("response.completed", map[string]any{"response": map[string]any{"id": "resp_1", "output": []any{item(text)}}}),
	)
}

// messagesStream is the events of a Messages answer, with a ping between
// every two pieces: a keep-alive must not release what is held.
func messagesStream(pieces []string) [][]byte {
	evs := [][]byte{
		typedEvent("message_start", map[string]any{"message": map[string]any{"id": "msg_1", "role": "assistant", "content": []any{}}}),
		typedEvent("content_block_start", map[string]any{"index": 0, "content_block": map[string]any{"type": "text", "text": ""}}),
	}
	for _, p := range pieces {
		evs = append(evs, typedEvent("content_block_delta", map[string]any{"index": 0, "delta": map[string]any{"type": "text_delta", "text": p}}),
			typedEvent("ping", map[string]any{}))
	}
	return append(evs,
		typedEvent("content_block_stop", map[string]any{"index": 0}),
		typedEvent("message_delta", map[string]any{"delta": map[string]any{"stop_reason": "end_turn"}, "usage": map[string]any{"output_tokens": 9}}),
		typedEvent("message_stop", map[string]any{}))
}

// typedClient is what a client of a typed stream sees: the text its deltas
// add up to, the whole texts the closing events repeat, and whether any
// closing event came before the last delta.
type typedClient struct {
	text    strings.Builder
	wholes  []string
	names   []string
	closed  bool // a field's closing event was seen
	late    bool // a delta came after its field was closed
	flushes int
}

func (c *typedClient) see(t *testing.T, evs [][]byte) {
	t.Helper()
	for _, ev := range evs {
		name := string(gateway.EventName(ev))
		var e struct {
			Type  string          `json:"type"`
			Delta json.RawMessage `json:"delta"`
			Text  *string         `json:"text"`
		}
		if err := json.Unmarshal(gateway.EventData(ev), &e); err != nil {
			t.Fatalf("client got a broken event %q: %v", ev, err)
		}
		if name != e.Type {
			t.Fatalf("event named %q carries type %q", name, e.Type)
		}
		c.names = append(c.names, name)
		switch name {
		case "response.output_text.delta":
			var s string
			json.Unmarshal(e.Delta, &s)
			c.text.WriteString(s)
			c.late = c.late || c.closed
		case "content_block_delta":
			var d struct{ Text string }
			json.Unmarshal(e.Delta, &d)
			c.text.WriteString(d.Text)
			c.late = c.late || c.closed
		case "response.output_text.done", "content_block_stop":
			c.closed = true
			if e.Text != nil {
				c.wholes = append(c.wholes, *e.Text)
			}
		}
	}
}

func relayTyped(t *testing.T, sf gateway.StreamFilter, evs [][]byte) (*typedClient, error) {
	t.Helper()
	c := &typedClient{}
	for _, ev := range evs {
		out, err := sf.Event(ev)
		c.see(t, out)
		if err != nil {
			return c, err
		}
	}
	out, err := sf.End()
	c.see(t, out)
	return c, err
}

// TestTypedStreamsGuardSplitSecrets: in Responses and Messages streams a
// key split across deltas (and, for Messages, across keep-alives) is
// redacted whole or stops the stream before any of it is sent, and the
// text a closing event repeats is the same as the deltas'.
func TestTypedStreamsGuardSplitSecrets(t *testing.T) {
	block := profile(t, strings.Replace(outputSecrets, "%s", "block", 1))
	redact := profile(t, strings.Replace(outputSecrets, "%s", "redact", 1))
	text := "Here is the token you asked for: " + key + " and that is all."
	start := strings.Index(text, key)
	want := strings.Replace(text, key, "<GITHUB_PAT>", 1)
	for _, api := range []struct {
		endpoint gateway.Endpoint
		events   func([]string) [][]byte
	}{{gateway.EndpointResponses, responsesStream}, {gateway.EndpointMessages, messagesStream}} {
		for i := start + 1; i < start+len(key); i += 4 {
			for j := i + 1; j < start+len(key); j += 7 {
				pieces := []string{text[:i], text[i:j], text[j:]}
				name := fmt.Sprintf("%s split %d/%d", api.endpoint, i, j)

				x, _ := exchange(redact, context.Background())
				x.Endpoint = api.endpoint
				c, err := relayTyped(t, filter{}.FilterStream(x), api.events(pieces))
				if err != nil {
					t.Fatalf("%s: redact: %v", name, err)
				}
				if c.text.String() != want || c.late {
					t.Fatalf("%s: client got %q (a delta after its field closed: %v), want %q", name, c.text.String(), c.late, want)
				}
				for _, w := range c.wholes {
					if w != want {
						t.Fatalf("%s: a closing event repeats %q", name, w)
					}
				}

				x, _ = exchange(block, context.Background())
				x.Endpoint = api.endpoint
				c, err = relayTyped(t, filter{}.FilterStream(x), api.events(pieces))
				var r *gateway.Refusal
				if !errors.As(err, &r) || r.Code != "response_blocked" || r.Filter == nil {
					t.Fatalf("%s: block: err %v, want a content-filter refusal", name, err)
				}
				if got := c.text.String(); !strings.HasPrefix(text[:start], got) {
					t.Fatalf("%s: a piece of the key reached the client: %q", name, got)
				}
			}
		}
	}
}

// TestTypedStreamsKeepEventOrder: held text goes out before the event that
// closes its field, and every event keeps its name.
func TestTypedStreamsKeepEventOrder(t *testing.T) {
	x, _ := exchange(testProfile, context.Background())
	x.Endpoint = gateway.EndpointResponses
	c, err := relayTyped(t, filter{}.FilterStream(x), responsesStream([]string{"a b c d e f g h i j k l m n o p q r s t u v w x y z"}))
	if err != nil {
		t.Fatal(err)
	}
	if c.late || c.text.String() != "a b c d e f g h i j k l m n o p q r s t u v w x y z" {
		t.Fatalf("text %q, late %v", c.text.String(), c.late)
	}
	last := c.names[len(c.names)-1]
	if last != "response.completed" {
		t.Errorf("events %v", c.names)
	}
}

// TestOutputBlockModes: by default a withheld answer is a content-filter
// refusal (a 200 in the API's terms); output_block: error makes it a 502.
func TestOutputBlockModes(t *testing.T) {
	def := profile(t, "guards:\n  pipelines:\n    p:\n      output:\n        - guard: secrets\n          action: block\n")
	errMode := profile(t, "guards:\n  pipelines:\n    p:\n      output_block: error\n      output:\n        - guard: secrets\n          action: block\n")
	body := []byte(`{"choices":[{"index":0,"message":{"role":"assistant","content":"` + key + `"}}]}`)
	for _, tc := range []struct {
		p      *Profile
		filter bool
	}{{def, true}, {errMode, false}} {
		x, _ := exchange(tc.p, context.Background())
		_, err := filter{}.FilterBody(x, 200, body)
		var r *gateway.Refusal
		if !errors.As(err, &r) || r.Code != "response_blocked" || !r.Blocked || (r.Filter != nil) != tc.filter {
			t.Errorf("output_block error=%v: %+v", tc.p.OutputBlockError, r)
		}
		if tc.filter && (r.Filter.Guard != "secrets" || len(r.Filter.Entities) == 0) {
			t.Errorf("filter %+v: want the guard and what it found", r.Filter)
		}
	}
	if _, err := config.Parse("test", []byte("guards:\n  pipelines:\n    p:\n      output_block: maybe\n")); err == nil ||
		!strings.Contains(err.Error(), "output_block") {
		t.Errorf("a bad output_block: %v", err)
	}
}

// TestCanaryJoinsEachSystemPrompt: the canary goes where each API keeps
// its system prompt, added when the request has none.
func TestCanaryJoinsEachSystemPrompt(t *testing.T) {
	for _, tc := range []struct {
		endpoint gateway.Endpoint
		segs     []gateway.Segment
		body     string
		at       string // where the canary must be read back
	}{
		{gateway.EndpointChat, []gateway.Segment{{Path: "/messages/0/content", Role: "system", Text: "be kind"}},
			`{"messages":[{"role":"system","content":"be kind"}]}`, "/messages/0/content"},
		{gateway.EndpointChat, nil, `{"messages":[{"role":"user","content":"hi"}]}`, "/messages/0/content"},
		{gateway.EndpointResponses, []gateway.Segment{{Path: "/instructions", Role: "system", Text: "be kind"}},
			`{"model":"m","instructions":"be kind","input":"hi"}`, "/instructions"},
		{gateway.EndpointResponses, nil, `{"model":"m","input":"hi"}`, "/instructions"},
		{gateway.EndpointMessages, []gateway.Segment{{Path: "/system", Role: "system", Text: "be kind"}},
			`{"model":"m","system":"be kind","messages":[]}`, "/system"},
		{gateway.EndpointMessages, []gateway.Segment{{Path: "/system/0/text", Role: "system", Text: "be kind"}},
			`{"model":"m","system":[{"type":"text","text":"be kind"}],"messages":[]}`, "/system/0/text"},
		{gateway.EndpointMessages, nil, `{"model":"m","messages":[]}`, "/system"},
	} {
		x := &gateway.Exchange{Endpoint: tc.endpoint, Body: []byte(tc.body), Segments: tc.segs}
		if !insertCanary(x, "CANARY-TOKEN") {
			t.Fatalf("%s %s: refused", tc.endpoint, tc.body)
		}
		segs, err := textFields(x.Body, "")
		if err != nil {
			t.Fatalf("%s: %s is not valid JSON: %v", tc.endpoint, x.Body, err)
		}
		found := false
		for _, s := range segs {
			found = found || s.Path == tc.at && strings.Contains(s.Text, "CANARY-TOKEN")
		}
		if !found {
			t.Errorf("%s: %s has no canary at %s", tc.endpoint, x.Body, tc.at)
		}
	}
}
