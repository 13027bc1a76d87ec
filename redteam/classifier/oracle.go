// Package classifier attacks a classifier the way an adversary with only
// query access would, each attack with an explicit query budget: evasion
// with labels only (HopSkipJump) and with scores (SimBA), label-only
// membership inference, and model extraction. It measures what gateway
// controls (rate limits, coarse or label-only outputs) cost an attacker.
//
// Inputs are worked on scaled to [0, 1] by each feature's range, so that
// perturbations are comparable across features; distances are reported in
// those units.
package classifier

import (
	"context"
	"errors"
	"fmt"
	"math"
)

// Output is a classifier's answer about one input.
type Output struct {
	Label int
	// Scores are the class scores, nil when the endpoint returns labels
	// only.
	Scores []float64
}

// Oracle answers queries about inputs, in order.
type Oracle interface {
	Query(ctx context.Context, xs [][]float64) ([]Output, error)
}

// ErrBudget is returned when a query would go over the budget.
var ErrBudget = errors.New("query budget spent")

// Budget counts an oracle's queries (one per input) and refuses those
// over its limit.
type Budget struct {
	Oracle Oracle
	Limit  int // 0: no limit
	Used   int
}

// Left returns how many queries remain (a large number when unlimited).
func (b *Budget) Left() int {
	if b.Limit <= 0 {
		return math.MaxInt32
	}
	return b.Limit - b.Used
}

// Query asks the oracle about xs, or returns ErrBudget if they do not fit
// in what is left.
func (b *Budget) Query(ctx context.Context, xs [][]float64) ([]Output, error) {
	if len(xs) > b.Left() {
		return nil, ErrBudget
	}
	b.Used += len(xs)
	out, err := b.Oracle.Query(ctx, xs)
	if err == nil && len(out) != len(xs) {
		err = fmt.Errorf("%d answers for %d inputs", len(out), len(xs))
	}
	return out, err
}

// Bounds are each feature's range.
type Bounds struct{ Lo, Hi []float64 }

// BoundsOf returns the range of each feature over samples.
func BoundsOf(samples [][]float64) (Bounds, error) {
	if len(samples) == 0 {
		return Bounds{}, errors.New("no samples to take feature ranges from")
	}
	d := len(samples[0])
	b := Bounds{Lo: make([]float64, d), Hi: make([]float64, d)}
	copy(b.Lo, samples[0])
	copy(b.Hi, samples[0])
	for i, x := range samples {
		if len(x) != d {
			return Bounds{}, fmt.Errorf("sample %d has %d features, sample 0 has %d", i, len(x), d)
		}
		for j, v := range x {
			b.Lo[j], b.Hi[j] = min(b.Lo[j], v), max(b.Hi[j], v)
		}
	}
	for j := range b.Lo {
		if b.Hi[j] == b.Lo[j] {
			b.Hi[j] = b.Lo[j] + 1 // a constant feature: any unit will do
		}
	}
	return b, nil
}

// scaled is an oracle over inputs in [0, 1]^d.
type scaled struct {
	b      *Budget
	bounds Bounds
}

func (s scaled) unscale(u []float64) []float64 {
	x := make([]float64, len(u))
	for j, v := range u {
		x[j] = s.bounds.Lo[j] + v*(s.bounds.Hi[j]-s.bounds.Lo[j])
	}
	return x
}

func (s scaled) scale(x []float64) []float64 {
	u := make([]float64, len(x))
	for j, v := range x {
		u[j] = (v - s.bounds.Lo[j]) / (s.bounds.Hi[j] - s.bounds.Lo[j])
	}
	return u
}

func (s scaled) query(ctx context.Context, us ...[]float64) ([]Output, error) {
	xs := make([][]float64, len(us))
	for i, u := range us {
		xs[i] = s.unscale(u)
	}
	return s.b.Query(ctx, xs)
}

func clip01(u []float64) {
	for j, v := range u {
		u[j] = min(1, max(0, v))
	}
}

func norm2(v []float64) float64 {
	var s float64
	for _, x := range v {
		s += x * x
	}
	return math.Sqrt(s)
}

func dist2(a, b []float64) float64 {
	var s float64
	for i := range a {
		d := a[i] - b[i]
		s += d * d
	}
	return math.Sqrt(s)
}

func distInf(a, b []float64) float64 {
	var m float64
	for i := range a {
		m = max(m, math.Abs(a[i]-b[i]))
	}
	return m
}

// blend returns (1-t)·a + t·b.
func blend(a, b []float64, t float64) []float64 {
	out := make([]float64, len(a))
	for i := range a {
		out[i] = (1-t)*a[i] + t*b[i]
	}
	return out
}

func argmax(v []float64) int {
	best := 0
	for i, x := range v {
		if x > v[best] {
			best = i
		}
	}
	return best
}
