// Package profile summarises a table column by column, in one streaming
// pass and bounded memory, and keeps what a later drift check needs so
// that the reference data itself is not needed then: counts, nulls,
// distinct values (HyperLogLog), quantiles (t-digest), a histogram, the
// categories and their counts, and a uniform sample of numeric values.
package profile

import (
	"hash/maphash"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"

	"github.com/axiomhq/hyperloglog"
	"github.com/influxdata/tdigest"
	"github.com/modelgate/modelgate/datacheck/table"
)

// Bounds.
const (
	// SampleSize is the size of the uniform sample of numeric values kept
	// for drift tests: the statistics of a 10,000-value sample are within
	// about 1% of the full data's.
	SampleSize = 10000
	// MaxCategories bounds the categories counted per column; the rest
	// are counted as Other.
	MaxCategories = 1000
	// Other is the name under which categories beyond the bound count.
	Other = "__other__"
)

// Column kinds.
const (
	Numeric     = "numeric"
	Categorical = "categorical"
	Text        = "text" // too many distinct strings to compare as categories
	Empty       = "empty"
)

// Profile is a table's summary.
type Profile struct {
	Version int       `json:"version"`
	Rows    int64     `json:"rows"`
	Columns []*Column `json:"columns"`
	// Unreadable are the rows that could not be read: the profile
	// describes the others.
	Unreadable *table.Unreadable `json:"unreadable_rows,omitempty"`
	// Features, when set, says the columns are not the file's but
	// features derived from its Source column (textfeat.Version: the
	// text features of a prompt column).
	Features string `json:"features,omitempty"`
	Source   string `json:"source_column,omitempty"`
}

// Column is one column's summary.
type Column struct {
	Name     string  `json:"name"`
	Kind     string  `json:"kind"`
	Count    int64   `json:"count"`
	Nulls    int64   `json:"nulls"`
	Distinct uint64  `json:"distinct"`
	Min      float64 `json:"min,omitempty"`
	Max      float64 `json:"max,omitempty"`
	Mean     float64 `json:"mean,omitempty"`
	Std      float64 `json:"std,omitempty"`
	// Quantiles are p1, p5, p25, p50, p75, p95 and p99 (numeric).
	Quantiles map[string]float64 `json:"quantiles,omitempty"`
	Histogram *Histogram         `json:"histogram,omitempty"`
	// Categories counts each value (categorical), up to MaxCategories.
	Categories map[string]int64 `json:"categories,omitempty"`
	// Sample is a uniform sample of the numeric values, for drift tests.
	Sample []float64 `json:"sample,omitempty"`
}

// Histogram has equal-width bins.
type Histogram struct {
	Edges  []float64 `json:"edges"`
	Counts []int64   `json:"counts"`
}

// Build reads every row of r and profiles each column.
func Build(r table.Reader) (*Profile, error) {
	cols := r.Columns()
	acc := make([]*accumulator, len(cols))
	for i := range acc {
		acc[i] = newAccumulator(uint64(i) + 1)
	}
	p := &Profile{Version: 1}
	var bad table.Unreadable
	err := table.Each(r, func(row *table.Row) error {
		p.Rows++
		for i, v := range row.Values {
			acc[i].add(v)
		}
		return nil
	}, bad.Add)
	if bad.Count > 0 {
		p.Unreadable = &bad
	}
	if err != nil {
		return nil, err
	}
	for i, name := range cols {
		p.Columns = append(p.Columns, acc[i].finish(name))
	}
	return p, nil
}

type accumulator struct {
	count, nulls, numbers int64
	hll                   *hyperloglog.Sketch
	td                    *tdigest.TDigest
	min, max              float64
	sum, sumSq            float64
	cats                  map[string]int64
	other                 int64
	sample                []float64
	rng                   *rand.Rand
}

func newAccumulator(seed uint64) *accumulator {
	return &accumulator{hll: hyperloglog.NewNoSparse(), td: tdigest.NewWithCompression(100), cats: map[string]int64{},
		min: math.Inf(1), max: math.Inf(-1), rng: rand.New(rand.NewPCG(seed, 0x5eed))}
}

func (a *accumulator) add(v table.Value) {
	if v.Null {
		a.nulls++
		return
	}
	a.count++
	a.hll.InsertHash(maphash.String(hashSeed, v.Text)) // no []byte copy per value
	if n, ok := a.cats[v.Text]; ok || len(a.cats) < MaxCategories {
		a.cats[v.Text] = n + 1
	} else {
		a.other++
	}
	// Once a column is plainly not numeric, stop trying to parse it.
	if a.count > 1000 && a.numbers*100 < a.count*90 || !numberLike(v.Text) {
		return
	}
	f, err := strconv.ParseFloat(v.Text, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return
	}
	a.numbers++
	a.td.Add(f, 1)
	a.min, a.max = min(a.min, f), max(a.max, f)
	a.sum += f
	a.sumSq += f * f
	// Reservoir sampling (Algorithm R): a uniform sample whatever the size.
	if len(a.sample) < SampleSize {
		a.sample = append(a.sample, f)
	} else if j := a.rng.Int64N(a.numbers); j < SampleSize {
		a.sample[j] = f
	}
}

func (a *accumulator) finish(name string) *Column {
	c := &Column{Name: name, Count: a.count, Nulls: a.nulls, Distinct: a.hll.Estimate()}
	switch {
	case a.count == 0:
		c.Kind = Empty
	case a.numbers*100 >= a.count*95:
		c.Kind = Numeric
		n := float64(a.numbers)
		c.Min, c.Max, c.Mean = a.min, a.max, a.sum/n
		c.Std = math.Sqrt(max(0, a.sumSq/n-c.Mean*c.Mean))
		c.Quantiles = map[string]float64{}
		for _, q := range []float64{0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99} {
			c.Quantiles["p"+strconv.Itoa(int(math.Round(q*100)))] = a.td.Quantile(q)
		}
		c.Sample = a.sample
		c.Histogram = histogram(a.sample, a.min, a.max, 10)
		if len(a.cats) <= 5 && a.other == 0 {
			c.Categories = a.cats // few distinct values: tested as categories
		}
	case a.other > 0 || len(a.cats) > MaxCategories/2:
		c.Kind = Text
	default:
		c.Kind = Categorical
		c.Categories = a.cats
	}
	if c.Kind == Categorical && a.other > 0 {
		c.Categories[Other] = a.other
	}
	return c
}

var hashSeed = maphash.MakeSeed()

// numberLike is a cheap test before ParseFloat, whose errors allocate.
func numberLike(s string) bool {
	if s == "" {
		return false
	}
	c := s[0]
	return c >= '0' && c <= '9' || c == '-' || c == '+' || c == '.' || c == 'I' || c == 'i' || c == 'N' || c == 'n'
}

// histogram bins a sample over [lo, hi], scaled to the sample.
func histogram(sample []float64, lo, hi float64, bins int) *Histogram {
	if hi <= lo {
		hi = lo + 1
	}
	h := &Histogram{Edges: make([]float64, bins+1), Counts: make([]int64, bins)}
	for i := range h.Edges {
		h.Edges[i] = lo + (hi-lo)*float64(i)/float64(bins)
	}
	for _, v := range sample {
		i := int((v - lo) / (hi - lo) * float64(bins))
		h.Counts[min(max(i, 0), bins-1)]++
	}
	return h
}

// Column returns the named column, or nil.
func (p *Profile) Column(name string) *Column {
	i := slices.IndexFunc(p.Columns, func(c *Column) bool { return c.Name == name })
	if i < 0 {
		return nil
	}
	return p.Columns[i]
}
