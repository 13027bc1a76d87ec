package gateway

import (
	"net/http"
	"regexp"
	"strconv"
	"strings"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
)

// The Anthropic Messages API (POST /v1/messages), served by routes whose
// protocol is "anthropic". A request has a system prompt (a string or text
// blocks) and user and assistant messages whose content is a string or
// blocks: text, images, documents, tool_use (the model's call) and
// tool_result (what the tool returned, read with the role "tool").

// defaultAnthropicVersion is sent upstream when the caller names none.
const defaultAnthropicVersion = "2023-06-01"

// anthropicHeader is what an anthropic-version or anthropic-beta header may
// hold: dates and feature names, comma-separated.
var anthropicHeader = regexp.MustCompile(`^[A-Za-z0-9._-]+( *, *[A-Za-z0-9._-]+)*$`)

// checkAnthropicHeaders refuses version or beta headers that are not
// lists of names: they go upstream, so they must not smuggle anything else.
func checkAnthropicHeaders(h http.Header) *Refusal {
	for _, name := range [...]string{"Anthropic-Version", "Anthropic-Beta"} {
		for _, v := range h.Values(name) {
			if len(v) > 512 || !anthropicHeader.MatchString(strings.TrimSpace(v)) {
				return refusal(http.StatusBadRequest, TypeInvalidRequest, "invalid_header",
					"the %s header must be a comma-separated list of names (letters, digits, . _ -)", strings.ToLower(name))
			}
		}
	}
	return nil
}

type messagesRequest struct {
	Model     string             `json:"model"`
	System    anthropicContent   `json:"system"`
	Messages  []anthropicMessage `json:"messages"`
	Stream    bool               `json:"stream"`
	MaxTokens *int64             `json:"max_tokens"`
}

type anthropicMessage struct {
	Role    string           `json:"role"`
	Content anthropicContent `json:"content"`
}

// anthropicContent is a string or an array of content blocks.
type anthropicContent struct {
	kind   jsontext.Kind // 0 when absent
	text   string
	blocks []anthropicBlock
}

func (c *anthropicContent) UnmarshalJSONFrom(dec *jsontext.Decoder) error {
	switch c.kind = dec.PeekKind(); c.kind {
	case '"':
		return json.UnmarshalDecode(dec, &c.text)
	case '[':
		return json.UnmarshalDecode(dec, &c.blocks)
	case 'n':
		_, err := dec.ReadToken()
		return err
	}
	return shapeError("must be a string or an array of content blocks")
}

// anthropicBlock holds the members of a content block that carry text
// with a known role; a tool_result's content nests blocks of its own.
type anthropicBlock struct {
	Type     string            `json:"type"`
	Text     *string           `json:"text"`
	Thinking *string           `json:"thinking"`
	Content  *anthropicContent `json:"content"`
}

func parseMessages(h http.Header, body []byte) (*request, *Refusal) {
	if r := checkAnthropicHeaders(h); r != nil {
		return nil, r
	}
	var mr messagesRequest
	if r := decodeStrict(body, &mr); r != nil {
		return nil, r
	}
	if r := requireModel(mr.Model); r != nil {
		return nil, r
	}
	if len(mr.Messages) == 0 {
		return nil, fieldRefusal("messages must be a non-empty array")
	}
	if mr.MaxTokens != nil && *mr.MaxTokens < 0 {
		return nil, fieldRefusal("max_tokens must not be negative")
	}
	q := &request{model: mr.Model, stream: mr.Stream, messages: len(mr.Messages), tokens: tokensPerReply}
	if mr.System.kind != 0 && mr.System.kind != 'n' {
		q.tokens += tokensPerMessage
		if r := q.addBlocks(mr.System, "system", "system", "/system", 0); r != nil {
			return nil, r
		}
	}
	for i, m := range mr.Messages {
		at := "messages[" + strconv.Itoa(i) + "]"
		if m.Role != "user" && m.Role != "assistant" {
			return nil, fieldRefusal("%s.role must be user or assistant; got %q", at, m.Role)
		}
		if m.Content.kind != '"' && m.Content.kind != '[' {
			return nil, fieldRefusal("%s.content is required: a string or an array of content blocks", at)
		}
		q.tokens += tokensPerMessage
		if r := q.addBlocks(m.Content, m.Role, at+".content", "/messages/"+strconv.Itoa(i)+"/content", 0); r != nil {
			return nil, r
		}
	}
	return q, nil
}

// maxBlockDepth bounds tool results nested in tool results.
const maxBlockDepth = 8

// addBlocks adds the text of a string or blocks at ptr (named at in
// errors) with role; a tool_result's content is the tool's, whoever sent
// it.
func (q *request) addBlocks(c anthropicContent, role, at, ptr string, depth int) *Refusal {
	if depth > maxBlockDepth {
		return fieldRefusal("%s nests tool results more than %d deep", at, maxBlockDepth)
	}
	switch c.kind {
	case '"':
		q.addText(ptr, role, c.text)
	case '[':
		for j, b := range c.blocks {
			bat := at + "[" + strconv.Itoa(j) + "]"
			bptr := ptr + "/" + strconv.Itoa(j)
			switch {
			case b.Type == "":
				return fieldRefusal("%s.type is required", bat)
			case b.Type == "text" && b.Text == nil:
				return fieldRefusal("%s.text is required for a text block", bat)
			}
			if b.Text != nil {
				q.addText(bptr+"/text", role, *b.Text)
			}
			if b.Thinking != nil {
				q.addText(bptr+"/thinking", role, *b.Thinking)
			}
			if b.Content != nil {
				if r := q.addBlocks(*b.Content, "tool", bat+".content", bptr+"/content", depth+1); r != nil {
					return r
				}
			}
		}
	}
	return nil
}
