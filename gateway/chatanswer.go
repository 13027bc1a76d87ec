package gateway

import (
	"slices"
	"strconv"
	"time"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
)

// chatFormat reads OpenAI chat completions (and, with completions set,
// legacy text completions). A withheld answer is a 200 whose choices end
// with finish_reason "content_filter", the reason in each choice's
// content_filter_results, as Azure OpenAI reports its own filter; a chat
// message also carries it as its refusal, which SDKs surface.
type chatFormat struct{ completions bool }

// chatChunk is what the gateway reads of a chat answer or stream chunk.
// An odd index or finish reason is passed over rather than failing the
// chunk (and losing its usage), and neither is kept, so reading costs no
// allocation beyond the text.
type chatChunk struct {
	Usage   *chatCounts `json:"usage"`
	Choices []struct {
		Index        choiceIndex `json:"index"`
		FinishReason valueKind   `json:"finish_reason"`
		Text         *string     `json:"text"`
		Message      struct {
			Content *string `json:"content"`
		} `json:"message"`
		Delta struct {
			Content *string `json:"content"`
		} `json:"delta"`
	} `json:"choices"`
}

// choiceIndex is a choice's index, or -1 when it is not a whole number.
type choiceIndex int64

func (i *choiceIndex) UnmarshalJSONFrom(dec *jsontext.Decoder) error {
	v, err := dec.ReadValue()
	if err != nil {
		return err
	}
	*i = -1
	if n, err := strconv.ParseInt(string(v), 10, 64); err == nil && n >= 0 {
		*i = choiceIndex(n)
	}
	return nil
}

// valueKind is the kind of a value ('n' for null, '"' for a string), not
// the value.
type valueKind jsontext.Kind

func (k *valueKind) UnmarshalJSONFrom(dec *jsontext.Decoder) error {
	*k = valueKind(dec.PeekKind())
	return dec.SkipValue()
}

type chatCounts struct {
	PromptTokens     int64 `json:"prompt_tokens"`
	CompletionTokens int64 `json:"completion_tokens"`
}

func (c *chatCounts) reported() (Usage, bool) {
	if c == nil {
		return Usage{}, false
	}
	return Usage{PromptTokens: c.PromptTokens, CompletionTokens: c.CompletionTokens}, true
}

// chatComplete is what accounting reads of a complete answer: the counts,
// or the text to estimate them from.
type chatComplete struct {
	Usage   *chatCounts `json:"usage"`
	Choices []struct {
		Text    *string `json:"text"`
		Message struct {
			Content *string `json:"content"`
		} `json:"message"`
	} `json:"choices"`
}

func (f chatFormat) usage(body []byte) (Usage, bool, tokenCounter, error) {
	var c chatComplete
	var text tokenCounter
	if err := json.Unmarshal(body, &c); err != nil {
		return Usage{}, false, text, err
	}
	for _, ch := range c.Choices {
		text.addPtr(ch.Text)
		text.addPtr(ch.Message.Content)
	}
	u, ok := c.Usage.reported()
	return u, ok, text, nil
}

// chatChoice is one choice of a withheld answer.
type chatChoice struct {
	Index         int64                   `json:"index"`
	Message       *chatRefusalMessage     `json:"message,omitzero"`
	Delta         *chatRefusalMessage     `json:"delta,omitzero"`
	Text          *string                 `json:"text,omitzero"`
	Logprobs      jsontext.Value          `json:"logprobs"`
	FinishReason  string                  `json:"finish_reason"`
	FilterResults map[string]filterResult `json:"content_filter_results"`
}

type chatRefusalMessage struct {
	Role    string         `json:"role,omitzero"`
	Content jsontext.Value `json:"content,omitzero"`
	Refusal string         `json:"refusal"`
}

type chatAnswer struct {
	ID      string       `json:"id"`
	Object  string       `json:"object"`
	Created int64        `json:"created"`
	Model   string       `json:"model"`
	Choices []chatChoice `json:"choices"`
	Usage   *chatUsage   `json:"usage,omitzero"`
}

type chatUsage struct {
	PromptTokens     int64 `json:"prompt_tokens"`
	CompletionTokens int64 `json:"completion_tokens"`
	TotalTokens      int64 `json:"total_tokens"`
}

