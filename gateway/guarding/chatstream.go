package guarding

import (
	"bytes"
	"fmt"
	"strings"

	"github.com/go-json-experiment/json/jsontext"
	"github.com/modelgate/modelgate/gateway"
	"github.com/modelgate/modelgate/guard"
)

// chatEvent guards one event of a chat or completions stream: each choice
// carries its pieces, and a choice that finishes releases what it holds.
func (s *streamGuard) chatEvent(ev []byte) ([][]byte, error) {
	data := gateway.EventData(ev)
	switch {
	case len(data) == 0:
		return [][]byte{ev}, nil // comments and keep-alives
	case string(data) == "[DONE]":
		out, err := s.flush("")
		return append(out, ev), err
	case data[0] != '{':
		return nil, fmt.Errorf("stream event is neither JSON nor [DONE]")
	}
	all, err := textFields(data, "assistant")
	if err != nil {
		return nil, fmt.Errorf("reading a stream event: %w", err)
	}
	segs, whole := splitWhole(all)
	wholeRepl, err := s.checkWhole(whole)
	if err != nil {
		return nil, err
	}
	// Events cut later from this one (to flush a field) must carry its
	// whole fields as rewritten, not as the upstream sent them.
	template := data
	if len(wholeRepl) > 0 {
		if template, err = rewriteJSON(data, wholeRepl, nil, nil); err != nil {
			return nil, err
		}
	}
	finished, err := finishedChoices(data)
	if err != nil {
		return nil, err
	}
	var out [][]byte
	repl := make(map[string]string, len(segs)+len(wholeRepl))
	for k, v := range wholeRepl {
		repl[k] = v
	}
	for _, seg := range segs {
		rel, err := s.hold(seg.Path, seg.Path, ev, template, seg.Text, finished[choiceOf(seg.Path)])
		if err != nil {
			return nil, err
		}
		repl[seg.Path] = rel
	}
	for choice := range finished {
		// Fields of a finishing choice that this event does not carry
		// are flushed in events of their own, before it.
		for _, ptr := range s.order {
			if h := s.fields[ptr]; h.choice == choice && h.held != "" {
				if _, here := repl[ptr]; !here {
					evs, err := s.flushField(h)
					if err != nil {
						return nil, err
					}
					out = append(out, evs...)
				}
			}
		}
	}
	if len(repl) == 0 && len(segs) == 0 && !bytes.Contains(data, []byte(`"logprobs"`)) {
		return append(out, ev), nil
	}
	rewritten, err := rewriteJSON(data, repl, nil, s.drop)
	if err != nil {
		return nil, err
	}
	return append(out, gateway.WithData(ev, rewritten)), nil
}

// splitWhole separates the text a stream builds up over events (a
// choice's content, arguments, refusal: held back and released in pieces)
// from what each event carries whole (ids, model names, member names,
// decoded data: URLs, fields outside the choices).
func splitWhole(all []guard.Segment) (pieces, whole []guard.Segment) {
	for _, seg := range all {
		if seg.Kind == guard.Prose && strings.HasPrefix(seg.Path, "/choices/") {
			pieces = append(pieces, seg)
		} else {
			whole = append(whole, seg)
		}
	}
	return pieces, whole
}

// finishedChoices returns the choices ("/choices/N") whose finish_reason
// this chunk sets.
func finishedChoices(data []byte) (map[string]bool, error) {
	if !bytes.Contains(data, []byte(`"finish_reason"`)) {
		return nil, nil
	}
	dec := jsontext.NewDecoder(bytes.NewReader(data))
	var out map[string]bool
	for {
		tok, err := dec.ReadToken()
		if err != nil {
			return out, nil // the document was read once already by textFields
		}
		if tok.Kind() == 'n' || tok.Kind() == '{' || tok.Kind() == '[' {
			continue
		}
		if k, n := dec.StackIndex(dec.StackDepth()); k == '{' && n%2 == 1 {
			continue
		}
		if ptr := string(dec.StackPointer()); matchPointer(ptr, "/choices/#/finish_reason") {
			if out == nil {
				out = map[string]bool{}
			}
			out[strings.TrimSuffix(ptr, "/finish_reason")] = true
		}
	}
}

// clearFinish sets any finish_reason in a chunk to null.
func clearFinish(data []byte) []byte {
	if !bytes.Contains(data, []byte(`"finish_reason"`)) {
		return data
	}
	dec := jsontext.NewDecoder(bytes.NewReader(data))
	var out bytes.Buffer
	enc := jsontext.NewEncoder(&out)
	for {
		tok, err := dec.ReadToken()
		if err != nil {
			break
		}
		k, n := dec.StackIndex(dec.StackDepth())
		isValue := !(k == '{' && n%2 == 1)
		if isValue && tok.Kind() != '{' && tok.Kind() != '[' && matchPointer(string(dec.StackPointer()), "/choices/#/finish_reason") {
			tok = jsontext.Null
		}
		if enc.WriteToken(tok) != nil {
			return data
		}
	}
	return bytes.TrimRight(out.Bytes(), "\n")
}

// choiceOf returns the choice ("/choices/N") a pointer is in, or the
// pointer itself outside the choices.
func choiceOf(ptr string) string {
	rest, ok := strings.CutPrefix(ptr, "/choices/")
	if i := strings.IndexByte(rest, '/'); ok && i >= 0 {
		return ptr[:len(ptr)-len(rest)+i]
	}
	return ptr
}
