package monitor

import (
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"

	"github.com/modelgate/modelgate/datacheck/profile"
	"github.com/modelgate/modelgate/demo"
)

// baseline is the demo classifier's training data as a profile would
// hold it: a sample of each feature.
func baseline(split demo.Split) *profile.Profile {
	p := &profile.Profile{Version: 1, Rows: int64(len(split.Train))}
	for j, name := range demo.Features {
		c := &profile.Column{Name: name, Kind: profile.Numeric, Count: int64(len(split.Train)), Distinct: 1000}
		for _, x := range split.Train {
			c.Sample = append(c.Sample, x[j])
		}
		p.Columns = append(p.Columns, c)
	}
	p.Columns = append(p.Columns, &profile.Column{Name: "label", Kind: profile.Numeric, Sample: split.TrainY})
	return p
}

// TestDrift: live inputs drawn like the training data never drift; when
// two features shift, drift is detected within a window's rows, and the
// columns are named. The rows it took are logged: the N of the issue.
func TestDrift(t *testing.T) {
	split := demo.NewClassifier("demo-classifier").Data()
	d, err := NewDrift("demo-classifier", baseline(split), nil, 200, 0.01)
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Columns) != 4 {
		t.Fatalf("columns %v", d.Columns)
	}
	rng := rand.New(rand.NewPCG(5, 5))
	row := func(shift float64) []float64 {
		x := []float64{2 * rng.Float64(), 2 * rng.Float64(), 2 * rng.Float64(), 2 * rng.Float64()}
		x[0] += shift
		x[3] += shift
		return x
	}
	// Twenty windows of ordinary traffic, in requests of 1 to 10 rows.
	for sent := 0; sent < 4000; {
		n := 1 + rng.IntN(10)
		var batch []float64
		for range n {
			batch = append(batch, row(0)...)
		}
		if sig := d.Observe("", batch, 4); sig != nil {
			t.Fatalf("a false alarm after %d ordinary rows: %v", sent, sig)
		}
		sent += n
	}
	shifted := 0
	for {
		sig := d.Observe("", row(0.5), 4)
		shifted++
		if sig != nil {
			if sig["drift"] != "true" || sig["drift_columns"] == "" {
				t.Fatalf("signal %v", sig)
			}
			t.Logf("drift detected after %d shifted rows (window 200, checked every 50): columns %s", shifted, sig["drift_columns"])
			break
		}
		if shifted > 400 {
			t.Fatal("a shift of 0.5 (a quarter of the range) on two of four features went unseen for 400 rows")
		}
	}
	// MON-DRIFT alerts on the signal.
	e := defaultEngine(t)
	ev := invoke(day0, "k", "10.0.0.1", "demo-classifier")
	ev.Details = map[string]string{"drift": "true", "drift_columns": "amount_norm,merchant_risk"}
	if as := e.Observe(ev, 1); len(as) != 1 || as[0].Rule != "MON-DRIFT" || as[0].Subject != "demo-classifier" {
		t.Errorf("alerts %+v", as)
	}
	if _, err := NewDrift("r", baseline(split), []string{"nope"}, 200, 0.01); err == nil {
		t.Error("a baseline without the column was accepted")
	}
}

// TestOffDistributionCaller: on a route whose data is not uniform, a
// caller sending uniformly random inputs inside the data's bounds (the
// queries of extraction without a seed set) is flagged within a hundred
// rows, while honest callers interleaved with it, sending rows like the
// data, never are.
func TestOffDistributionCaller(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 9))
	gauss := func() []float64 {
		return []float64{rng.NormFloat64(), 5 + 2*rng.NormFloat64(), rng.ExpFloat64(), rng.NormFloat64()}
	}
	base := &profile.Profile{Version: 1}
	for j, name := range []string{"a", "b", "c", "d"} {
		c := &profile.Column{Name: name, Kind: profile.Numeric}
		for range 5000 {
			c.Sample = append(c.Sample, gauss()[j])
		}
		base.Columns = append(base.Columns, c)
	}
	d, err := NewDrift("scorer", base, nil, 200, 0.01)
	if err != nil {
		t.Fatal(err)
	}
	lo, hi := []float64{-4, -3, 0, -4}, []float64{4, 13, 8, 4}
	uniform := func() []float64 {
		x := make([]float64, 4)
		for j := range x {
			x[j] = lo[j] + (hi[j]-lo[j])*rng.Float64()
		}
		return x
	}
	for i := range 20000 {
		caller := "honest" + strconv.Itoa(i%20)
		if sig := d.Observe(caller, gauss(), 4); sig["off_distribution"] != "" {
			t.Fatalf("an honest caller flagged after %d rows: %v", i, sig)
		}
	}
	for n := 1; n <= 200; n++ {
		d.Observe("honest1", gauss(), 4)
		sig := d.Observe("attacker", uniform(), 4)
		if sig["off_distribution"] == "true" {
			t.Logf("random queries flagged after %d rows: columns %s", n, sig["off_distribution_columns"])
			if d.Observe("honest2", gauss(), 4)["off_distribution"] != "" {
				t.Error("an honest caller shares the attacker's flag")
			}
			return
		}
	}
	t.Fatal("200 uniformly random queries were not flagged")
}

// TestEventReader: the watcher reads canonical events with the fast
// decoder, and an event with a field the decoder does not know (a newer
// writer's) the general way, rather than skipping it.
func TestEventReader(t *testing.T) {
	var r eventReader
	ev := invoke(day0, "k", "10.0.0.1", "chat")
	got, err := r.read(ev.Canonical())
	if err != nil || got.Actor.ID != "k" || got.Resource.Model != "chat" {
		t.Fatalf("canonical: %+v %v", got, err)
	}
	newer := strings.Replace(string(ev.Canonical()), `{"action"`, `{"a_newer_field":1,"action"`, 1)
	if _, err := r.dec.Decode([]byte(newer)); err == nil {
		t.Fatal("the fast decoder took an unknown field: the fallback is not tested")
	}
	if got, err := r.read([]byte(newer)); err != nil || got.Actor.ID != "k" {
		t.Fatalf("newer: %+v %v", got, err)
	}
}
