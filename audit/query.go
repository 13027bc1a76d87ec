package audit

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/modelgate/modelgate/store"
)

// Filter selects events. Zero fields match everything.
type Filter struct {
	Since, Until time.Time // [Since, Until)
	FromIndex    int64
	ActorID      string
	Action       string // exact, or a family ending in "." ("inference.")
	// Actions, when set, selects events of any of these actions (each
	// exact or a family), as one pass over the log.
	Actions      []string
	Model        string
	Outcome      string
	RequestID    string
	Limit        int  // at most this many (0: all)
	Descending   bool // newest first
	WithPayloads bool
}

func (f *Filter) match(ev *Event) bool {
	switch {
	case !f.Since.IsZero() && ev.Time.Before(f.Since),
		!f.Until.IsZero() && !ev.Time.Before(f.Until),
		f.ActorID != "" && ev.Actor.ID != f.ActorID,
		f.Model != "" && ev.Resource.Model != f.Model,
		f.Outcome != "" && ev.Decision.Outcome != f.Outcome,
		f.RequestID != "" && ev.RequestID != f.RequestID:
		return false
	case f.Action != "" && !actionIs(ev.Action, f.Action):
		return false
	case len(f.Actions) > 0:
		for _, a := range f.Actions {
			if actionIs(ev.Action, a) {
				return true
			}
		}
		return false
	}
	return true
}

// actionIs says whether action is want, or of the family want names.
func actionIs(action, want string) bool {
	if strings.HasSuffix(want, ".") {
		return strings.HasPrefix(action, want)
	}
	return action == want
}

var errEnough = errors.New("enough")

// needles are byte strings an event's canonical JSON must contain to
// match the filter, in groups of which each must have one: searching a
// long log for a rare action or caller then decodes only the events that
// may match. A value that canonical JSON would escape gets no needle (the
// exact match still applies).
func (f *Filter) needles() [][][]byte {
	var out [][][]byte
	needle := func(key, value string, prefix bool) []byte {
		if value == "" {
			return nil
		}
		for i := 0; i < len(value); i++ {
			c := value[i]
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("._:@/+- ", c) >= 0) {
				return nil
			}
		}
		nd := `"` + key + `":"` + value
		if !prefix {
			nd += `"`
		}
		return []byte(nd)
	}
	add := func(key, value string, prefix bool) {
		if nd := needle(key, value, prefix); nd != nil {
			out = append(out, [][]byte{nd})
		}
	}
	add("action", f.Action, strings.HasSuffix(f.Action, "."))
	add("id", f.ActorID, false)
	add("model", f.Model, false)
	add("outcome", f.Outcome, false)
	add("request_id", f.RequestID, false)
	var oneOf [][]byte
	for _, a := range f.Actions {
		nd := needle("action", a, strings.HasSuffix(a, "."))
		if nd == nil {
			oneOf = nil // one action without a needle: the group cannot exclude anything
			break
		}
		oneOf = append(oneOf, nd)
	}
	if len(oneOf) > 0 {
		out = append(out, oneOf)
	}
	return out
}

// actionFirst is how canonical JSON begins: "action" sorts first of an
// event's keys.
var actionFirst = []byte(`{"action":"`)

// holds says whether an event's canonical JSON holds a needle. An action
// needle is compared where the action is, at the start, rather than
// searched for: filtering a long log by action then costs almost nothing
// per event. Data of another shape is searched.
func holds(data, nd []byte) bool {
	if bytes.HasPrefix(nd, actionFirst[1:]) && bytes.HasPrefix(data, actionFirst) {
		return bytes.HasPrefix(data[1:], nd)
	}
	return bytes.Contains(data, nd)
}

// Query calls fn for each event the filter selects, decoded, in index
// order (or newest first). The store narrows by index and time; every
// event is then decoded and matched exactly.
func Query(ctx context.Context, st store.AuditStore, f Filter, fn func(ev *Event, l *store.AuditLeaf) error) error {
	var dec eventDecoder
	n := 0
	needles := f.needles()
	err := st.ScanAudit(ctx, store.AuditRange{FromIndex: f.FromIndex, Since: f.Since, Until: f.Until,
		Descending: f.Descending, WithPayloads: f.WithPayloads}, func(l *store.AuditLeaf) error {
		for _, group := range needles {
			if !slices.ContainsFunc(group, func(nd []byte) bool { return holds(l.Data, nd) }) {
				return nil // cannot match: not worth decoding
			}
		}
		ev, err := dec.decode(l.Data)
		if err != nil {
			return fmt.Errorf("event %d: %w", l.Index, err)
		}
		if !f.match(ev) {
			return nil
		}
		if err := fn(ev, l); err != nil {
			return err
		}
		if n++; f.Limit > 0 && n >= f.Limit {
			return errEnough
		}
		return nil
	})
	if errors.Is(err, errEnough) {
		return nil
	}
	return err
}
