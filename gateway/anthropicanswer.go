package gateway

import (
	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
)

// messagesFormat reads Anthropic Messages answers. A withheld answer is a
// message that stopped for "refusal", the stop reason Anthropic's API
// gives when its own classifiers stop a reply, with no content; streamed,
// the open content block is closed and message_delta and message_stop end
// the stream. The reason is in content_filter_results, as for OpenAI
// answers.
type messagesFormat struct{}

type anthropicUsage struct {
	InputTokens              int64 `json:"input_tokens"`
	OutputTokens             int64 `json:"output_tokens"`
	CacheCreationInputTokens int64 `json:"cache_creation_input_tokens"`
	CacheReadInputTokens     int64 `json:"cache_read_input_tokens"`
}

// prompt counts cached input too: it was sent and processed, even if
// billed at another rate.
func (u *anthropicUsage) prompt() int64 {
	return u.InputTokens + u.CacheCreationInputTokens + u.CacheReadInputTokens
}

type messagesObject struct {
	ID      jsontext.Value  `json:"id"`
	Model   jsontext.Value  `json:"model"`
	Usage   *anthropicUsage `json:"usage"`
	Content []struct {
		Text     *string `json:"text"`
		Thinking *string `json:"thinking"`
	} `json:"content"`
}

func (messagesFormat) usage(body []byte) (Usage, bool, tokenCounter, error) {
	var m messagesObject
	var text tokenCounter
	if err := json.Unmarshal(body, &m); err != nil {
		return Usage{}, false, text, err
	}
	for _, c := range m.Content {
		text.addPtr(c.Text)
		text.addPtr(c.Thinking)
	}
	if m.Usage == nil {
		return Usage{}, false, text, nil
	}
	return Usage{PromptTokens: m.Usage.prompt(), CompletionTokens: m.Usage.OutputTokens}, true, text, nil
}

type messagesWithheld struct {
	ID            string                  `json:"id"`
	Type          string                  `json:"type"`
	Role          string                  `json:"role"`
	Model         string                  `json:"model"`
	Content       []struct{}              `json:"content"`
	StopReason    jsontext.Value          `json:"stop_reason"`
	StopSequence  jsontext.Value          `json:"stop_sequence"`
	Usage         messagesUsageOut        `json:"usage"`
	FilterResults map[string]filterResult `json:"content_filter_results,omitzero"`
}

type messagesUsageOut struct {
	InputTokens  int64 `json:"input_tokens"`
	OutputTokens int64 `json:"output_tokens"`
}

// withheldMessage returns a message with no content, made by the gateway.
func withheldMessage(x *Exchange, u Usage) messagesWithheld {
	return messagesWithheld{ID: "msg_" + x.ID, Type: "message", Role: "assistant", Model: x.Model, Content: []struct{}{},
		StopReason: jsontext.Value("null"), StopSequence: jsontext.Value("null"), Usage: messagesUsageOut{u.PromptTokens, u.CompletionTokens}}
}

func (messagesFormat) filtered(x *Exchange, r *Refusal) []byte {
	m := withheldMessage(x, x.Usage)
	m.StopReason, m.FilterResults = jsontext.Value(`"refusal"`), filterResults(r)
	return marshal(m)
}

func (messagesFormat) follow() streamFollower {
	return &messagesFollower{upstream: messageState{open: -1}, sent: messageState{open: -1}}
}

// messagesFollower follows a Messages stream: message_start carries the
// input tokens, each message_delta the output tokens so far.
type messagesFollower struct {
	streamUsage
	delta  bool // a message_delta reported the final counts
	input  int64
	output int64
	// upstream is the state of the message as the upstream sent it; sent
	// as the client has it, which lags when a guard holds or stops events.
	upstream, sent messageState
}

type messageState struct {
	started bool  // message_start
	open    int64 // the index of the content block open, or -1
}

