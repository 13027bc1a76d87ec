package guarding

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/go-json-experiment/json/jsontext"

	"github.com/modelgate/modelgate/gateway"
	"github.com/modelgate/modelgate/guard"
)

// FuzzStream feeds arbitrary upstream events through the stream guard: it
// may refuse them, but never panics, and what it releases is JSON events.
func FuzzStream(f *testing.F) {
	f.Add([]byte(`{"choices":[{"index":0,"delta":{"content":"hi ghp_8dKq2mZpX4vN7bR1"}}]}`), []byte(`{"choices":[{"index":0,"delta":{"content":"sT6wY9cE3fH5jL0aQuIo ok"},"finish_reason":"stop"}]}`), uint8(0))
	f.Add([]byte(`{"choices":[{"index":0,"delta":{"tool_calls":[{"function":{"arguments":"{\"a\":"}}]}}]}`), []byte(`[DONE]`), uint8(0))
	f.Add([]byte(`{"choices":[{"index":"x"}]}`), []byte(`not json`), uint8(0))
	f.Add([]byte(`{"type":"response.output_text.delta","output_index":0,"content_index":0,"delta":"hi ghp_8dKq2mZpX4vN7bR1"}`),
		[]byte(`{"type":"response.output_text.done","output_index":0,"text":"x"}`), uint8(1))
	f.Add([]byte(`{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"sT6wY9cE3fH5jL0aQuIo"}}`),
		[]byte(`{"type":"message_delta","delta":{"stop_reason":"end_turn"}}`), uint8(2))
	f.Fuzz(func(t *testing.T, a, b []byte, api uint8) {
		p := testProfile
		x, _ := exchange(p, context.Background())
		x.Endpoint = [...]gateway.Endpoint{gateway.EndpointChat, gateway.EndpointResponses, gateway.EndpointMessages}[api%3]
		sf := filter{}.FilterStream(x)
		for _, data := range [][]byte{a, b} {
			ev := gateway.DataEvent(data)
			if x.Endpoint != gateway.EndpointChat {
				ev = append([]byte("event: e\n"), ev...)
			}
			evs, err := sf.Event(ev)
			if err != nil {
				return
			}
			for _, ev := range evs {
				if !bytes.Contains(ev, []byte("data: ")) {
					t.Fatalf("released an event without data %q", ev)
				}
				if x.Endpoint != gateway.EndpointChat && !bytes.HasPrefix(ev, []byte("event: ")) {
					t.Fatalf("released an event without its name %q", ev)
				}
			}
		}
		sf.End()
	})
}

// FuzzAnswer: FilterBody on arbitrary answers never panics.
func FuzzAnswer(f *testing.F) {
	f.Add([]byte(`{"choices":[{"message":{"content":"a@b.com"}}]}`), true)
	f.Add([]byte(`{"outputs":[{"data":[["x","y"]]}]}`), false)
	f.Add([]byte(`{"output":[{"type":"message","content":[{"type":"output_text","text":"a@b.com"}]}]}`), true)
	f.Add([]byte(`{"type":"message","content":[{"type":"tool_use","input":{"k":"a@b.com"}}]}`), true)
	f.Fuzz(func(t *testing.T, body []byte, chat bool) {
		x, _ := exchange(testProfile, context.Background())
		if !chat {
			x.Endpoint = gateway.EndpointInfer
		}
		out, err := filter{}.FilterBody(x, 200, body)
		if err == nil && len(out) == 0 && len(body) > 0 && strings.TrimSpace(string(body)) != "" {
			t.Fatalf("empty answer from %q", body)
		}
	})
}

// FuzzRewriteJSON: replacing every text field of any document keeps it
// valid JSON, and each replaced value reads back as written.
func FuzzRewriteJSON(f *testing.F) {
	f.Add([]byte(`{"messages":[{"role":"user","content":"a\"b\\"}]}`), "x\"y")
	f.Add([]byte(`{"choices":[{"message":{"content":"\\\\\""}}]}`), "")
	f.Fuzz(func(t *testing.T, doc []byte, with string) {
		if !jsontext.Value(doc).IsValid() {
			return
		}
		segs, err := textFields(doc, "")
		if err != nil {
			return
		}
		repl := map[string]string{}
		for _, s := range segs {
			if s.Kind.Rewritable() {
				repl[s.Path] = with
			}
		}
		out, err := rewriteJSON(doc, repl, map[string][]byte{"/messages": []byte(`{"role":"system","content":"c"}`)}, []string{"/choices/#/logprobs"})
		if err != nil {
			t.Fatalf("rewrite failed on a document textFields read: %v", err)
		}
		if !jsontext.Value(out).IsValid() {
			t.Fatalf("rewrite made invalid JSON: %s", out)
		}
		if !utf8.ValidString(with) {
			return
		}
		again, err := textFields(out, "")
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range again {
			if !s.Kind.Rewritable() {
				continue
			}
			if _, replaced := repl[s.Path]; replaced && s.Text != with && s.Path != "/messages/0/role" && s.Path != "/messages/0/content" {
				t.Fatalf("%s reads back %q, want %q", s.Path, s.Text, with)
			}
		}
	})
}

// FuzzTextFields: nothing that could carry a credential, a number or an
// instruction is passed over. Every string value with a character outside
// a lower-case word (other than a data: URL or base64 media, which are
// decoded) and every member name with a character outside [a-z_] is among
// the segments guards read.
func FuzzTextFields(f *testing.F) {
	f.Add([]byte(`{"model":"m","messages":[{"role":"user","name":"AKIAZ3MSJV4WWNKWW5FG","content":"hi"}],"metadata":{"Key X":"v"}}`))
	f.Add([]byte(`{"id":"chatcmpl-1","object":"chat.completion","choices":[{"finish_reason":"stop","message":{"tool_calls":[{"id":"call_1"}]}}]}`))
	f.Add([]byte(`{"inputs":[{"name":"x","datatype":"BYTES","data":["a"],"parameters":{"k":"v"}}]}`))
	f.Fuzz(func(t *testing.T, doc []byte) {
		segs, err := textFields(doc, "")
		if err != nil {
			return
		}
		read := map[string]bool{}
		for _, s := range segs {
			read[s.Path+"\x00"+string(rune('0'+s.Kind))] = true
			if !utf8.ValidString(s.Text) {
				t.Fatalf("segment %s with invalid UTF-8", s.Path)
			}
		}
		dec := jsontext.NewDecoder(bytes.NewReader(doc))
		for {
			tok, err := dec.ReadToken()
			if err != nil {
				return
			}
			if tok.Kind() != '"' {
				continue
			}
			s, ptr := tok.String(), string(dec.StackPointer())
			if k, n := dec.StackIndex(dec.StackDepth()); k == '{' && n%2 == 1 {
				if strings.Trim(s, "abcdefghijklmnopqrstuvwxyz_") != "" && !read[ptr+"\x00"+string(rune('0'+guard.MemberName))] {
					t.Fatalf("member name %q at %s not read", s, ptr)
				}
				continue
			}
			if strings.Trim(s, "abcdefghijklmnopqrstuvwxyz0123456789_.") == "" || strings.HasPrefix(strings.ToLower(s), "data:") ||
				strings.HasSuffix(ptr, "/input_audio/data") || strings.HasSuffix(ptr, "/datatype") {
				continue
			}
			if !read[ptr+"\x00"+string(rune('0'+guard.Prose))] && !read[ptr+"\x00"+string(rune('0'+guard.Identifier))] {
				t.Fatalf("value %q at %s not read", s, ptr)
			}
		}
	})
}
