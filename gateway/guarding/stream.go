package guarding

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

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
	if st == nil || !x.Endpoint.Generates() {
		return nil
	}
	if len(st.p.Output.Guards) == 0 && !(st.p.Restore && st.vault.Len() > 0) {
		return nil
	}
	s := &streamGuard{x: x, st: st, fields: map[string]*heldText{}, evidence: map[string]int{}, drop: logprobs}
	switch x.Endpoint {
	case gateway.EndpointResponses:
		s.typed, s.drop = responsesEvents{}, responsesLogprobs
	case gateway.EndpointMessages:
		s.typed, s.drop = messagesEvents{}, nil
	}
	return s
}

// streamGuard holds back each text field of a stream (a choice's content,
// a tool call's arguments) until the text after it shows that no match
// can still run across it, checks what it releases, and stops the stream
// at the first block. Nothing unchecked reaches the client.
type streamGuard struct {
	x        *gateway.Exchange
	st       *state
	typed    eventGrammar // nil for chat and completions streams
	drop     []string     // members that repeat the answer token by token (logprobs)
	fields   map[string]*heldText
	order    []string       // field keys in order of first appearance
	evidence map[string]int // guard name -> index in x.Guards
}

// heldText is one text field of a stream: a chat choice's content, a tool
// call's arguments, a Responses output part, a Messages content block.
type heldText struct {
	key      string // what identifies the field across events
	ptr      string // where events carry its pieces
	choice   string // for chat, "/choices/N", to flush when the choice finishes
	held     string // received, not yet sent
	sent     string // the tail of what was sent, as context for detectors
	template []byte // the data of the last event that carried this field
	event    []byte // that event, for its other lines (event: name, id:)
}

func (s *streamGuard) Event(ev []byte) ([][]byte, error) {
	if s.typed != nil {
		return s.typedEvent(ev)
	}
	return s.chatEvent(ev)
}

func (s *streamGuard) End() ([][]byte, error) { return s.flush("") }

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
		return nil, s.st.p.answerBlocked(out.Blocked)
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

// field returns the field with a key, carried at ptr, adding it when new.
func (s *streamGuard) field(key, ptr string) *heldText {
	h := s.fields[key]
	if h == nil {
		h = &heldText{key: key, ptr: ptr, choice: choiceOf(ptr)}
		s.fields[key] = h
		s.order = append(s.order, key)
	}
	return h
}

// hold adds a piece of a field's text, carried by event ev with data
// template, and returns what can be released now.
func (s *streamGuard) hold(key, ptr string, ev, template []byte, text string, final bool) (string, error) {
	h := s.field(key, ptr)
	h.template = append(h.template[:0], template...)
	h.event = append(h.event[:0], ev...)
	h.held += text
	return s.settle(h, final)
}

// flush releases every held field (of one choice, or all for "").
func (s *streamGuard) flush(choice string) ([][]byte, error) {
	var out [][]byte
	for _, key := range s.order {
		h := s.fields[key]
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
// last one that carried it, with every other text in that event emptied.
func (s *streamGuard) flushField(h *heldText) ([][]byte, error) {
	rel, err := s.settle(h, true)
	if err != nil || rel == "" {
		return nil, err
	}
	repl := map[string]string{h.ptr: rel}
	if s.typed == nil {
		segs, err := textFields(h.template, "assistant")
		if err != nil {
			return nil, err
		}
		pieces, _ := splitWhole(segs)
		for _, seg := range pieces {
			if seg.Path != h.ptr {
				repl[seg.Path] = ""
			}
		}
	}
	data, err := rewriteJSON(h.template, repl, nil, s.drop)
	if err != nil {
		return nil, err
	}
	if s.typed == nil {
		// A flushed field must not repeat the chunk's finish_reason.
		data = clearFinish(data)
	}
	return [][]byte{gateway.WithData(h.event, data)}, nil
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
		return "", s.st.p.answerBlocked(out.Blocked)
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
	return s.st.p.withhold("", nil, fmt.Sprintf(format, args...))
}
