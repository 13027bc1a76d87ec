package guarding

import (
	"bytes"
	"fmt"
	"net/http"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/go-json-experiment/json/jsontext"
	"github.com/modelgate/modelgate/gateway"
	"github.com/modelgate/modelgate/guard"
)

const (
	// contextBytes of text already sent stay visible to detectors, for
	// context words and for matches that began before the last release.
	contextBytes = 256
	// maxToken is the longest unbroken token held back whole: a credential
	// or a placeholder is one token, and must not be released in halves.
	maxToken = 1024
	// maxHeld bounds what one field may hold back; past it the stream is
	// stopped rather than buffered without end.
	maxHeld = 64 << 10
)

// FilterStream returns the filter that guards one streamed answer, or nil
// when the route has nothing to check or restore.
func (filter) FilterStream(x *gateway.Exchange) gateway.StreamFilter {
	st := stateOf(x)
	if st == nil || x.Endpoint != gateway.EndpointChat && x.Endpoint != gateway.EndpointCompletions {
		return nil
	}
	if len(st.p.Output.Guards) == 0 && !(st.p.Restore && st.vault.Len() > 0) {
		return nil
	}
	return &streamGuard{x: x, st: st, fields: map[string]*heldText{}, evidence: map[string]int{}}
}

// streamGuard holds back each text field of a stream (a choice's content,
// a tool call's arguments) until the text after it shows that no match
// can still run across it, checks what it releases, and stops the stream
// at the first block. Nothing unchecked reaches the client.
type streamGuard struct {
	x        *gateway.Exchange
	st       *state
	fields   map[string]*heldText
	order    []string       // field pointers in order of first appearance
	evidence map[string]int // guard name -> index in x.Guards
}

type heldText struct {
	ptr      string
	choice   string // "/choices/N", to flush when the choice finishes
	held     string // received, not yet sent
	sent     string // the tail of what was sent, as context for detectors
	template []byte // the last chunk that carried this field
}

func (s *streamGuard) Event(ev []byte) ([][]byte, error) {
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
		h := s.field(seg.Path)
		h.template = append(h.template[:0], template...)
		h.held += seg.Text
		rel, err := s.settle(h, finished[h.choice])
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
	rewritten, err := rewriteJSON(data, repl, nil, logprobs)
	if err != nil {
		return nil, err
	}
	return append(out, gateway.DataEvent(rewritten)), nil
}

func (s *streamGuard) End() ([][]byte, error) { return s.flush("") }

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

// checkWhole runs the output guards over the segments an event carries
// whole and returns their rewrites. Anything a guard would rewrite that
// cannot be rewritten in place stops the stream.
func (s *streamGuard) checkWhole(segs []guard.Segment) (map[string]string, error) {
	if len(segs) == 0 {
		return nil, nil
	}
	texts := guard.NewTexts(segs)
	out := s.st.p.Output.Run(s.st.ctx, texts, &s.st.vault)
	for i := range out.Results {
		r := &out.Results[i]
		s.evidence1(r, r.Findings)
	}
	if out.Blocked != nil {
		return nil, blocked(out.Blocked, "response", http.StatusBadGateway, gateway.TypeUpstream)
	}
	var repl map[string]string
	for i, t := range texts {
		if s.st.p.Restore && t.Kind.Rewritable() {
			t.Text = s.st.vault.Restore(t.Text)
		}
		if t.Text == segs[i].Text {
			continue
		}
		if !t.Kind.Rewritable() {
			return nil, s.refuse("the response was blocked: %s at %s holds what a guard must rewrite, and it cannot be rewritten in place", kindName(t.Kind), t.Path)
		}
		if repl == nil {
			repl = map[string]string{}
		}
		repl[t.Path] = t.Text
	}
	return repl, nil
}

func (s *streamGuard) field(ptr string) *heldText {
	h := s.fields[ptr]
	if h == nil {
		choice := ptr
		if i := strings.Index(ptr[len("/choices/"):], "/"); strings.HasPrefix(ptr, "/choices/") && i >= 0 {
			choice = ptr[:len("/choices/")+i]
		}
		h = &heldText{ptr: ptr, choice: choice}
		s.fields[ptr] = h
		s.order = append(s.order, ptr)
	}
	return h
}

// flush releases every held field (of one choice, or all for "").
func (s *streamGuard) flush(choice string) ([][]byte, error) {
	var out [][]byte
	for _, ptr := range s.order {
		h := s.fields[ptr]
		if h.held == "" || choice != "" && h.choice != choice {
			continue
		}
		evs, err := s.flushField(h)
		if err != nil {
			return nil, err
		}
		out = append(out, evs...)
	}
	return out, nil
}

// flushField releases all of a field's held text in an event cut from the
// last chunk that carried it, with every other text in that chunk emptied.
func (s *streamGuard) flushField(h *heldText) ([][]byte, error) {
	rel, err := s.settle(h, true)
	if err != nil || rel == "" {
		return nil, err
	}
	segs, err := textFields(h.template, "assistant")
	if err != nil {
		return nil, err
	}
	repl := make(map[string]string, len(segs))
	pieces, _ := splitWhole(segs)
	for _, seg := range pieces {
		repl[seg.Path] = ""
	}
	repl[h.ptr] = rel
	data, err := rewriteJSON(h.template, repl, nil, logprobs)
	if err != nil {
		return nil, err
	}
	// A flushed field must not repeat the chunk's finish_reason.
	data = clearFinish(data)
	return [][]byte{gateway.DataEvent(data)}, nil
}