type messagesEvent struct {
	Type    string         `json:"type"`
	Index   *int64         `json:"index"`
	Usage   jsontext.Value `json:"usage"`
	Message *struct {
		Usage jsontext.Value `json:"usage"`
	} `json:"message"`
	Delta struct {
		Text        *string `json:"text"`
		PartialJSON *string `json:"partial_json"`
		Thinking    *string `json:"thinking"`
	} `json:"delta"`
}

func (f *messagesFollower) observe(data []byte) {
	if len(data) == 0 || data[0] != '{' {
		return
	}
	var ev messagesEvent
	if json.Unmarshal(data, &ev) != nil {
		return
	}
	switch ev.Type {
	case "message_start":
		if m := ev.Message; m != nil {
			f.upstream.started = true
			var u anthropicUsage
			if json.Unmarshal(m.Usage, &u) == nil {
				f.input, f.output = u.prompt(), u.OutputTokens
			}
		}
	case "message_delta":
		var u anthropicUsage
		if json.Unmarshal(ev.Usage, &u) == nil {
			f.delta = true
			f.output = u.OutputTokens
			if p := u.prompt(); p > 0 {
				f.input = p // newer API versions repeat the input counts here
			}
		}
	case "content_block_start":
		if ev.Index != nil {
			f.upstream.open = *ev.Index
		}
	case "content_block_stop":
		f.upstream.open = -1
	case "content_block_delta":
		f.text.addPtr(ev.Delta.Text)
		f.text.addPtr(ev.Delta.PartialJSON)
		f.text.addPtr(ev.Delta.Thinking)
	}
}

// usage is the upstream's count once a message_delta gave it; before that
// (a stream cut short) the input from message_start and an estimate of
// the output.
func (f *messagesFollower) usage(estimate Usage) Usage {
	switch {
	case f.delta:
		return Usage{PromptTokens: f.input, CompletionTokens: f.output}
	case f.upstream.started:
		return Usage{PromptTokens: f.input, CompletionTokens: f.text.tokens(), Estimated: true}
	}
	return f.streamUsage.usage(estimate)
}

// outgoing notes that what the upstream sent so far has reached the
// client.
func (f *messagesFollower) outgoing(ev []byte) []byte {
	f.sent = f.upstream
	return ev
}

func (f *messagesFollower) filteredEnd(x *Exchange, r *Refusal) [][]byte {
	var out [][]byte
	if !f.sent.started {
		start := struct {
			Type    string           `json:"type"`
			Message messagesWithheld `json:"message"`
		}{"message_start", withheldMessage(x, f.usage(x.Usage))}
		out = append(out, namedEvent(start.Type, marshal(start)))
	}
	if f.sent.open >= 0 {
		stop := struct {
			Type  string `json:"type"`
			Index int64  `json:"index"`
		}{"content_block_stop", f.sent.open}
		out = append(out, namedEvent(stop.Type, marshal(stop)))
	}
	var delta struct {
		Type  string `json:"type"`
		Delta struct {
			StopReason   string         `json:"stop_reason"`
			StopSequence jsontext.Value `json:"stop_sequence"`
		} `json:"delta"`
		Usage struct {
			OutputTokens int64 `json:"output_tokens"`
		} `json:"usage"`
		FilterResults map[string]filterResult `json:"content_filter_results"`
	}
	delta.Type = "message_delta"
	delta.Delta.StopReason, delta.Delta.StopSequence = "refusal", jsontext.Value("null")
	delta.Usage.OutputTokens = max(f.output, f.text.tokens())
	delta.FilterResults = filterResults(r)
	out = append(out, namedEvent(delta.Type, marshal(delta)))
	return append(out, namedEvent("message_stop", []byte(`{"type":"message_stop"}`)))
}

func (f *messagesFollower) errorEnd(x *Exchange, typ, code, msg string) [][]byte {
	return [][]byte{namedEvent("error", x.appendError(nil, typ, code, msg))}
}
