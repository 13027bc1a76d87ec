package outlier

import (
	"math"
	"math/rand/v2"
	"testing"
)

func TestAvgPath(t *testing.T) {
	// c(256) from the paper's formula: 2(ln 255 + γ) − 2·255/256.
	want := 2*(math.Log(255)+0.5772156649015329) - 2*255.0/256
	if got := avgPath(256); math.Abs(got-want) > 1e-9 || math.Abs(got-10.2448) > 1e-3 {
		t.Errorf("c(256) = %v, want %v", got, want)
	}
	if avgPath(1) != 0 || avgPath(2) != 1 {
		t.Error("c(1), c(2)")
	}
}

func TestForest(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 7))
	var rows [][]float64
	for range 2000 {
		rows = append(rows, []float64{r.NormFloat64(), r.NormFloat64()})
	}
	outlier := []float64{8, -8}
	rows = append(rows, outlier)
	f := Fit(rows, 100, 256, 1)
	center, far := f.Score([]float64{0, 0}), f.Score(outlier)
	if far < 0.6 || center > 0.5 || far <= center {
		t.Errorf("scores: center %.3f, outlier %.3f", center, far)
	}
	// Deterministic for a seed.
	if g := Fit(rows, 100, 256, 1); g.Score(outlier) != far {
		t.Error("the same seed gave another forest")
	}
}

func TestRobustZ(t *testing.T) {
	// median 3, deviations 2,1,0,1,97 → MAD 1.
	z := RobustZ([]float64{1, 2, 3, 4, 100})
	want := []float64{-1.349, -0.6745, 0, 0.6745, 65.4265}
	for i := range z {
		if math.Abs(z[i]-want[i]) > 1e-6 {
			t.Errorf("z[%d] = %v, want %v", i, z[i], want[i])
		}
	}
}

// TestRobustZWithoutSpread: when most values equal the median the MAD is
// zero; scores fall back to the mean absolute deviation and stay finite,
// and a constant column scores zero throughout.
func TestRobustZWithoutSpread(t *testing.T) {
	vals := []float64{5, 5, 5, 5, 5, 5, 5, 6, 40}
	z := RobustZ(vals)
	for i, s := range z {
		if math.IsInf(s, 0) || math.IsNaN(s) {
			t.Fatalf("z[%d] = %v", i, s)
		}
	}
	if z[0] != 0 || z[8] <= 3.5 || z[7] >= 3.5 {
		t.Errorf("scores %v: want the 40 alone beyond 3.5", z)
	}
	for _, s := range RobustZ([]float64{3, 3, 3}) {
		if s != 0 {
			t.Errorf("constant column scored %v", s)
		}
	}
}