// settle decides how much of a field's held text can go: all of it at the
// end, otherwise all but the hold-back window, the unfinished last token,
// an unfinished placeholder, and any match that runs into what is held.
// It checks and rewrites what goes and returns it.
func (s *streamGuard) settle(h *heldText, final bool) (string, error) {
	p := s.st.p
	cut := len(h.held)
	if !final {
		cut = len(h.held) - p.HoldBack
		if i := strings.LastIndexFunc(h.held, unicode.IsSpace); len(h.held)-(i+1) <= maxToken {
			cut = min(cut, i+1)
		}
		if i := strings.LastIndexByte(h.held[:max(cut, 0)], '<'); i >= 0 && cut-i < guard.MaxPlaceholder && !strings.Contains(h.held[i:cut], ">") {
			cut = i
		}
		if cut <= 0 {
			if len(h.held) > maxHeld {
				return "", s.refuse("the answer held back more than %d bytes of one unbroken field", maxHeld)
			}
			return "", nil
		}
		for cut > 0 && !utf8.RuneStart(h.held[cut]) {
			cut--
		}
	}
	off := len(h.sent)
	texts := []*guard.Text{{Segment: guard.Segment{Path: h.ptr, Role: "assistant", Text: h.sent + h.held}}}
	out := p.Output.Scan(s.st.ctx, texts)
	if out.Blocked != nil {
		s.evidence1(out.Blocked, out.Blocked.Findings)
		return "", blocked(out.Blocked, "response", http.StatusBadGateway, gateway.TypeUpstream)
	}
	// Spans are shifted from the detectors' view (sent context + held) to
	// the held text; matches wholly within the context were dealt with
	// when that text was released.
	perGuard := make([][]guard.Finding, len(out.Results))
	for i, r := range out.Results {
		for _, f := range r.Findings {
			if f.Start -= off; f.Start < 0 {
				f.Start = 0
			}
			if f.End -= off; f.End > 0 {
				perGuard[i] = append(perGuard[i], f)
			}
		}
	}
	for moved := true; moved && !final; {
		moved = false
		for _, fs := range perGuard {
			for _, f := range fs {
				if f.Start < cut && f.End > cut && f.Action != guard.FlagIt {
					cut, moved = f.Start, true
				}
			}
		}
	}
	if cut <= 0 {
		return "", nil
	}
	var applied []guard.Finding
	for i := range out.Results {
		var mine []guard.Finding
		for _, f := range perGuard[i] {
			if f.End <= cut {
				mine = append(mine, f)
			}
		}
		s.evidence1(&out.Results[i], mine)
		applied = append(applied, mine...)
	}
	release := []*guard.Text{{Segment: guard.Segment{Text: h.held[:cut]}}}
	guard.Rewrite(release, applied, &s.st.vault)
	text := release[0].Text
	if p.Restore {
		text = s.st.vault.Restore(text)
	}
	sent := h.sent + h.held[:cut]
	if k := len(sent) - contextBytes; k > 0 {
		for k < len(sent) && !utf8.RuneStart(sent[k]) {
			k++
		}
		sent = sent[k:]
	}
	h.sent, h.held = sent, h.held[cut:]
	return text, nil
}

// evidence1 folds one guard's findings on released text (or, when it
// blocked, its blocking findings) into the exchange's record: one entry
// per guard for the whole stream.
func (s *streamGuard) evidence1(r *guard.Result, applied []guard.Finding) {
	i, ok := s.evidence[r.Guard]
	if !ok {
		i = len(s.x.Guards)
		s.evidence[r.Guard] = i
		s.x.Guards = append(s.x.Guards, gateway.GuardResult{Name: r.Guard, Stage: "output", Verdict: guard.Allow.String()})
	}
	g := &s.x.Guards[i]
	g.Duration += r.Duration
	if r.Err != nil {
		g.Error = r.Err.Error()
	}
	v := guard.Allow
	if r.Verdict == guard.Block {
		v = guard.Block
	}
	for _, f := range applied {
		if g.Entities == nil {
			g.Entities = map[string]int64{}
		}
		g.Entities[f.Entity]++
		v = max(v, f.Action.Verdict())
		g.Score = max(g.Score, f.Score)
	}
	if v > verdictOf(g.Verdict) {
		g.Verdict = v.String()
	}
}

func verdictOf(s string) guard.Verdict {
	for v := guard.Allow; v <= guard.Block; v++ {
		if v.String() == s {
			return v
		}
	}
	return guard.Allow
}

func (s *streamGuard) refuse(format string, args ...any) error {
	return &gateway.Refusal{Status: http.StatusBadGateway, Type: gateway.TypeUpstream, Code: "response_blocked",
		Message: fmt.Sprintf(format, args...)}
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
