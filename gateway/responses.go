package gateway

import (
	"strconv"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
)

// The OpenAI Responses API (POST /v1/responses): a request's input is a
// string or a list of items (messages, function calls and their outputs,
// reasoning summaries, ...). The parser gives roles to the text it knows;
// guards read every other string of the body too (see
// gateway/guarding/fields.go), so an item type added after this was
// written is read, without a role.

type responsesRequest struct {
	Model           string         `json:"model"`
	Input           responsesInput `json:"input"`
	Instructions    *string        `json:"instructions"`
	Stream          bool           `json:"stream"`
	MaxOutputTokens *int64         `json:"max_output_tokens"`
}

// responsesInput is the input: a string or an array of items.
type responsesInput struct {
	kind  jsontext.Kind // 0 when absent
	text  string
	items []responsesItem
}

func (in *responsesInput) UnmarshalJSONFrom(dec *jsontext.Decoder) error {
	switch in.kind = dec.PeekKind(); in.kind {
	case '"':
		return json.UnmarshalDecode(dec, &in.text)
	case '[':
		return json.UnmarshalDecode(dec, &in.items)
	case 'n':
		_, err := dec.ReadToken()
		return err
	}
	return shapeError("must be a string or an array of input items")
}

// responsesItem holds the members of an input item that carry text with a
// known role. Output is kept raw: it is a string, a list of content parts,
// or (for a computer call) an object.
type responsesItem struct {
	Type      string         `json:"type"`
	Role      string         `json:"role"`
	Content   chatContent    `json:"content"`
	Arguments *string        `json:"arguments"`
	Input     *string        `json:"input"`
	Output    jsontext.Value `json:"output"`
	Summary   []struct {
		Text *string `json:"text"`
	} `json:"summary"`
}

var responsesRoles = map[string]bool{"system": true, "developer": true, "user": true, "assistant": true}

func parseResponses(body []byte) (*request, *Refusal) {
	var rr responsesRequest
	if r := decodeStrict(body, &rr); r != nil {
		return nil, r
	}
	if r := requireModel(rr.Model); r != nil {
		return nil, r
	}
	if rr.MaxOutputTokens != nil && *rr.MaxOutputTokens < 0 {
		return nil, fieldRefusal("max_output_tokens must not be negative")
	}
	q := &request{model: rr.Model, stream: rr.Stream, tokens: tokensPerReply}
	if rr.Instructions != nil {
		q.tokens += tokensPerMessage
		q.addText("/instructions", "system", *rr.Instructions)
	}
	switch rr.Input.kind {
	case '"':
		q.messages = 1
		q.tokens += tokensPerMessage
		q.addText("/input", "user", rr.Input.text)
	case '[':
		q.messages = len(rr.Input.items)
		for i, it := range rr.Input.items {
			if r := q.addItem(it, i); r != nil {
				return nil, r
			}
		}
	}
	return q, nil
}

func (q *request) addItem(it responsesItem, i int) *Refusal {
	at := "input[" + strconv.Itoa(i) + "]"
	ptr := "/input/" + strconv.Itoa(i)
	q.tokens += tokensPerMessage
	switch it.Type {
	case "", "message":
		if !responsesRoles[it.Role] {
			if it.Role == "" {
				return fieldRefusal("%s needs a role (system, developer, user or assistant) or a type", at)
			}
			return fieldRefusal("%s.role must be one of system, developer, user, assistant; got %q", at, it.Role)
		}
		if it.Content.kind != '"' && it.Content.kind != '[' {
			return fieldRefusal("%s.content is required: a string or an array of content parts", at)
		}
		return q.addContent(chatMessage{Role: it.Role, Content: it.Content}, at, ptr)
	case "function_call":
		if it.Arguments != nil {
			q.addText(ptr+"/arguments", "assistant", *it.Arguments)
		}
	case "custom_tool_call":
		if it.Input != nil {
			q.addText(ptr+"/input", "assistant", *it.Input)
		}
	case "function_call_output", "custom_tool_call_output":
		q.addToolOutput(it.Output, ptr)
	case "reasoning":
		for j, s := range it.Summary {
			if s.Text != nil {
				q.addText(ptr+"/summary/"+strconv.Itoa(j)+"/text", "assistant", *s.Text)
			}
		}
	}
	return nil
}

// addToolOutput reads a tool's output: a string, or content parts.
func (q *request) addToolOutput(v jsontext.Value, ptr string) {
	switch v.Kind() {
	case '"':
		var s string
		if json.Unmarshal(v, &s) == nil {
			q.addText(ptr+"/output", "tool", s)
		}
	case '[':
		var parts []contentPart
		if json.Unmarshal(v, &parts) != nil {
			return // read without a role by the guards' field reader
		}
		for j, p := range parts {
			if p.Text != nil {
				q.addText(ptr+"/output/"+strconv.Itoa(j)+"/text", "tool", *p.Text)
			}
		}
	}
}
