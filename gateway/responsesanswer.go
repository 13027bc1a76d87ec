package gateway

import (
	"bytes"
	"strconv"
	"time"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
)

// responsesFormat reads Responses API answers. A withheld answer is a
// response whose status is "incomplete" for the reason "content_filter"
// (the API's own term), its one output a refusal that says why; streamed,
// a response.incomplete event ends the stream.
type responsesFormat struct{}

type responsesUsage struct {
	InputTokens  int64 `json:"input_tokens"`
	OutputTokens int64 `json:"output_tokens"`
}

func (u *responsesUsage) reported() (Usage, bool) {
	if u == nil {
		return Usage{}, false
	}
	return Usage{PromptTokens: u.InputTokens, CompletionTokens: u.OutputTokens}, true
}

// responsesObject is what the gateway reads of a response object.
type responsesObject struct {
	ID        jsontext.Value  `json:"id"`
	CreatedAt jsontext.Value  `json:"created_at"`
	Model     jsontext.Value  `json:"model"`
	Usage     *responsesUsage `json:"usage"`
	Output    []struct {
		Content []struct {
			Text *string `json:"text"`
		} `json:"content"`
	} `json:"output"`
}

func (responsesFormat) usage(body []byte) (Usage, bool, tokenCounter, error) {
	var r responsesObject
	var text tokenCounter
	if err := json.Unmarshal(body, &r); err != nil {
		return Usage{}, false, text, err
	}
	for _, o := range r.Output {
		for _, c := range o.Content {
			text.addPtr(c.Text)
		}
	}
	u, ok := r.Usage.reported()
	return u, ok, text, nil
}

type responsesWithheld struct {
	ID                string         `json:"id"`
	Object            string         `json:"object"`
	CreatedAt         int64          `json:"created_at"`
	Status            string         `json:"status"`
	Model             string         `json:"model"`
	Error             jsontext.Value `json:"error"`
	IncompleteDetails struct {
		Reason string `json:"reason"`
	} `json:"incomplete_details"`
	Output        []responsesRefusalItem  `json:"output"`
	Usage         *responsesUsageOut      `json:"usage"`
	FilterResults map[string]filterResult `json:"content_filter_results"`
}

type responsesUsageOut struct {
	InputTokens  int64 `json:"input_tokens"`
	OutputTokens int64 `json:"output_tokens"`
	TotalTokens  int64 `json:"total_tokens"`
}

type responsesRefusalItem struct {
	Type    string `json:"type"`
	ID      string `json:"id"`
	Status  string `json:"status"`
	Role    string `json:"role"`
	Content []struct {
		Type    string `json:"type"`
		Refusal string `json:"refusal"`
	} `json:"content"`
}

// withheldResponse returns the response object of a withheld answer, with
// the upstream's token counts when it reported them (u nil: it did not).
func withheldResponse(x *Exchange, u *Usage, r *Refusal) responsesWithheld {
	w := responsesWithheld{ID: "resp_" + x.ID, Object: "response", CreatedAt: time.Now().Unix(),
		Status: "incomplete", Model: x.Model, Error: jsontext.Value("null"), FilterResults: filterResults(r)}
	if u != nil {
		w.Usage = &responsesUsageOut{u.PromptTokens, u.CompletionTokens, u.Total()}
	}
	w.IncompleteDetails.Reason = "content_filter"
	item := responsesRefusalItem{Type: "message", ID: "msg_" + x.ID, Status: "incomplete", Role: "assistant"}
	item.Content = append(item.Content, struct {
		Type    string `json:"type"`
		Refusal string `json:"refusal"`
	}{"refusal", r.Message})
	w.Output = []responsesRefusalItem{item}
	return w
}

func (responsesFormat) filtered(x *Exchange, r *Refusal) []byte {
	var u *Usage
	if !x.Usage.Estimated {
		u = &x.Usage
	}
	return marshal(withheldResponse(x, u, r))
}

func (responsesFormat) follow() streamFollower { return &responsesFollower{} }

// responsesFollower follows a Responses stream. Its events are numbered
// (sequence_number, from 0); when filters add or hold back events the
// follower renumbers what goes out, so that a client resuming "after
// event N" finds the numbers it saw.
type responsesFollower struct {
	streamUsage
	next     int64 // the number of the next event sent
	numbered bool  // events carry numbers
}

type responsesEvent struct {
	Type     string         `json:"type"`
	Delta    jsontext.Value `json:"delta"`
	Response *struct {
		Usage jsontext.Value `json:"usage"`
	} `json:"response"`
}

func (f *responsesFollower) observe(data []byte) {
	if len(data) == 0 || data[0] != '{' {
		return
	}
	var ev responsesEvent
	if json.Unmarshal(data, &ev) != nil {
		return
	}
	if r := ev.Response; r != nil && r.Usage.Kind() == '{' {
		var u responsesUsage
		if json.Unmarshal(r.Usage, &u) == nil {
			if r, ok := u.reported(); ok {
				f.reported = &r
			}
		}
	}
	switch ev.Type {
	case "response.output_text.delta", "response.refusal.delta":
		var s string
		if json.Unmarshal(ev.Delta, &s) == nil {
			f.text.add(s)
		}
	}
}

var seqMember = []byte(`"sequence_number":`)

// outgoing numbers events in the order they go out. A member name is the
// only place the bytes "sequence_number": can occur (inside a string the
// quotes would be escaped), and no object nested in an event has one.
func (f *responsesFollower) outgoing(ev []byte) []byte {
	i := bytes.Index(ev, seqMember)
	if i < 0 {
		return ev
	}
	start := i + len(seqMember)
	for start < len(ev) && ev[start] == ' ' {
		start++
	}
	end := start
	for end < len(ev) && (ev[end] >= '0' && ev[end] <= '9' || ev[end] == '-') {
		end++
	}
	n, err := strconv.ParseInt(string(ev[start:end]), 10, 64)
	if err != nil {
		return ev
	}
	if !f.numbered {
		f.numbered, f.next = true, n
	}
	want := f.next
	f.next++
	if n == want {
		return ev
	}
	out := make([]byte, 0, len(ev)+4)
	out = append(out, ev[:start]...)
	out = strconv.AppendInt(out, want, 10)
	return append(out, ev[end:]...)
}

type responsesEnd struct {
	Type           string            `json:"type"`
	SequenceNumber int64             `json:"sequence_number"`
	Response       responsesWithheld `json:"response"`
}

func (f *responsesFollower) filteredEnd(x *Exchange, r *Refusal) [][]byte {
	end := responsesEnd{Type: "response.incomplete", SequenceNumber: f.next,
		Response: withheldResponse(x, f.reported, r)}
	return [][]byte{namedEvent(end.Type, marshal(end))}
}

type responsesError struct {
	Type           string         `json:"type"`
	Code           string         `json:"code"`
	Message        string         `json:"message"`
	Param          jsontext.Value `json:"param"`
	SequenceNumber int64          `json:"sequence_number"`
}

func (f *responsesFollower) errorEnd(x *Exchange, typ, code, msg string) [][]byte {
	e := responsesError{Type: "error", Code: code, Message: msg, Param: jsontext.Value("null"), SequenceNumber: f.next}
	return [][]byte{namedEvent("error", marshal(e))}
}
