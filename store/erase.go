package store

import (
	"fmt"
	"math"
)

// Erasure says which payloads to erase: those of the listed events, or of
// every event below Before (when Before > 0). Both backends apply it the
// same way: they read the batches Span covers that hold payloads, and
// rewrite each batch's payloads with Rewrite.
type Erasure struct {
	wanted map[int64]bool
	before int64
	// Lo and Hi bound the indexes of the events to erase; Hi < 0 when
	// there are none.
	Lo, Hi int64
}

// NewErasure plans an erasure.
func NewErasure(indexes []int64, before int64) *Erasure {
	e := &Erasure{wanted: make(map[int64]bool, len(indexes)), before: before, Lo: math.MaxInt64, Hi: -1}
	for _, i := range indexes {
		e.wanted[i] = true
		e.Lo, e.Hi = min(e.Lo, i), max(e.Hi, i)
	}
	if before > 0 {
		e.Lo, e.Hi = 0, max(e.Hi, before-1)
	}
	return e
}

// Rewrite erases the payloads of one stored batch. It returns the batch's
// new payloads column (nil when none are left), the indexes erased, and
// whether anything changed (when not, the batch need not be written).
func (e *Erasure) Rewrite(first int64, count int, leaves, payloads []byte) (newPayloads []byte, erased []int64, changed bool, err error) {
	batch, err := DecodeBatch(first, count, leaves, payloads)
	if err != nil {
		return nil, nil, false, fmt.Errorf("audit: erase: %w", err)
	}
	for _, l := range batch {
		if (l.Input != nil || l.Output != nil) && (e.wanted[l.Index] || l.Index < e.before) {
			l.Input, l.Output = nil, nil
			erased = append(erased, l.Index)
		}
	}
	if len(erased) == 0 {
		return nil, nil, false, nil
	}
	return EncodePayloads(batch), erased, true, nil
}
