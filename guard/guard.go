//go:generate go run skeleton_gen.go

// Package guard inspects the text of model requests and responses and
// decides what may pass: it finds personal data, credentials, dangerous
// output and smuggled text, and allows, rewrites, flags or blocks.
//
// A Detector finds entities in one piece of text. A Guard wraps a detector
// with a Policy that says what to do with each entity type, and a Pipeline
// runs guards in order over every text segment of a message, applying their
// rewrites before the next guard looks.
package guard

import (
	"context"
	"fmt"
	"time"
)

// Verdict is a guard's decision about a message.
type Verdict uint8

// Verdicts, in increasing severity; a message's verdict is the most severe
// of its findings'.
const (
	Allow  Verdict = iota // nothing to act on
	Flag                  // found and recorded, passed unchanged
	Redact                // found and rewritten
	Block                 // refused
)

var verdictNames = [...]string{"allow", "flag", "redact", "block"}

func (v Verdict) String() string { return verdictNames[v] }

// Action is what a policy does with one finding.
type Action uint8

// Actions. The zero value, Ignore, drops the finding.
const (
	Ignore   Action = iota // not acted on, not recorded
	FlagIt                 // recorded, text unchanged
	Mask                   // replaced by a numbered placeholder that can be restored: <EMAIL_1>
	RedactIt               // replaced by the entity type: <EMAIL>
	Hash                   // replaced by a keyed pseudonym: <EMAIL_3f9c…>
	Strip                  // removed
	BlockIt                // the message is refused
)

var actionNames = [...]string{"ignore", "flag", "mask", "redact", "hash", "strip", "block"}

func (a Action) String() string { return actionNames[a] }

// ParseAction parses an action name as written in the configuration.
// "allow" is accepted for Ignore.
func ParseAction(s string) (Action, error) {
	if s == "allow" {
		return Ignore, nil
	}
	for i, n := range actionNames {
		if n == s {
			return Action(i), nil
		}
	}
	return 0, fmt.Errorf("unknown action %q (want allow, flag, mask, redact, hash, strip or block)", s)
}

// Verdict is the verdict an action leads to.
func (a Action) Verdict() Verdict {
	switch a {
	case Ignore:
		return Allow
	case FlagIt:
		return Flag
	case BlockIt:
		return Block
	}
	return Redact
}

// Segment is one piece of text in a message: a chat message's content, a
// tool call's arguments, a prompt, a BYTES tensor element. Path locates it
// in the message (a JSON Pointer); Role is the chat role when known.
type Segment struct {
	Path string
	Role string
	Text string
	Kind Kind
}

// Kind says what a segment's text is, which decides how it may be read and
// whether it can be rewritten in place.
type Kind uint8

// Kinds of segment.
const (
	// Prose is text: every detector reads it and guards may rewrite it.
	Prose Kind = iota
	// Identifier is a generated id at a position that holds ids (a tool
	// call's id, a response id, a model name). Detectors read it, but
	// heuristics that flag randomness as a secret do not apply.
	Identifier
	// MemberName is an object member's name. Detectors read it; a guard
	// that would rewrite it blocks the message instead, since renaming a
	// member changes what the message means.
	MemberName
	// Decoded is text decoded from an encoded value (a data: URL). It is
	// read like prose but cannot be rewritten in place, so a rewrite
	// blocks the message.
	Decoded
)

// Rewritable reports whether guards may rewrite a segment of this kind in
// place; a rewrite of any other kind must block the message instead.
func (k Kind) Rewritable() bool { return k == Prose || k == Identifier }

// Finding is one entity a detector found.
type Finding struct {
	Entity string // EMAIL, CREDIT_CARD, AWS_ACCESS_TOKEN, SHELL_PIPE_TO_SHELL, …
	// Segment is the index of the segment it is in; Start and End its byte
	// span in that segment's text.
	Segment    int
	Start, End int
	// Score is the detector's confidence, 0 to 1.
	Score  float64
	Action Action
}

// Result is what one guard decided about a message.
type Result struct {
	Guard    string
	Verdict  Verdict
	Findings []Finding
	// Score is the highest score the guard's detector gave, whether or not
	// it was acted on: an injection score just under the threshold is
	// evidence too.
	Score    float64
	Duration time.Duration
	// Err is set when the guard could not decide (it failed or overran its
	// time budget); the pipeline's fail mode says what that means.
	Err error
}

// Entities counts the findings acted on, by entity type, for evidence that
// never carries the values themselves.
func (r *Result) Entities() map[string]int {
	if len(r.Findings) == 0 {
		return nil
	}
	m := make(map[string]int, 4)
	for _, f := range r.Findings {
		m[f.Entity]++
	}
	return m
}

// Guard inspects the segments of a message.
type Guard interface {
	// Name identifies the guard in results and evidence.
	Name() string
	// Inspect returns the guard's verdict with each finding it acts on.
	// It must not modify texts.
	Inspect(ctx context.Context, texts []*Text) (Result, error)
}
