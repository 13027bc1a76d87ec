package gateway

import (
	"net/http"
	"strconv"
	"unicode/utf8"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
)

// request is what the gateway learns from a request body.
type request struct {
	model    string
	stream   bool
	messages int
	segments []Segment
	chars    int   // characters of text across segments
	tokens   int64 // estimated prompt tokens
	batch    int64 // a KServe request's largest batch dimension
	// numbers are the first KServe input's values (up to maxKeptNumbers),
	// rowWidth the values a row of it holds.
	numbers  []float64
	rowWidth int
}

func (q *request) addText(path, role, text string) {
	q.segments = append(q.segments, Segment{Path: path, Role: role, Text: text})
	q.chars += utf8.RuneCountInString(text)
	q.tokens += estimateTokens(text)
}

// estimateTokens guesses a tokenizer's count without one: about four ASCII
// characters per token, and one per other character (CJK scripts run near
// one token per character). It errs high, which errs towards the limit; the
// upstream's own count corrects it after the call.
func estimateTokens(s string) int64 {
	var ascii, other int64
	for i := 0; i < len(s); {
		if s[i] < utf8.RuneSelf {
			ascii++
			i++
			continue
		}
		_, n := utf8.DecodeRuneInString(s[i:])
		i += n
		other++
	}
	return (ascii+3)/4 + other
}

// Per-message overhead in chat formats (role markers and separators), as
// OpenAI documents for its own tokenizers.
const tokensPerMessage, tokensPerReply = 4, 3

type chatRequest struct {
	Model    string        `json:"model"`
	Messages []chatMessage `json:"messages"`
	Stream   bool          `json:"stream"`

	MaxTokens           *int64 `json:"max_tokens"`
	MaxCompletionTokens *int64 `json:"max_completion_tokens"`
	N                   *int64 `json:"n"`
}

type chatMessage struct {
	Role      string      `json:"role"`
	Content   chatContent `json:"content"`
	ToolCalls []toolCall  `json:"tool_calls"`
}

type toolCall struct {
	Function struct {
		Name      string `json:"name"`
		Arguments string `json:"arguments"`
	} `json:"function"`
}

// chatContent is a message's content: a string, an array of parts, or null.
type chatContent struct {
	kind  jsontext.Kind // 0 when absent
	text  string
	parts []contentPart
}

type contentPart struct {
	Type    string  `json:"type"`
	Text    *string `json:"text"`
	Refusal *string `json:"refusal"`
}

// UnmarshalJSONFrom decodes the content in place, so errors keep their full
// path (messages[1].content[0].text).
func (c *chatContent) UnmarshalJSONFrom(dec *jsontext.Decoder) error {
	switch c.kind = dec.PeekKind(); c.kind {
	case '"':
		return json.UnmarshalDecode(dec, &c.text)
	case '[':
		return json.UnmarshalDecode(dec, &c.parts)
	case 'n':
		_, err := dec.ReadToken()
		return err
	}
	return shapeError("must be a string or an array of content parts")
}

var chatRoles = map[string]bool{"system": true, "developer": true, "user": true, "assistant": true, "tool": true, "function": true}

func parseChat(body []byte) (*request, *Refusal) {
	var cr chatRequest
	if r := decodeStrict(body, &cr); r != nil {
		return nil, r
	}
	if r := requireModel(cr.Model); r != nil {
		return nil, r
	}
	if len(cr.Messages) == 0 {
		return nil, fieldRefusal("messages must be a non-empty array")
	}
	for _, f := range []struct {
		name string
		v    *int64
	}{{"max_tokens", cr.MaxTokens}, {"max_completion_tokens", cr.MaxCompletionTokens}, {"n", cr.N}} {
		if f.v != nil && *f.v < 0 {
			return nil, fieldRefusal("%s must not be negative", f.name)
		}
	}
	q := &request{model: cr.Model, stream: cr.Stream, messages: len(cr.Messages), tokens: tokensPerReply}
	for i, m := range cr.Messages {
		at := "messages[" + strconv.Itoa(i) + "]"
		ptr := "/messages/" + strconv.Itoa(i)
		if !chatRoles[m.Role] {
			return nil, fieldRefusal("%s.role must be one of system, developer, user, assistant, tool, function; got %q", at, m.Role)
		}
		q.tokens += tokensPerMessage
		if r := q.addContent(m, at, ptr); r != nil {
			return nil, r
		}
		for j, tc := range m.ToolCalls {
			q.addText(ptr+"/tool_calls/"+strconv.Itoa(j)+"/function/arguments", m.Role, tc.Function.Arguments)
		}
	}
	return q, nil
}

