package audit

import (
	"bytes"
	"slices"
	"testing"
	"time"
)

// needlesAgree says whether the byte prefilter keeps every event the
// filter matches.
func needlesAgree(f Filter, ev *Event) bool {
	data := ev.Canonical()
	kept := true
	for _, group := range f.needles() {
		if !slices.ContainsFunc(group, func(nd []byte) bool { return holds(data, nd) }) {
			kept = false
		}
	}
	return kept || !f.match(ev)
}

// FuzzQueryNeedles: the prefilter never drops an event the filter
// matches, whatever the values hold (quotes, escapes, HTML, non-ASCII),
// and a filter naming each field of the event matches it.
func FuzzQueryNeedles(f *testing.F) {
	f.Add("inference.invoke", "key_7f3a", "fraud", "allowed", "req-1")
	f.Add("key.revoke", `a"b\c`, "<m&o>", "denied", "\u2028")
	f.Add("alert.raised", "api_key:x", "m\x00", "failed", "")
	f.Fuzz(func(t *testing.T, action, actor, model, outcome, rid string) {
		ev := &Event{Time: time.Unix(1_800_000_000, 0).UTC(), Action: action, Actor: Actor{Kind: ActorAPIKey, ID: actor},
			Resource: Resource{Model: model}, Decision: Decision{Outcome: outcome}, RequestID: rid}
		for _, flt := range []Filter{{Action: action}, {ActorID: actor}, {Model: model}, {Outcome: outcome}, {RequestID: rid},
			{Actions: []string{"alert.raised", action}}, {Actions: []string{"incident.", action, "x."}},
			{Action: action, ActorID: actor, Model: model, Outcome: outcome, RequestID: rid}} {
			if !flt.match(ev) {
				continue
			}
			if !needlesAgree(flt, ev) {
				t.Fatalf("filter %+v matches %s but its needles %q drop it", flt, ev.Canonical(), flt.needles())
			}
		}
		if len(action) > 1 {
			family := Filter{Action: action[:len(action)/2] + "."}
			if family.match(ev) && !needlesAgree(family, ev) {
				t.Fatalf("family %q drops %s", family.Action, ev.Canonical())
			}
		}
	})
}

// TestQueryNeedlesSkip: a filter for a rare action skips other events
// without decoding them, and still finds its own.
func TestQueryNeedlesSkip(t *testing.T) {
	f := Filter{Action: "key.revoke", ActorID: "cli:ops@host"}
	if got := len(f.needles()); got != 2 {
		t.Fatalf("%d needles", got)
	}
	other := &Event{Action: "inference.invoke", Actor: Actor{ID: "key_1"}}
	mine := &Event{Action: "key.revoke", Actor: Actor{ID: "cli:ops@host"}}
	if bytes.Contains(other.Canonical(), f.needles()[0][0]) || !bytes.Contains(mine.Canonical(), f.needles()[0][0]) || !bytes.Contains(mine.Canonical(), f.needles()[1][0]) {
		t.Error("the needles do not tell the events apart")
	}
}
