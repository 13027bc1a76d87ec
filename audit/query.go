package audit

import (
	"context"
	"errors"
	"fmt"
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
	case f.Action != "":
		if strings.HasSuffix(f.Action, ".") {
			return strings.HasPrefix(ev.Action, f.Action)
		}
		return ev.Action == f.Action
	}
	return true
}

var errEnough = errors.New("enough")

// Query calls fn for each event the filter selects, decoded, in index
// order (or newest first). The store narrows by index and time; every
// event is then decoded and matched exactly.
func Query(ctx context.Context, st store.AuditStore, f Filter, fn func(ev *Event, l *store.AuditLeaf) error) error {
	var dec eventDecoder
	n := 0
	err := st.ScanAudit(ctx, store.AuditRange{FromIndex: f.FromIndex, Since: f.Since, Until: f.Until,
		Descending: f.Descending, WithPayloads: f.WithPayloads}, func(l *store.AuditLeaf) error {
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