func (q *request) addContent(m chatMessage, at, ptr string) *Refusal {
	switch m.Content.kind {
	case '"':
		q.addText(ptr+"/content", m.Role, m.Content.text)
	case '[':
		for j, p := range m.Content.parts {
			pat := at + ".content[" + strconv.Itoa(j) + "]"
			pptr := ptr + "/content/" + strconv.Itoa(j)
			switch {
			case p.Type == "":
				return fieldRefusal("%s.type is required", pat)
			case p.Type == "text" && p.Text == nil:
				return fieldRefusal("%s.text is required for a text part", pat)
			}
			if p.Text != nil {
				q.addText(pptr+"/text", m.Role, *p.Text)
			}
			if p.Refusal != nil {
				q.addText(pptr+"/refusal", m.Role, *p.Refusal)
			}
		}
	default: // null or absent
		if m.Role != "assistant" || len(m.ToolCalls) == 0 {
			return fieldRefusal("%s.content is required (only an assistant message with tool_calls may omit it)", at)
		}
	}
	return nil
}

// textOrTokens is a prompt or an embedding input: a string, an array of
// strings, an array of token ids, or an array of arrays of token ids.
type textOrTokens struct {
	present bool
	texts   []string // one per string, in order
	tokens  int64    // count of token ids
}

const textOrTokensShape = "must be a string, an array of strings, an array of token ids or an array of arrays of token ids"

// UnmarshalJSONFrom decodes the value in place, checking its shape.
func (t *textOrTokens) UnmarshalJSONFrom(dec *jsontext.Decoder) error {
	t.present = true
	switch dec.PeekKind() {
	case '"':
		var s string
		if err := json.UnmarshalDecode(dec, &s); err != nil {
			return err
		}
		t.texts = append(t.texts, s)
		return nil
	case '[':
	default:
		return shapeError(textOrTokensShape)
	}
	if _, err := dec.ReadToken(); err != nil {
		return err
	}
	for dec.PeekKind() != ']' {
		switch dec.PeekKind() {
		case '"':
			var s string
			if err := json.UnmarshalDecode(dec, &s); err != nil {
				return err
			}
			t.texts = append(t.texts, s)
		case '0':
			var id uint32
			if err := json.UnmarshalDecode(dec, &id); err != nil {
				return err
			}
			t.tokens++
		case '[':
			var ids []uint32
			if err := json.UnmarshalDecode(dec, &ids); err != nil {
				return err
			}
			t.tokens += int64(len(ids))
		default:
			return shapeError(textOrTokensShape)
		}
	}
	_, err := dec.ReadToken()
	return err
}

func (q *request) addTextOrTokens(t textOrTokens, ptr string) {
	for i, s := range t.texts {
		p := ptr
		if len(t.texts) > 1 || t.tokens > 0 {
			p += "/" + strconv.Itoa(i)
		}
		q.addText(p, "user", s)
	}
	q.tokens += t.tokens
}

type completionRequest struct {
	Model     string       `json:"model"`
	Prompt    textOrTokens `json:"prompt"`
	Stream    bool         `json:"stream"`
	MaxTokens *int64       `json:"max_tokens"`
}

func parseCompletion(body []byte) (*request, *Refusal) {
	var cr completionRequest
	if r := decodeStrict(body, &cr); r != nil {
		return nil, r
	}
	if r := requireModel(cr.Model); r != nil {
		return nil, r
	}
	if cr.MaxTokens != nil && *cr.MaxTokens < 0 {
		return nil, fieldRefusal("max_tokens must not be negative")
	}
	q := &request{model: cr.Model, stream: cr.Stream}
	q.addTextOrTokens(cr.Prompt, "/prompt")
	return q, nil
}

type embeddingRequest struct {
	Model string       `json:"model"`
	Input textOrTokens `json:"input"`
}

func parseEmbedding(body []byte) (*request, *Refusal) {
	var er embeddingRequest
	if r := decodeStrict(body, &er); r != nil {
		return nil, r
	}
	if r := requireModel(er.Model); r != nil {
		return nil, r
	}
	if !er.Input.present {
		return nil, fieldRefusal("input is required")
	}
	q := &request{model: er.Model}
	q.addTextOrTokens(er.Input, "/input")
	return q, nil
}

func requireModel(model string) *Refusal {
	if model == "" {
		return fieldRefusal("model is required")
	}
	return nil
}

// fieldRefusal is a 400 about one field; the message names it.
func fieldRefusal(format string, args ...any) *Refusal {
	return refusal(http.StatusBadRequest, TypeInvalidRequest, "invalid_field", format, args...)
}
