// Package stats holds the drift tests and distances the data checks use,
// written to match the definitions Evidently applies (through SciPy and
// NumPy), so that a drift verdict here is the one a team would get there:
// the two-sample Kolmogorov–Smirnov test, Pearson's chi-square test, the
// two-proportion z-test, the Wasserstein distance, the Jensen–Shannon
// distance and the population stability index.
package stats

import (
	"math"
	"slices"
)

// KS returns the two-sample Kolmogorov–Smirnov statistic of two samples
// and its two-sided p-value by the asymptotic distribution, as SciPy's
// ks_2samp(method="asymp"): p = Q(√(nm/(n+m))·D), with Q the Kolmogorov
// survival function.
func KS(a, b []float64) (d, p float64) {
	if len(a) == 0 || len(b) == 0 {
		return 0, 1
	}
	x, y := slices.Clone(a), slices.Clone(b)
	slices.Sort(x)
	slices.Sort(y)
	return KSSorted(x, y)
}

// KSSorted is KS for samples already sorted: a watch that tests a
// window against the same baseline again and again sorts the baseline
// once.
func KSSorted(x, y []float64) (d, p float64) {
	if len(x) == 0 || len(y) == 0 {
		return 0, 1
	}
	n, m := float64(len(x)), float64(len(y))
	i, j := 0, 0
	for i < len(x) && j < len(y) {
		v := min(x[i], y[j])
		for i < len(x) && x[i] == v {
			i++
		}
		for j < len(y) && y[j] == v {
			j++
		}
		d = max(d, math.Abs(float64(i)/n-float64(j)/m))
	}
	en := math.Sqrt(n * m / (n + m))
	return d, kolmogorovQ(en * d)
}

// kolmogorovQ is the survival function of the Kolmogorov distribution,
// 2 Σ (−1)^(k−1) exp(−2k²x²), summed until the terms vanish.
func kolmogorovQ(x float64) float64 {
	if x <= 0 {
		return 1
	}
	if x < 0.2 {
		// The alternating series converges slowly here; Q is 1 to within
		// 1e-12 below 0.2.
		return 1
	}
	sum, sign := 0.0, 1.0
	for k := 1; k < 200; k++ {
		term := sign * math.Exp(-2*float64(k*k)*x*x)
		sum += term
		if math.Abs(term) < 1e-16 {
			break
		}
		sign = -sign
	}
	return min(1, max(0, 2*sum))
}

// ChiSquare returns Pearson's chi-square statistic of observed counts
// against expected counts and its p-value with k−1 degrees of freedom
// (SciPy's chisquare).
func ChiSquare(observed, expected []float64) (stat, p float64) {
	for i := range observed {
		if expected[i] > 0 {
			d := observed[i] - expected[i]
			stat += d * d / expected[i]
		}
	}
	df := float64(len(observed) - 1)
	if df <= 0 {
		return stat, 1
	}
	return stat, gammaQ(df/2, stat/2)
}

// ZTestProportions returns the two-sided p-value of the pooled
// two-proportion z-test: successes x1 of n1 against x2 of n2.
func ZTestProportions(x1, n1, x2, n2 float64) (z, p float64) {
	if n1 == 0 || n2 == 0 {
		return 0, 1
	}
	p1, p2 := x1/n1, x2/n2
	pool := (x1 + x2) / (n1 + n2)
	se := math.Sqrt(pool * (1 - pool) * (1/n1 + 1/n2))
	if se == 0 {
		if p1 == p2 {
			return 0, 1
		}
		return math.Inf(1), 0
	}
	z = (p1 - p2) / se
	return z, math.Erfc(math.Abs(z) / math.Sqrt2)
}

// Wasserstein returns the first Wasserstein (earth mover's) distance
// between two samples: the area between their empirical distribution
// functions (SciPy's wasserstein_distance).
func Wasserstein(a, b []float64) float64 {
	if len(a) == 0 || len(b) == 0 {
		return 0
	}
	x, y := slices.Clone(a), slices.Clone(b)
	slices.Sort(x)
	slices.Sort(y)
	all := append(slices.Clone(x), y...)
	slices.Sort(all)
	n, m := float64(len(x)), float64(len(y))
	var dist float64
	i, j := 0, 0
	for k := 0; k+1 < len(all); k++ {
		for i < len(x) && x[i] <= all[k] {
			i++
		}
		for j < len(y) && y[j] <= all[k] {
			j++
		}
		dist += math.Abs(float64(i)/n-float64(j)/m) * (all[k+1] - all[k])
	}
	return dist
}

