package profile

import (
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/modelgate/modelgate/datacheck/table"
)

func build(t *testing.T, csv string) *Profile {
	t.Helper()
	r, err := table.NewCSV(strings.NewReader(csv), 0)
	if err != nil {
		t.Fatal(err)
	}
	p, err := Build(r)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestBuild(t *testing.T) {
	var b strings.Builder
	b.WriteString("n,cat,empty,txt\n")
	for i := 1; i <= 100; i++ {
		cat := []string{"a", "b", "c"}[i%3]
		n := fmt.Sprint(i)
		if i == 50 {
			n = ""
		}
		fmt.Fprintf(&b, "%s,%s,,free text number %d\n", n, cat, i*7919)
	}
	p := build(t, b.String())
	n := p.Column("n")
	// 1..100 without 50: 99 values, mean (5050-50)/99, population std.
	mean := (5050.0 - 50) / 99
	var ss float64
	for i := 1; i <= 100; i++ {
		if i != 50 {
			ss += (float64(i) - mean) * (float64(i) - mean)
		}
	}
	std := math.Sqrt(ss / 99)
	if n.Kind != Numeric || n.Count != 99 || n.Nulls != 1 || n.Min != 1 || n.Max != 100 ||
		math.Abs(n.Mean-mean) > 1e-9 || math.Abs(n.Std-std) > 1e-9 || len(n.Sample) != 99 {
		t.Errorf("numeric column %+v", n)
	}
	if math.Abs(n.Quantiles["p50"]-51) > 1.5 || n.Distinct < 95 || n.Distinct > 103 {
		t.Errorf("quantile p50 %v, distinct %d", n.Quantiles["p50"], n.Distinct)
	}
	var hsum int64
	for _, c := range n.Histogram.Counts {
		hsum += c
	}
	if hsum != 99 {
		t.Errorf("histogram holds %d values", hsum)
	}
	if c := p.Column("cat"); c.Kind != Categorical || c.Categories["a"] != 33 || c.Categories["b"] != 34 || c.Categories["c"] != 33 {
		t.Errorf("categorical column %+v", c)
	}
	if c := p.Column("empty"); c.Kind != Empty || c.Nulls != 100 {
		t.Errorf("empty column %+v", c)
	}
	if p.Rows != 100 {
		t.Errorf("rows %d", p.Rows)
	}
}

// TestSampleBounded: the numeric sample stays at SampleSize, uniformly.
func TestSampleBounded(t *testing.T) {
	a := newAccumulator(1)
	for i := range 100000 {
		a.add(table.Value{Text: fmt.Sprint(i)})
	}
	c := a.finish("x")
	if len(c.Sample) != SampleSize {
		t.Fatalf("sample of %d", len(c.Sample))
	}
	var mean float64
	for _, v := range c.Sample {
		mean += v
	}
	mean /= SampleSize
	if math.Abs(mean-49999.5) > 1500 {
		t.Errorf("sample mean %v: not uniform", mean)
	}
}
