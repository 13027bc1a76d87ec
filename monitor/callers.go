package monitor

import (
	"strings"
)

// A caller's own inputs are tested against the baseline too: model
// extraction by random or synthetic queries (Tramèr et al.'s uniform
// queries, Papernot's Jacobian augmentation) sends inputs unlike the data
// the model serves, while the route's window, shared with every honest
// caller, may not move. Each caller's last callerRows rows are compared
// with the baseline by the same Kolmogorov–Smirnov test, at a stricter p
// because many callers are tested.
const (
	callerRows    = 100
	callerP       = 1e-4
	maxCallerWins = 4096 // callers remembered per route; the oldest are dropped at random
)

// callerWindow is one caller's last rows on a route.
type callerWindow struct {
	rows      [][]float64 // per column, a ring of the last callerRows values
	next, n   int
	sinceTest int
	off       []string // the columns unlike the baseline at the last test
}

// observeCaller adds a caller's rows and returns the columns in which
// the caller's inputs are unlike the baseline, or nil. d.mu is held.
func (d *Drift) observeCaller(caller string, numbers []float64, width int) []string {
	w := d.callers[caller]
	if w == nil {
		if d.callers == nil {
			d.callers = map[string]*callerWindow{}
		}
		if len(d.callers) >= maxCallerWins {
			for k := range d.callers { // map order is random enough to spread the loss
				delete(d.callers, k)
				break
			}
		}
		w = &callerWindow{rows: make([][]float64, len(d.Columns))}
		for i := range w.rows {
			w.rows[i] = make([]float64, callerRows)
		}
		d.callers[caller] = w
	}
	for start := 0; start+width <= len(numbers); start += width {
		for i := range d.Columns {
			w.rows[i][w.next] = numbers[start+i]
		}
		w.next = (w.next + 1) % callerRows
		w.n = min(w.n+1, callerRows)
		w.sinceTest++
		if w.n == callerRows && w.sinceTest >= callerRows/4 {
			w.sinceTest = 0
			w.off = d.unlike(w.rows, callerP)
		}
	}
	return w.off
}

// unlike returns the columns in which windows of values differ from the
// baseline at p, when at least half of them do.
func (d *Drift) unlike(rows [][]float64, p float64) []string {
	off, _ := d.compare(rows, p)
	if 2*len(off) < len(d.Columns) {
		return nil
	}
	return off
}

// callerSignals are the details of a request whose caller's inputs are
// unlike the baseline.
func callerSignals(sig map[string]string, off []string) map[string]string {
	if off == nil {
		return sig
	}
	if sig == nil {
		sig = map[string]string{}
	}
	sig["off_distribution"] = "true"
	sig["off_distribution_columns"] = strings.Join(off, ",")
	return sig
}
