package stats

import (
	"math"
	"testing"
)

// The expected values were computed by independent brute-force
// implementations of the same definitions (Python, standard library only:
// the empirical CDFs compared point by point, the chi-square survival
// function in closed form for 1, 2 and 4 degrees of freedom, the earth
// mover's distance as the mean gap of sorted equal-size samples).

var (
	a = []float64{0.1, 0.5, 0.9, 1.3, 2.2, 2.8, 3.1, 4.0, 4.4, 5.0}
	b = []float64{0.3, 1.1, 1.9, 2.5, 3.3, 3.9, 4.8, 5.5, 6.1, 7.0, 7.7, 8.2}
)

func near(t *testing.T, name string, got, want float64) {
	t.Helper()
	if math.Abs(got-want) > 1e-6 {
		t.Errorf("%s = %.12f, want %.12f", name, got, want)
	}
}

func TestKS(t *testing.T) {
	d, p := KS(a, b)
	near(t, "D", d, 0.41666666666666663)
	near(t, "p", p, 0.2999303117542794)
	d, p = KS(a, a)
	near(t, "D of equal samples", d, 0)
	near(t, "p of equal samples", p, 1)
}

func TestChiSquare(t *testing.T) {
	s, p := ChiSquare([]float64{30, 50, 20}, []float64{25, 55, 20})
	near(t, "chi2 df=2", s, 1.4545454545454546)
	near(t, "p df=2", p, 0.48322508118982543)
	s, p = ChiSquare([]float64{60, 40}, []float64{50, 50})
	near(t, "chi2 df=1", s, 4)
	near(t, "p df=1", p, 0.045500263896358396)
	s, p = ChiSquare([]float64{10, 20, 30, 25, 15}, []float64{20, 20, 20, 20, 20})
	near(t, "chi2 df=4", s, 12.5)
	near(t, "p df=4", p, 0.013995792487650892)
}

func TestZTest(t *testing.T) {
	z, p := ZTestProportions(45, 100, 60, 110)
	near(t, "z", z, -1.3816985594155142)
	near(t, "p", p, 0.16706427691489428)
	_, p = ZTestProportions(5, 10, 5, 10)
	near(t, "equal proportions", p, 1)
}

func TestWasserstein(t *testing.T) {
	near(t, "equal sizes", Wasserstein([]float64{1, 2, 4, 7}, []float64{2, 3, 3.5, 9}), 1.125)
	near(t, "unequal sizes", Wasserstein(a, b), 1.9283333333333332)
	near(t, "std", StdDev(a), 1.6236070953281772)
}

func TestJensenShannon(t *testing.T) {
	near(t, "JS", JensenShannon([]float64{10, 20, 30, 0}, []float64{15, 15, 20, 10}), 0.27080132595968315)
	near(t, "JS of equal", JensenShannon([]float64{1, 2}, []float64{2, 4}), 0)
}

func TestPSI(t *testing.T) {
	if e := SturgesEdges(append(append([]float64{}, a...), b...)); len(e) != 7 {
		t.Fatalf("%d edges, want 7 (6 Sturges bins for 22 values)", len(e))
	}
	near(t, "PSI", PSI(a, b), 3.609758045459281)
	near(t, "PSI of equal", PSI(a, a), 0)
}

func TestMedian(t *testing.T) {
	v := []float64{3, 1, 2, 10}
	if Median(v) != 2.5 || Median(v[:3]) != 2 || Median(nil) != 0 || v[0] != 3 {
		t.Errorf("median: %v %v %v, input %v", Median(v), Median(v[:3]), Median(nil), v)
	}
}
