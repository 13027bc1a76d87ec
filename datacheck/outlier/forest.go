// Package outlier scores how unusual rows are: an Isolation Forest
// (Liu, Ting and Zhou, 2008) over the numeric columns, and the robust
// z-score (median and median absolute deviation) of single values.
package outlier

import (
	"github.com/modelgate/modelgate/datacheck/stats"
	"math"
	"math/rand/v2"
)

// Forest is an Isolation Forest: trees that split on a random column at a
// random value until each point is alone; points isolated in few splits
// are anomalies.
type Forest struct {
	trees []*node
	c     float64 // average path length of an unsuccessful search, for the sample size
}

type node struct {
	col         int
	split       float64
	left, right *node
	size        int // leaf: points that reached it
}

// Fit grows trees on random subsamples of rows (every row the same width,
// no NaNs). The scikit-learn defaults are 100 trees of 256 samples.
func Fit(rows [][]float64, trees, sampleSize int, seed uint64) *Forest {
	r := rand.New(rand.NewPCG(seed, seed^0x1f0e5))
	n := min(sampleSize, len(rows))
	f := &Forest{c: avgPath(n)}
	limit := int(math.Ceil(math.Log2(float64(max(n, 2)))))
	idx := make([]int, len(rows))
	for i := range idx {
		idx[i] = i
	}
	for range trees {
		r.Shuffle(len(idx), func(i, j int) { idx[i], idx[j] = idx[j], idx[i] })
		sample := make([][]float64, n)
		for i := range n {
			sample[i] = rows[idx[i]]
		}
		f.trees = append(f.trees, grow(sample, 0, limit, r))
	}
	return f
}

func grow(points [][]float64, depth, limit int, r *rand.Rand) *node {
	if depth >= limit || len(points) <= 1 {
		return &node{size: len(points)}
	}
	width := len(points[0])
	// Pick a column with spread; give up (a leaf) if none has any.
	for _, col := range r.Perm(width) {
		lo, hi := points[0][col], points[0][col]
		for _, p := range points {
			lo, hi = min(lo, p[col]), max(hi, p[col])
		}
		if lo == hi {
			continue
		}
		split := lo + r.Float64()*(hi-lo)
		var left, right [][]float64
		for _, p := range points {
			if p[col] < split {
				left = append(left, p)
			} else {
				right = append(right, p)
			}
		}
		return &node{col: col, split: split, left: grow(left, depth+1, limit, r), right: grow(right, depth+1, limit, r), size: -1}
	}
	return &node{size: len(points)}
}

// Score returns the anomaly score of a point, in (0, 1]: near 1 for
// anomalies, well under 0.5 for ordinary points.
func (f *Forest) Score(x []float64) float64 {
	if len(f.trees) == 0 || f.c == 0 {
		return 0
	}
	var total float64
	for _, t := range f.trees {
		total += pathLength(t, x, 0)
	}
	return math.Pow(2, -total/float64(len(f.trees))/f.c)
}

func pathLength(n *node, x []float64, depth int) float64 {
	for n.size < 0 {
		if x[n.col] < n.split {
			n = n.left
		} else {
			n = n.right
		}
		depth++
	}
	return float64(depth) + avgPath(n.size)
}

// avgPath is c(n), the average path length of an unsuccessful search in a
// binary search tree of n points: 2H(n−1) − 2(n−1)/n.
func avgPath(n int) float64 {
	switch {
	case n <= 1:
		return 0
	case n == 2:
		return 1
	}
	h := math.Log(float64(n-1)) + 0.5772156649015329 // harmonic number H(n−1)
	return 2*h - 2*float64(n-1)/float64(n)
}

// RobustZ returns the robust z-scores of values: 0.6745·(x − median)/MAD,
// with MAD the median absolute deviation (Iglewicz and Hoaglin). A score
// beyond 3.5 is an outlier. When more than half the values equal the
// median the MAD is zero, and the mean absolute deviation stands in for it
// ((x − median)/(1.253314·MeanAD), the usual fallback); when every value
// equals the median, every score is zero. Scores are always finite.
func RobustZ(values []float64) []float64 {
	med := stats.Median(values)
	dev := make([]float64, len(values))
	sum := 0.0
	for i, v := range values {
		dev[i] = math.Abs(v - med)
		sum += dev[i]
	}
	scale := stats.Median(dev) / 0.6745
	if scale == 0 && len(values) > 0 {
		scale = 1.253314 * sum / float64(len(values))
	}
	out := make([]float64, len(values))
	for i, v := range values {
		if scale > 0 {
			out[i] = (v - med) / scale
		}
	}
	return out
}
