package monitor

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/modelgate/modelgate/datacheck/profile"
	"github.com/modelgate/modelgate/datacheck/stats"
)

// Drift watches a classifier route's live inputs against a baseline
// profile (modelgate data profile of the training data): the last Window
// rows of each feature are compared with the baseline's sample by a
// Kolmogorov–Smirnov test every Window/4 rows, and the inputs drift when
// at least half of the features do (p below P), as `data drift` decides
// for files. It runs in the gateway, on the values of each request, and
// says so in the request's audit event, for MON-DRIFT to alert on.
type Drift struct {
	Route   string
	Columns []string    // the baseline's columns, in the input's order
	ref     [][]float64 // the baseline's sample per column
	Window  int
	P       float64

	mu        sync.Mutex
	rows      [][]float64 // per column, a ring of the last Window values
	next, n   int
	sinceTest int
	drifting  []string // the columns that drifted at the last test
}

// NewDrift prepares a watcher for a route. columns, when given, names the
// baseline columns the input holds, in order; else every numeric column
// of the baseline but one named "label".
func NewDrift(route string, base *profile.Profile, columns []string, window int, p float64) (*Drift, error) {
	if window < 20 {
		window = 200
	}
	if p <= 0 || p >= 1 {
		p = 0.01
	}
	d := &Drift{Route: route, Window: window, P: p}
	if len(columns) == 0 {
		for _, c := range base.Columns {
			if c.Kind == profile.Numeric && c.Name != "label" {
				columns = append(columns, c.Name)
			}
		}
	}
	for _, name := range columns {
		c := base.Column(name)
		if c == nil {
			return nil, fmt.Errorf("drift baseline for %s: no column %q", route, name)
		}
		if c.Kind != profile.Numeric || len(c.Sample) < 20 {
			return nil, fmt.Errorf("drift baseline for %s: column %q is not numeric with a sample of 20 values or more", route, name)
		}
		d.Columns = append(d.Columns, name)
		d.ref = append(d.ref, c.Sample)
	}
	if len(d.Columns) == 0 {
		return nil, fmt.Errorf("drift baseline for %s: no numeric columns", route)
	}
	d.rows = make([][]float64, len(d.Columns))
	for i := range d.rows {
		d.rows[i] = make([]float64, window)
	}
	return d, nil
}

// Observe adds a request's rows (width values each; the first len(Columns)
// are the features) and returns the signals to record: drift and the
// columns that drifted, while the inputs drift.
func (d *Drift) Observe(numbers []float64, width int) map[string]string {
	if width < len(d.Columns) {
		return nil
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	for start := 0; start+width <= len(numbers); start += width {
		for i := range d.Columns {
			d.rows[i][d.next] = numbers[start+i]
		}
		d.next = (d.next + 1) % d.Window
		d.n = min(d.n+1, d.Window)
		d.sinceTest++
		if d.n == d.Window && d.sinceTest >= d.Window/4 {
			d.sinceTest = 0
			d.drifting = d.test()
		}
	}
	if d.drifting == nil {
		return nil
	}
	return map[string]string{"drift": "true", "drift_columns": strings.Join(d.drifting, ","), "drift_window": strconv.Itoa(d.Window)}
}

// test compares the window with the baseline; nil when it does not
// drift.
func (d *Drift) test() []string {
	var drifted []string
	for i, name := range d.Columns {
		if _, p := stats.KS(d.ref[i], slices.Clone(d.rows[i])); p < d.P {
			drifted = append(drifted, name)
		}
	}
	if 2*len(drifted) < len(d.Columns) {
		return nil
	}
	return drifted
}