// StdDev returns the population standard deviation (NumPy's default).
func StdDev(a []float64) float64 {
	if len(a) == 0 {
		return 0
	}
	var mean float64
	for _, v := range a {
		mean += v
	}
	mean /= float64(len(a))
	var ss float64
	for _, v := range a {
		ss += (v - mean) * (v - mean)
	}
	return math.Sqrt(ss / float64(len(a)))
}

// JensenShannon returns the Jensen–Shannon distance (natural logarithm)
// between two frequency vectors over the same categories, each normalised
// to sum to one (SciPy's distance.jensenshannon).
func JensenShannon(p, q []float64) float64 {
	ps, qs := sum(p), sum(q)
	if ps == 0 || qs == 0 {
		return 0
	}
	var js float64
	for i := range p {
		a, b := p[i]/ps, q[i]/qs
		m := (a + b) / 2
		if a > 0 {
			js += a * math.Log(a/m) / 2
		}
		if b > 0 {
			js += b * math.Log(b/m) / 2
		}
	}
	return math.Sqrt(max(0, js))
}

// PSI returns the population stability index of two samples: both are
// binned on Sturges' edges over the combined data, empty bins count as
// 0.0001, and PSI = Σ (ref − cur)·ln(ref/cur) over the bins' shares.
func PSI(ref, cur []float64) float64 {
	if len(ref) == 0 || len(cur) == 0 {
		return 0
	}
	edges := SturgesEdges(append(slices.Clone(ref), cur...))
	return PSICounts(Histogram(ref, edges), Histogram(cur, edges))
}

// PSICounts returns the population stability index of two count vectors
// over the same bins or categories, with empty shares counted as 0.0001.
func PSICounts(ref, cur []float64) float64 {
	nr, nc := sum(ref), sum(cur)
	if nr == 0 || nc == 0 {
		return 0
	}
	var psi float64
	for i := range ref {
		a, b := ref[i]/nr, cur[i]/nc
		if a == 0 {
			a = 0.0001
		}
		if b == 0 {
			b = 0.0001
		}
		psi += (a - b) * math.Log(a/b)
	}
	return psi
}

// SturgesEdges returns NumPy's histogram_bin_edges(data, bins="sturges"):
// ⌈log2 n⌉ + 1 equal bins over the data's range, with the bin width
// NumPy computes.
func SturgesEdges(data []float64) []float64 {
	lo, hi := slices.Min(data), slices.Max(data)
	if lo == hi {
		lo, hi = lo-0.5, hi+0.5
	}
	width := (hi - lo) / (math.Log2(float64(len(data))) + 1)
	bins := int(math.Ceil((hi - lo) / width))
	if bins < 1 {
		bins = 1
	}
	edges := make([]float64, bins+1)
	for i := range edges {
		edges[i] = lo + (hi-lo)*float64(i)/float64(bins)
	}
	return edges
}

// Histogram counts values per bin; the last bin includes its right edge,
// as NumPy's does. Values outside the edges are not counted.
func Histogram(data, edges []float64) []float64 {
	counts := make([]float64, len(edges)-1)
	last := len(edges) - 1
	for _, v := range data {
		if v < edges[0] || v > edges[last] {
			continue
		}
		i, _ := slices.BinarySearch(edges, v)
		switch {
		case i == last:
			i = last - 1
		case edges[i] == v:
			// v sits on the left edge of bin i
		default:
			i--
		}
		counts[max(i, 0)]++
	}
	return counts
}

func sum(v []float64) float64 {
	var s float64
	for _, x := range v {
		s += x
	}
	return s
}

// gammaQ is the regularised upper incomplete gamma function Q(a, x), by
// its series below a+1 and its continued fraction above (Numerical
// Recipes' gser and gcf), accurate to about 1e-14.
func gammaQ(a, x float64) float64 {
	if x <= 0 {
		return 1
	}
	lg, _ := math.Lgamma(a)
	if x < a+1 {
		sum, term := 1/a, 1/a
		for n := 1; n < 1000; n++ {
			term *= x / (a + float64(n))
			sum += term
			if math.Abs(term) < math.Abs(sum)*1e-16 {
				break
			}
		}
		return 1 - sum*math.Exp(-x+a*math.Log(x)-lg)
	}
	const tiny = 1e-300
	b := x + 1 - a
	c, d := 1/tiny, 1/b
	h := d
	for i := 1; i < 1000; i++ {
		an := -float64(i) * (float64(i) - a)
		b += 2
		d = an*d + b
		if math.Abs(d) < tiny {
			d = tiny
		}
		c = b + an/c
		if math.Abs(c) < tiny {
			c = tiny
		}
		d = 1 / d
		del := d * c
		h *= del
		if math.Abs(del-1) < 1e-16 {
			break
		}
	}
	return math.Exp(-x+a*math.Log(x)-lg) * h
}

// Median returns the median of v (0 for none), leaving v as it is.
func Median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}
