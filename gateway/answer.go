package gateway

import (
	"github.com/go-json-experiment/json"
)

// Each API answers in its own shape. An answerFormat reads one API's
// answers, complete and streamed, for their token usage, and tells a
// caller in that API's own terms that an output guard withheld an answer:
// the way each reports its own content filter, which SDKs hand to the
// application instead of retrying.
type answerFormat interface {
	// usage reads a complete answer: the upstream's own token counts (ok
	// false when it sent none) and the text it generated, to estimate from.
	usage(body []byte) (reported Usage, ok bool, text tokenCounter, err error)
	// filtered returns the complete answer that replaces a withheld one.
	// It is made from what the gateway knows (the request id, the model
	// asked for, the token counts), never from the withheld answer, whose
	// every string is suspect: a credential may sit in its id.
	filtered(x *Exchange, r *Refusal) []byte
	// follow returns a follower for one streamed answer.
	follow() streamFollower
}

// streamFollower follows one streamed answer as it is relayed.
type streamFollower interface {
	// observe reads the data of each event the upstream sends.
	observe(data []byte)
	// usage returns the upstream's token counts, or estimate with the
	// completion estimated from the text seen.
	usage(estimate Usage) Usage
	// outgoing may rewrite an event on its way to the client.
	outgoing(ev []byte) []byte
	// filteredEnd returns the events that end a stream an output guard
	// stopped, in the API's content-filter terms.
	filteredEnd(x *Exchange, r *Refusal) [][]byte
	// errorEnd returns the events that end a stream with an error.
	errorEnd(x *Exchange, typ, code, msg string) [][]byte
}

// formatOf returns the answer format of an endpoint, or nil for one whose
// answers carry no usage to read (KServe inference).
func formatOf(e Endpoint) answerFormat {
	switch e {
	case EndpointChat, EndpointEmbeddings:
		return chatFormat{}
	case EndpointCompletions:
		return chatFormat{completions: true}
	case EndpointResponses:
		return responsesFormat{}
	case EndpointMessages:
		return messagesFormat{}
	}
	return nil
}

// answerUsage takes the upstream's token counts from a complete answer, or
// estimates the completion from its text when it sent none.
func answerUsage(f answerFormat, data []byte, u Usage) Usage {
	reported, ok, text, err := f.usage(data)
	switch {
	case err != nil:
		u.CompletionTokens = int64(len(data)+3) / 4
	case ok:
		return reported
	default:
		u.CompletionTokens = text.tokens()
	}
	u.Estimated = true
	return u
}

// tokenCounter estimates tokens over text that arrives in pieces.
type tokenCounter struct{ ascii, other int64 }

func (c *tokenCounter) add(s string) {
	for _, r := range s {
		if r < 0x80 {
			c.ascii++
		} else {
			c.other++
		}
	}
}

func (c *tokenCounter) addPtr(s *string) {
	if s != nil {
		c.add(*s)
	}
}

func (c *tokenCounter) tokens() int64 { return (c.ascii+3)/4 + c.other }

// streamUsage is the usage part of a follower.
type streamUsage struct {
	reported *Usage
	text     tokenCounter
}

func (s *streamUsage) usage(estimate Usage) Usage {
	if s.reported != nil {
		return *s.reported
	}
	estimate.CompletionTokens, estimate.Estimated = s.text.tokens(), true
	return estimate
}

// filterResult is what a withheld answer says about why, in the
// content_filter_results member: for each guard that withheld it, that it
// filtered and the kinds of thing it found (never the values).
type filterResult struct {
	Filtered bool     `json:"filtered"`
	Entities []string `json:"entities"`
}

func filterResults(r *Refusal) map[string]filterResult {
	name, ents := "modelgate", []string{}
	if f := r.Filter; f != nil {
		if f.Guard != "" {
			name = f.Guard
		}
		if f.Entities != nil {
			ents = f.Entities
		}
	}
	return map[string]filterResult{name: {Filtered: true, Entities: ents}}
}

// marshal encodes a value the gateway built; its types cannot fail to
// encode.
func marshal(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic("gateway: encoding an answer: " + err.Error())
	}
	return b
}

// namedEvent returns an SSE event with an event name and JSON data.
func namedEvent(name string, data []byte) []byte {
	out := make([]byte, 0, len(name)+len(data)+16)
	out = append(out, "event: "...)
	out = append(out, name...)
	out = append(out, '\n')
	return append(out, DataEvent(data)...)
}
