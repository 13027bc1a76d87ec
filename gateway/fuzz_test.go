package gateway

import (
	"bufio"
	"bytes"
	"io"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
)

// FuzzParseRequest feeds arbitrary bodies to every request parser. None may
// panic; what they accept must be a JSON object whose text segments are
// valid UTF-8 and counted consistently.
func FuzzParseRequest(f *testing.F) {
	for _, s := range []string{
		chatBody,
		`{"model":"m","messages":[{"role":"user","content":[{"type":"text","text":"hi"},{"type":"image_url","image_url":{"url":"x"}}]}]}`,
		`{"model":"m","messages":[{"role":"assistant","content":null,"tool_calls":[{"function":{"name":"f","arguments":"{}"}}]}]}`,
		`{"model":"m","prompt":["a",[1,2],3]}`,
		`{"model":"m","input":"text"}`,
		`{"inputs":[{"name":"x","shape":[2,2],"datatype":"BYTES","data":[["a","b"],["c","d"]]}]}`,
		`{"inputs":[{"name":"x","shape":[3],"datatype":"INT8","data":[1,-2,127]}]}`,
		`{"model":"a","model":"b"}`,
		`{"model":"m","instructions":"x","input":[{"role":"user","content":[{"type":"input_text","text":"hi"}]},{"type":"function_call_output","output":[{"type":"input_text","text":"t"}]}]}`,
		`{"model":"m","system":[{"type":"text","text":"s"}],"messages":[{"role":"user","content":[{"type":"tool_result","content":[{"type":"text","text":"r"}]}]}]}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		parsers := []func([]byte) (*request, *Refusal){
			parseChat, parseCompletion, parseEmbedding, parseResponses,
			func(b []byte) (*request, *Refusal) { return parseInfer(b, "m") },
			func(b []byte) (*request, *Refusal) { return parseMessages(nil, b) },
		}
		for _, parse := range parsers {
			q, r := parse(body)
			if (q == nil) == (r == nil) {
				t.Fatalf("parser returned request %v and refusal %v", q, r)
			}
			if r != nil {
				if r.Status != 400 || r.Message == "" {
					t.Fatalf("refusal %+v", r)
				}
				continue
			}
			if !bytes.HasPrefix(bytes.TrimLeft(body, " \t\r\n"), []byte("{")) {
				t.Fatalf("accepted a body that is not an object: %q", body)
			}
			chars := 0
			for _, s := range q.segments {
				if !utf8.ValidString(s.Text) {
					t.Fatalf("segment with invalid UTF-8 accepted: %q", s.Text)
				}
				if !strings.HasPrefix(s.Path, "/") {
					t.Fatalf("segment path %q is not a JSON pointer", s.Path)
				}
				chars += utf8.RuneCountInString(s.Text)
			}
			if chars != q.chars || q.tokens < 0 {
				t.Fatalf("counted %d characters, segments hold %d; tokens %d", q.chars, chars, q.tokens)
			}
		}
	})
}

// FuzzSetModel checks that rewriting the model keeps a valid object whose
// model is the new name and whose other members are unchanged.
func FuzzSetModel(f *testing.F) {
	f.Add([]byte(chatBody), "llama3:8b")
	f.Add([]byte(`{"a":{"model":"inner"},"model":"x","z":[1,2]}`), "y")
	f.Fuzz(func(t *testing.T, body []byte, model string) {
		if !utf8.ValidString(model) {
			return
		}
		var before map[string]jsontext.Value
		if json.Unmarshal(body, &before) != nil {
			return
		}
		out, err := setModel(body, model)
		if err != nil {
			t.Fatalf("setModel on a valid object: %v", err)
		}
		var after map[string]jsontext.Value
		if err := json.Unmarshal(out, &after); err != nil {
			t.Fatalf("output is not a valid object: %v\n%s", err, out)
		}
		for k, v := range before {
			if k == "model" {
				continue
			}
			if !bytes.Equal(after[k], v) {
				t.Fatalf("member %q changed: %s -> %s", k, v, after[k])
			}
		}
		if _, had := before["model"]; had {
			var got string
			if json.Unmarshal(after["model"], &got) != nil || got != model {
				t.Fatalf("model is %s, want %q", after["model"], model)
			}
		}
	})
}

// FuzzReadEvent checks the SSE reader on arbitrary streams: no panic, no
// event larger than the bound, and no byte of content lost or invented
// (only the blank lines between events are dropped).
func FuzzReadEvent(f *testing.F) {
	f.Add([]byte("data: a\n\ndata: b\r\n\r\n: comment\n\n"))
	f.Add([]byte("data: {}\n\n\n\ndata: [DONE]\n\n"))
	f.Add([]byte("data: unterminated"))
	f.Fuzz(func(t *testing.T, stream []byte) {
		br := bufio.NewReaderSize(bytes.NewReader(stream), 16)
		var got []byte
		for {
			ev, err := readEvent(br, nil)
			if len(ev) > maxEventBytes {
				t.Fatalf("event of %d bytes", len(ev))
			}
			got = append(got, ev...)
			if err == io.EOF {
				break
			}
			if err != nil {
				return
			}
		}
		strip := func(b []byte) []byte {
			var out []byte
			for line := range bytes.Lines(b) {
				if string(line) != "\n" && string(line) != "\r\n" {
					out = append(out, line...)
				}
			}
			return out
		}
		if !bytes.Equal(strip(got), strip(stream)) {
			t.Fatalf("content changed:\n in %q\nout %q", stream, got)
		}
		_ = EventData(got)
	})
}

// FuzzAnswerFormats feeds arbitrary answers and stream events to every
// answer format. None may panic, a renumbered event stays valid JSON, and
// what the gateway writes for a withheld answer is valid JSON.
func FuzzAnswerFormats(f *testing.F) {
	f.Add([]byte(`{"choices":[{"index":0,"delta":{"content":"hi"},"finish_reason":null}],"usage":{"prompt_tokens":1,"completion_tokens":2}}`))
	f.Add([]byte(`{"type":"response.completed","sequence_number":7,"response":{"usage":{"input_tokens":1,"output_tokens":2}}}`))
	f.Add([]byte(`{"type":"message_delta","usage":{"output_tokens":3}}`))
	f.Add([]byte(`{"sequence_number":-1}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, format := range []answerFormat{chatFormat{}, chatFormat{completions: true}, responsesFormat{}, messagesFormat{}} {
			format.usage(data)
			fl := format.follow()
			fl.observe(data)
			out := fl.outgoing(DataEvent(data))
			if jsontext.Value(data).IsValid() && bytes.IndexByte(data, '\n') < 0 && !jsontext.Value(EventData(out)).IsValid() {
				t.Fatalf("%T renumbered %s into %s", format, data, out)
			}
			x := &Exchange{ID: "req_1", Model: "m", UpstreamBody: data}
			r := &Refusal{Status: 502, Code: "response_blocked", Message: "m", Filter: &ContentFilter{Guard: "g"}}
			if b := format.filtered(x, r); !jsontext.Value(b).IsValid() {
				t.Fatalf("%T made an invalid answer %s", format, b)
			}
			for _, ev := range fl.filteredEnd(x, r) {
				if d := EventData(ev); string(d) != "[DONE]" && !jsontext.Value(d).IsValid() {
					t.Fatalf("%T made an invalid event %s", format, ev)
				}
			}
			fl.usage(Usage{})
		}
	})
}
