package monitor

import (
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/modelgate/modelgate/datacheck/profile"
	"github.com/modelgate/modelgate/datacheck/stats"
	"github.com/modelgate/modelgate/datacheck/textfeat"
)

// Drift watches a route's live inputs against a baseline profile: the
// numeric inputs of a classifier route against a profile of its training
// data, or the text features (package textfeat) of a chat route's prompts
// against a profile made by `data profile --text`. The last Window rows of
// each feature are compared with the baseline's sample by a
// Kolmogorov–Smirnov test every Window/4 rows. Numeric inputs drift when
// at least half of the features do (p below P), as `data drift` decides
// for files; text drifts when any feature does at P over the number of
// features (Bonferroni), because a change of language or of encoding
// shows in one or two of its features, not in half. It runs in the
// gateway, on the values of each request, and says so in the request's
// audit event, for MON-DRIFT to alert on.
//
// When drift is first seen, Drift estimates when it began, as the start
// of the window's most significant drifting suffix, and records the
// detection time (from that onset to the test that saw it) in every
// drifting event: the figure behind mean time to detect drift.
type Drift struct {
	Route   string
	Columns []string    // the baseline's columns, in the input's order
	ref     [][]float64 // the baseline's sample per column, sorted
	Window  int
	P       float64
	// Text says the columns are text features and drift is decided
	// feature by feature.
	Text bool
	// Now is the clock; time.Now when nil.
	Now func() time.Time

	mu        sync.Mutex
	rows      [][]float64 // per column, a ring of the last Window values
	times     []time.Time // when each row of the ring came
	next, n   int
	sinceTest int
	drifting  []string // the columns that drifted at the last test
	episode   map[string]string
	callers   map[string]*callerWindow
}

// NewDrift prepares a watcher for a route. columns, when given, names the
// baseline columns the input holds, in order; else every numeric column
// of the baseline but one named "label". A baseline of text features
// (textfeat.Version) takes its features in their order.
func NewDrift(route string, base *profile.Profile, columns []string, window int, p float64) (*Drift, error) {
	if window < 20 {
		window = 200
	}
	d := &Drift{Route: route, Window: window, P: p}
	if p <= 0 || p >= 1 {
		d.P = 0.01
	}
	switch base.Features {
	case "":
	case textfeat.Version:
		if len(columns) > 0 {
			return nil, fmt.Errorf("drift baseline for %s: a profile of text features takes no columns", route)
		}
		d.Text, columns = true, textfeat.Names
		if p <= 0 || p >= 1 {
			// Any one of eleven features may raise text drift, tested
			// every Window/4 prompts: at 0.01 an unchanged route would
			// alarm every few thousand prompts.
			d.P = 0.0001
		}
	default:
		return nil, fmt.Errorf("drift baseline for %s: features %q are not known to this version (it reads %s)", route, base.Features, textfeat.Version)
	}
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
		ref := slices.Clone(c.Sample)
		slices.Sort(ref)
		d.ref = append(d.ref, ref)
	}
	if len(d.Columns) == 0 {
		return nil, fmt.Errorf("drift baseline for %s: no numeric columns", route)
	}
	d.rows = make([][]float64, len(d.Columns))
	for i := range d.rows {
		d.rows[i] = make([]float64, window)
	}
	d.times = make([]time.Time, window)
	return d, nil
}

// ObserveText adds the text features of a prompt (a chat route's watch).
func (d *Drift) ObserveText(text string) map[string]string {
	var f [textfeat.N]float64
	textfeat.Extract(text, &f)
	return d.Observe("", f[:], textfeat.N)
}

// Observe adds a request's rows (width values each; the first len(Columns)
// are the features) and returns the signals to record while the inputs
// drift: drift, the columns that drifted, and when the drift began and
// was detected. A caller, when given, has its own inputs tested too (see
// observeCaller): off_distribution while they are unlike the baseline.
func (d *Drift) Observe(caller string, numbers []float64, width int) map[string]string {
	if width < len(d.Columns) {
		return nil
	}
	now := time.Now
	if d.Now != nil {
		now = d.Now
	}
	t := now()
	d.mu.Lock()
	defer d.mu.Unlock()
	for start := 0; start+width <= len(numbers); start += width {
		for i := range d.Columns {
			d.rows[i][d.next] = numbers[start+i]
		}
		d.times[d.next] = t
		d.next = (d.next + 1) % d.Window
		d.n = min(d.n+1, d.Window)
		d.sinceTest++
		if d.n == d.Window && d.sinceTest >= d.Window/4 {
			d.sinceTest = 0
			d.test(t)
		}
	}
	var off []string
	if caller != "" {
		off = d.observeCaller(caller, numbers, width)
	}
	if d.drifting == nil {
		return callerSignals(nil, off)
	}
	sig := make(map[string]string, len(d.episode)+5)
	maps.Copy(sig, d.episode)
	sig["drift"] = "true"
	sig["drift_columns"] = strings.Join(d.drifting, ",")
	sig["drift_window"] = strconv.Itoa(d.Window)
	return callerSignals(sig, off)
}

// test compares the window with the baseline, and on the first test of a
// drift estimates its onset.
func (d *Drift) test(now time.Time) {
	p := d.P
	if d.Text {
		p /= float64(len(d.Columns))
	}
	drifted, worst := d.compare(d.rows, p)
	if !d.Text && 2*len(drifted) < len(d.Columns) || len(drifted) == 0 {
		d.drifting, d.episode = nil, nil
		return
	}
	if d.drifting == nil {
		rows := d.onsetRows(worst)
		onset := d.times[(d.next-rows+d.Window)%d.Window]
		d.episode = map[string]string{
			"drift_onset":             onset.UTC().Format(time.RFC3339Nano),
			"drift_detected":          now.UTC().Format(time.RFC3339Nano),
			"drift_detection_rows":    strconv.Itoa(rows),
			"drift_detection_seconds": strconv.FormatFloat(now.Sub(onset).Seconds(), 'f', 3, 64),
		}
	}
	d.drifting = drifted
}

// compare tests windows of values (one per column) against the baseline
// and returns the columns whose p is below p, and the column of the
// smallest p (-1 when none is below).
func (d *Drift) compare(rows [][]float64, p float64) (below []string, worst int) {
	sorted := make([]float64, len(rows[0]))
	worst, worstP := -1, 1.0
	for i, name := range d.Columns {
		copy(sorted, rows[i])
		slices.Sort(sorted)
		if _, pi := stats.KSSorted(d.ref[i], sorted); pi < p {
			below = append(below, name)
			if pi < worstP {
				worst, worstP = i, pi
			}
		}
	}
	return below, worst
}

// onsetRows estimates how many of the window's newest rows come after the
// change: the suffix whose KS statistic against the baseline, scaled by
// the square root of its effective size, is largest. Older rows from
// before the change dilute the statistic; fewer rows weaken it.
func (d *Drift) onsetRows(col int) int {
	ordered := make([]float64, 0, d.Window) // oldest first
	for k := range d.Window {
		ordered = append(ordered, d.rows[col][(d.next+k)%d.Window])
	}
	m := float64(len(d.ref[col]))
	best, bestScore := d.Window, -1.0
	suffix := make([]float64, 0, d.Window)
	for l := 10; l <= d.Window; l += 5 {
		suffix = append(suffix[:0], ordered[d.Window-l:]...)
		slices.Sort(suffix)
		stat, _ := stats.KSSorted(d.ref[col], suffix)
		n := float64(l)
		if score := stat * math.Sqrt(n*m/(n+m)); score > bestScore {
			best, bestScore = l, score
		}
	}
	return best
}
