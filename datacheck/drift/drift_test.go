package drift

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/modelgate/modelgate/datacheck/profile"
	"github.com/modelgate/modelgate/datacheck/table"
)

// gen builds a profile of n rows: a numeric column shifted by shift, a
// category column drawn with weights, a binary column with share p1.
func gen(t *testing.T, n int, shift float64, weights [3]float64, p1 float64, seed uint64) *profile.Profile {
	t.Helper()
	r := rand.New(rand.NewPCG(seed, seed))
	var b strings.Builder
	b.WriteString("x,cat,flag\n")
	for range n {
		u := r.Float64() * (weights[0] + weights[1] + weights[2])
		cat := "a"
		switch {
		case u > weights[0]+weights[1]:
			cat = "c"
		case u > weights[0]:
			cat = "b"
		}
		flag := "0"
		if r.Float64() < p1 {
			flag = "1"
		}
		fmt.Fprintf(&b, "%.6f,%s,%s\n", r.NormFloat64()+shift, cat, flag)
	}
	tr, err := table.NewCSV(strings.NewReader(b.String()), 0)
	if err != nil {
		t.Fatal(err)
	}
	p, err := profile.Build(tr)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func result(rep *Report, col string) Column {
	for _, c := range rep.Columns {
		if c.Column == col {
			return c
		}
	}
	return Column{}
}

func TestSmallReference(t *testing.T) {
	ref := gen(t, 800, 0, [3]float64{1, 1, 1}, 0.5, 1)
	same, _ := Compare(ref, gen(t, 800, 0, [3]float64{1, 1, 1}, 0.5, 2), nil)
	for _, c := range same.Columns {
		if c.Drift {
			t.Errorf("same distribution drifted: %+v", c)
		}
	}
	if same.DatasetDrift {
		t.Error("dataset drift on the same distribution")
	}
	moved, _ := Compare(ref, gen(t, 800, 0.5, [3]float64{3, 1, 1}, 0.8, 3), nil)
	for col, method := range map[string]string{"x": KS, "cat": ChiSquare, "flag": ZTest} {
		if c := result(moved, col); c.Method != method || !c.Drift || c.Statistic >= 0.05 {
			t.Errorf("%s: %+v, want %s drift", col, c, method)
		}
	}
	if !moved.DatasetDrift || moved.Share != 1 {
		t.Errorf("dataset drift %+v", moved)
	}
}

func TestLargeReference(t *testing.T) {
	ref := gen(t, 5000, 0, [3]float64{1, 1, 1}, 0.5, 4)
	same, _ := Compare(ref, gen(t, 5000, 0, [3]float64{1, 1, 1}, 0.5, 5), nil)
	if c := result(same, "x"); c.Method != Wasserstein || c.Drift {
		t.Errorf("x: %+v", c)
	}
	if c := result(same, "cat"); c.Method != JensenShannon || c.Drift {
		t.Errorf("cat: %+v", c)
	}
	moved, _ := Compare(ref, gen(t, 5000, 0.5, [3]float64{4, 1, 1}, 0.5, 6), map[string]string{"flag": PSI})
	if c := result(moved, "x"); !c.Drift || c.Statistic < 0.3 {
		t.Errorf("shifted x: %+v (a shift of half a standard deviation is a normed distance near 0.5)", c)
	}
	if c := result(moved, "cat"); !c.Drift {
		t.Errorf("cat: %+v", c)
	}
	if c := result(moved, "flag"); c.Method != PSI || c.Drift {
		t.Errorf("flag by PSI: %+v", c)
	}
	if _, err := Compare(ref, ref, map[string]string{"x": "vibes"}); err == nil {
		t.Error("an unknown method passed")
	}
}