// reportedUsage returns the exchange's token counts when the upstream
// reported them.
func reportedUsage(x *Exchange) *chatUsage {
	if x.Usage.Estimated {
		return nil
	}
	return &chatUsage{x.Usage.PromptTokens, x.Usage.CompletionTokens, x.Usage.Total()}
}

// choice returns choice i of a withheld answer (a stream chunk's when
// delta).
func (f chatFormat) choice(i int64, r *Refusal, delta bool) chatChoice {
	c := chatChoice{Index: i, Logprobs: jsontext.Value("null"), FinishReason: "content_filter", FilterResults: filterResults(r)}
	switch {
	case f.completions:
		empty := ""
		c.Text = &empty
	case delta:
		c.Delta = &chatRefusalMessage{Refusal: r.Message}
	default:
		c.Message = &chatRefusalMessage{Role: "assistant", Content: jsontext.Value("null"), Refusal: r.Message}
	}
	return c
}

func (f chatFormat) object(chunk bool) string {
	switch {
	case f.completions:
		return "text_completion"
	case chunk:
		return "chat.completion.chunk"
	}
	return "chat.completion"
}

func (f chatFormat) filtered(x *Exchange, r *Refusal) []byte {
	a := chatAnswer{ID: "chatcmpl-" + x.ID, Object: f.object(false), Created: time.Now().Unix(), Model: x.Model,
		Usage: reportedUsage(x)}
	var up chatChunk
	json.Unmarshal(x.UpstreamBody, &up) // the choices it had, or one
	var seen []int64
	for _, ch := range up.Choices {
		seen = addIndex(seen, ch.Index)
	}
	for _, i := range orFirst(seen) {
		a.Choices = append(a.Choices, f.choice(i, r, false))
	}
	return marshal(a)
}

// addIndex adds a choice index to a set kept in order.
func addIndex(set []int64, i choiceIndex) []int64 {
	if i < 0 || slices.Contains(set, int64(i)) {
		return set
	}
	return append(set, int64(i))
}

func orFirst(set []int64) []int64 {
	if len(set) == 0 {
		return []int64{0}
	}
	return set
}

func (f chatFormat) follow() streamFollower { return &chatFollower{format: f} }

// chatFollower follows a chat or completions stream.
type chatFollower struct {
	streamUsage
	format   chatFormat
	choices  []int64
	finished []int64 // choices whose finish the client was sent
	pending  []int64 // choices finished by events not yet sent
}

func (c *chatFollower) observe(data []byte) {
	if len(data) == 0 || data[0] != '{' {
		return // [DONE], comments, keep-alives
	}
	var chunk chatChunk
	if json.Unmarshal(data, &chunk) != nil {
		return
	}
	if u, ok := chunk.Usage.reported(); ok {
		c.reported = &u
	}
	for _, ch := range chunk.Choices {
		c.text.addPtr(ch.Text)
		c.text.addPtr(ch.Delta.Content)
		c.choices = addIndex(c.choices, ch.Index)
		if ch.FinishReason == '"' {
			c.pending = addIndex(c.pending, ch.Index)
		}
	}
}

// outgoing notes that what the upstream sent so far has reached the
// client: a choice whose finishing event a guard stopped is still open.
func (c *chatFollower) outgoing(ev []byte) []byte {
	for _, i := range c.pending {
		c.finished = addIndex(c.finished, choiceIndex(i))
	}
	c.pending = c.pending[:0]
	return ev
}

// filteredEnd finishes every choice still open with finish_reason
// "content_filter", then ends the stream as OpenAI's do.
func (c *chatFollower) filteredEnd(x *Exchange, r *Refusal) [][]byte {
	var out [][]byte
	for _, i := range orFirst(c.choices) {
		if slices.Contains(c.finished, i) {
			continue
		}
		chunk := chatAnswer{ID: "chatcmpl-" + x.ID, Object: c.format.object(true), Created: time.Now().Unix(),
			Model: x.Model, Choices: []chatChoice{c.format.choice(i, r, true)}}
		out = append(out, DataEvent(marshal(chunk)))
	}
	return append(out, DataEvent([]byte("[DONE]")))
}

func (c *chatFollower) errorEnd(x *Exchange, typ, code, msg string) [][]byte {
	return [][]byte{DataEvent(x.appendError(nil, typ, code, msg))}
}
