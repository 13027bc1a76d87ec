package guarding

import (
	"bytes"
	"fmt"
	"strings"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
	"github.com/modelgate/modelgate/gateway"
	"github.com/modelgate/modelgate/guard"
)

// The Responses and Messages APIs stream typed events: each names what it
// is ("response.output_text.delta", "content_block_delta"), a delta event
// carries one piece of one field, and other events open and close fields
// or repeat their whole text ("response.output_text.done"). A field's
// pieces are held back and released as in chat streams; before an event
// that ends a field, or the answer, everything held is released, so that
// the client never sees a field's end before its text.

// eventGrammar is what the guard needs to know of one API's events.
type eventGrammar interface {
	// piece returns the field an event adds a piece of text to (its key
	// across events) and where the event carries the piece; "" for an
	// event that carries none.
	piece(h *eventHead) (key, ptr string)
	// ends reports whether an event of this type ends a field or the
	// answer, so held text must go before it.
	ends(typ string) bool
}

// eventHead is what the grammars read of an event.
type eventHead struct {
	Type         string         `json:"type"`
	Index        jsontext.Value `json:"index"`
	OutputIndex  jsontext.Value `json:"output_index"`
	ContentIndex jsontext.Value `json:"content_index"`
	SummaryIndex jsontext.Value `json:"summary_index"`
	Delta        jsontext.Value `json:"delta"`
}

// typedEvent guards one event of a Responses or Messages stream.
func (s *streamGuard) typedEvent(ev []byte) ([][]byte, error) {
	data := gateway.EventData(ev)
	switch {
	case len(data) == 0:
		return [][]byte{ev}, nil // comments and keep-alives
	case data[0] != '{':
		return nil, fmt.Errorf("stream event is not a JSON object")
	}
	var head eventHead
	if err := json.Unmarshal(data, &head); err != nil {
		return nil, fmt.Errorf("reading a stream event: %w", err)
	}
	all, err := textFields(data, "assistant")
	if err != nil {
		return nil, fmt.Errorf("reading a stream event: %w", err)
	}
	key, ptr := s.typed.piece(&head)
	var out [][]byte
	if key == "" && s.typed.ends(head.Type) {
		if out, err = s.flush(""); err != nil {
			return nil, err
		}
	}
	var (
		piece *guard.Segment
		whole []guard.Segment
	)
	for i := range all {
		if ptr != "" && all[i].Path == ptr && all[i].Kind == guard.Prose {
			piece = &all[i]
		} else {
			whole = append(whole, all[i])
		}
	}
	repl, err := s.checkWhole(whole)
	if err != nil {
		return nil, err
	}
	if piece != nil {
		template := data
		if len(repl) > 0 {
			if template, err = rewriteJSON(data, repl, nil, nil); err != nil {
				return nil, err
			}
		}
		rel, err := s.hold(key, ptr, ev, template, piece.Text, false)
		if err != nil {
			return nil, err
		}
		if repl == nil {
			repl = map[string]string{}
		}
		repl[ptr] = rel
	}
	if len(repl) == 0 && !bytes.Contains(data, []byte(`"logprobs"`)) {
		return append(out, ev), nil
	}
	rewritten, err := rewriteJSON(data, repl, nil, s.drop)
	if err != nil {
		return nil, err
	}
	return append(out, gateway.WithData(ev, rewritten)), nil
}

// responsesEvents is the grammar of Responses API streams: every event
// whose type ends in ".delta" carries a piece in "delta", of the field
// its type and output, content and summary indexes name.
type responsesEvents struct{}

func (responsesEvents) piece(h *eventHead) (string, string) {
	if !strings.HasSuffix(h.Type, ".delta") || h.Delta.Kind() != '"' {
		return "", ""
	}
	return h.Type + "|" + string(h.OutputIndex) + "|" + string(h.ContentIndex) + "|" + string(h.SummaryIndex), "/delta"
}

func (responsesEvents) ends(typ string) bool {
	switch typ {
	case "response.completed", "response.incomplete", "response.failed", "error":
		return true
	}
	return strings.HasSuffix(typ, ".done")
}

// responsesLogprobs hold an answer again token by token; answers checked
// by output guards lose them.
var responsesLogprobs = []string{"/logprobs", "/output/#/content/#/logprobs", "/part/logprobs",
	"/item/content/#/logprobs", "/response/output/#/content/#/logprobs"}

// messagesEvents is the grammar of Messages API streams: a
// content_block_delta carries a piece of its block's text, tool input
// JSON or thinking.
type messagesEvents struct{}

func (messagesEvents) piece(h *eventHead) (string, string) {
	if h.Type != "content_block_delta" || h.Delta.Kind() != '{' {
		return "", ""
	}
	var d struct {
		Text        *string `json:"text"`
		PartialJSON *string `json:"partial_json"`
		Thinking    *string `json:"thinking"`
	}
	if json.Unmarshal(h.Delta, &d) != nil {
		return "", ""
	}
	ptr := ""
	switch {
	case d.Text != nil:
		ptr = "/delta/text"
	case d.PartialJSON != nil:
		ptr = "/delta/partial_json"
	case d.Thinking != nil:
		ptr = "/delta/thinking"
	default:
		return "", "" // a signature or citation: checked whole
	}
	return "block|" + string(h.Index) + "|" + ptr, ptr
}

func (messagesEvents) ends(typ string) bool {
	switch typ {
	case "content_block_stop", "message_delta", "message_stop", "error":
		return true
	}
	return false
}
