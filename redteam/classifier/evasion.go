package classifier

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"github.com/modelgate/modelgate/datacheck/stats"
	"math"
	"math/rand/v2"
	"slices"
	"time"
)

// EvasionOptions set an evasion attack's budget and what counts as
// success.
type EvasionOptions struct {
	// Budget is the queries allowed for all samples together; each sample
	// gets an equal share.
	Budget int
	// Epsilon is the largest L2 perturbation (in scaled units) that
	// counts as a successful evasion (default 0.2).
	Epsilon float64
	// Seed makes the random directions repeatable.
	Seed uint64
}

func (o EvasionOptions) epsilon() float64 {
	if o.Epsilon > 0 {
		return o.Epsilon
	}
	return 0.2
}

// EvasionResult is what an evasion attack achieved over its samples.
type EvasionResult struct {
	Attack     string `json:"attack"`
	Applicable bool   `json:"applicable"`
	// Reason says why the attack could not run, when it could not.
	Reason      string  `json:"reason,omitempty"`
	Samples     int     `json:"samples"`
	Successes   int     `json:"successes"`
	SuccessRate float64 `json:"success_rate"`
	Epsilon     float64 `json:"epsilon"`
	// MedianL2 and MedianLinf are the smallest adversarial perturbation
	// found per sample, medians over the samples for which one was found.
	MedianL2   float64 `json:"median_l2"`
	MedianLinf float64 `json:"median_linf"`
	// MedianQueriesToSuccess is the median, over successful samples, of
	// the queries spent when the perturbation first fell within Epsilon.
	MedianQueriesToSuccess int `json:"median_queries_to_success"`
	Queries                int `json:"queries"`
	Budget                 int `json:"budget"`
	// Stopped says why the attack ended before its budget, when a rate
	// limit ended it.
	Stopped string        `json:"stopped,omitempty"`
	Elapsed time.Duration `json:"elapsed_ns"`
}

// sampleOutcome is one sample's result.
type sampleOutcome struct {
	found          bool // an adversarial input was found at all
	l2, linf       float64
	queriesToFirst int // 0: never within epsilon
}

func summarise(r *EvasionResult, outs []sampleOutcome) {
	var l2s, linfs, qs []float64
	for _, o := range outs {
		if o.found {
			l2s, linfs = append(l2s, o.l2), append(linfs, o.linf)
		}
		if o.queriesToFirst > 0 {
			r.Successes++
			qs = append(qs, float64(o.queriesToFirst))
		}
	}
	r.Samples = len(outs)
	if r.Samples > 0 {
		r.SuccessRate = round3(float64(r.Successes) / float64(r.Samples))
	}
	r.MedianL2, r.MedianLinf = round3(stats.Median(l2s)), round3(stats.Median(linfs))
	r.MedianQueriesToSuccess = int(stats.Median(qs))
}

func round3(f float64) float64 { return math.Round(f*1000) / 1000 }

// stopped reports whether err ends one sample's attack (its share of the
// budget is spent) but not the run.
func stopped(err error) bool { return errors.Is(err, ErrBudget) }

// throttled says how a rate limit ended a run, or "" if err is not one.
func throttled(err error, queries int) string {
	if errors.Is(err, ErrThrottled) {
		return fmt.Sprintf("rate limited after %d queries", queries)
	}
	return ""
}

// HopSkipJump runs the HopSkipJump attack (Chen, Jordan and Wainwright,
// 2020), untargeted, L2, on each sample, seeing only labels: it starts
// from an input of another class, walks to the decision boundary by
// binary search, estimates the boundary's normal from the labels of
// random points around it, steps along it and searches back to the
// boundary, each iteration closer to the original input. The samples of
// other classes are the starting points.
func HopSkipJump(ctx context.Context, o Oracle, samples [][]float64, bounds Bounds, opt EvasionOptions) (*EvasionResult, error) {
	began := time.Now()
	res := &EvasionResult{Attack: "hopskipjump", Applicable: true, Epsilon: opt.epsilon(), Budget: opt.Budget}
	if opt.Budget <= 0 {
		return nil, errors.New("hopskipjump: a query budget is required")
	}
	total := &Budget{Oracle: o, Limit: opt.Budget}
	labels, err := total.Query(ctx, samples)
	if err != nil {
		return nil, err
	}
	rng := rand.New(rand.NewPCG(opt.Seed, 0x4853))
	err = eachSample(res, total, bounds, samples, began, func(i int, sc scaled) (sampleOutcome, error) {
		var starts [][]float64
		for j, s := range samples {
			if labels[j].Label != labels[i].Label {
				starts = append(starts, sc.scale(s))
			}
		}
		return hsj(ctx, sc, sc.scale(samples[i]), labels[i].Label, starts, opt.epsilon(), rng)
	})
	return res, err
}

// eachSample attacks each sample with an equal share of what is left of
// the budget, until a rate limit stops the run, and summarises.
func eachSample(res *EvasionResult, total *Budget, bounds Bounds, samples [][]float64, began time.Time, attack func(int, scaled) (sampleOutcome, error)) error {
	share := total.Left() / max(1, len(samples))
	var outs []sampleOutcome
	for i := range samples {
		per := &Budget{Oracle: total.Oracle, Limit: share}
		out, err := attack(i, scaled{b: per, bounds: bounds})
		total.Used += per.Used
		outs = append(outs, out)
		if res.Stopped = throttled(err, total.Used); res.Stopped != "" {
			break
		}
		if err != nil && !stopped(err) {
			return err
		}
	}
	summarise(res, outs)
	res.Queries, res.Elapsed = total.Used, time.Since(began)
	return nil
}

func hsj(ctx context.Context, sc scaled, x0 []float64, y0 int, starts [][]float64, eps float64, rng *rand.Rand) (sampleOutcome, error) {
	var out sampleOutcome
	d := float64(len(x0))
	adversarial := func(us ...[]float64) ([]bool, error) {
		ans, err := sc.query(ctx, us...)
		if err != nil {
			return nil, err
		}
		is := make([]bool, len(ans))
		for i, a := range ans {
			is[i] = a.Label != y0
		}
		return is, nil
	}
	record := func(adv []float64) {
		l2 := dist2(adv, x0)
		if !out.found || l2 < out.l2 {
			out.found, out.l2, out.linf = true, l2, distInf(adv, x0)
		}
		if l2 <= eps && out.queriesToFirst == 0 {
			out.queriesToFirst = sc.b.Used
		}
	}

	// A starting point of another class: the nearest given sample, else
	// uniform noise.
	slices.SortFunc(starts, func(a, b []float64) int { return cmp.Compare(dist2(a, x0), dist2(b, x0)) })
	var adv []float64
	for _, s := range starts {
		if ok, err := adversarial(s); err != nil {
			return out, err
		} else if ok[0] {
			adv = s
			break
		}
		if len(starts) > 5 {
			break // the nearest did not hold; noise is cheaper than trying all
		}
	}
	for tries := 0; adv == nil && tries < 100; tries++ {
		u := make([]float64, len(x0))
		for j := range u {
			u[j] = rng.Float64()
		}
		if ok, err := adversarial(u); err != nil {
			return out, err
		} else if ok[0] {
			adv = u
		}
	}
	if adv == nil {
		return out, nil // no input of another class found: nothing to start from
	}

	// theta is how close to the boundary a binary search gets, as a
	// distance in scaled units. The paper's d^(-3/2) is for images with
	// thousands of dimensions; on a handful of features it would stop
	// a quarter of the way from the boundary.
	theta := 1e-3 / math.Sqrt(d)
	// boundary returns the adversarial point nearest x0 on the segment
	// x0–a, to within theta.
	boundary := func(a []float64) ([]float64, error) {
		lo, hi := 0.0, 1.0
		for hi-lo > theta/max(dist2(a, x0), 1e-12) {
			mid := (lo + hi) / 2
			ok, err := adversarial(blend(x0, a, mid))
			if err != nil {
				return blend(x0, a, hi), err
			}
			if ok[0] {
				hi = mid
			} else {
				lo = mid
			}
		}
		return blend(x0, a, hi), nil
	}
	xb, err := boundary(adv)
	record(xb)
	if err != nil {
		return out, err
	}
	prev, stalls := math.Inf(1), 0
	for t := 1; ; t++ {
		dist := dist2(xb, x0)
		if dist < 1e-9 {
			return out, nil
		}
		// Converged: three iterations that gained less than 0.1% each.
		if prev-dist < prev*1e-3 {
			if stalls++; stalls == 3 {
				return out, nil
			}
		} else {
			stalls = 0
		}
		prev = dist
		// Probe further out than the search's own error, or every probe
		// lands on the same side.
		delta := max(math.Sqrt(d)*theta*dist*10, 4*theta)
		n := min(int(25*math.Sqrt(float64(t))), 200)
		// Estimate the boundary's normal at xb from the labels of points
		// around it.
		us := make([][]float64, n)
		pts := make([][]float64, n)
		for b := range us {
			u := make([]float64, len(x0))
			for j := range u {
				u[j] = rng.NormFloat64()
			}
			nu := norm2(u)
			p := make([]float64, len(x0))
			for j := range u {
				p[j] = xb[j] + delta*u[j]/nu
			}
			clip01(p)
			for j := range u {
				u[j] = (p[j] - xb[j]) / delta
			}
			us[b], pts[b] = u, p
		}
		ok, err := adversarial(pts...)
		if err != nil {
			return out, err
		}
		var mean float64
		phi := make([]float64, n)
		for b := range ok {
			phi[b] = -1
			if ok[b] {
				phi[b] = 1
			}
			mean += phi[b]
		}
		mean /= float64(n)
		grad := make([]float64, len(x0))
		for b, u := range us {
			w := phi[b]
			if math.Abs(mean) != 1 {
				w -= mean
			}
			for j := range grad {
				grad[j] += w * u[j]
			}
		}
		gn := norm2(grad)
		if gn == 0 {
			return out, nil
		}
		for j := range grad {
			grad[j] /= gn
		}
		// Step along it, halving until the step stays adversarial.
		step := dist / math.Sqrt(float64(t))
		var next []float64
		for range 20 {
			cand := make([]float64, len(x0))
			for j := range cand {
				cand[j] = xb[j] + step*grad[j]
			}
			clip01(cand)
			ok, err := adversarial(cand)
			if err != nil {
				return out, err
			}
			if ok[0] {
				next = cand
				break
			}
			step /= 2
		}
		if next == nil {
			return out, nil
		}
		xb, err = boundary(next)
		record(xb)
		if err != nil {
			return out, err
		}
	}
}

// SimBA runs the simple black-box attack with scores (Guo et al., 2019) on
// each sample: along the feature axes in random order, it keeps a step
// that lowers the score of the original class, until the label changes.
// When a full pass lowers nothing (coarse scores hide small changes) it
// doubles the step, as an attacker would. An endpoint that returns labels
// only leaves it nothing to follow: the result says so.
func SimBA(ctx context.Context, o Oracle, samples [][]float64, bounds Bounds, opt EvasionOptions) (*EvasionResult, error) {
	began := time.Now()
	res := &EvasionResult{Attack: "simba", Applicable: true, Epsilon: opt.epsilon(), Budget: opt.Budget}
	if opt.Budget <= 0 {
		return nil, errors.New("simba: a query budget is required")
	}
	total := &Budget{Oracle: o, Limit: opt.Budget}
	first, err := total.Query(ctx, samples)
	if err != nil {
		return nil, err
	}
	if len(first) > 0 && first[0].Scores == nil {
		res.Applicable, res.Reason = false, "the endpoint returns labels only: there are no scores to follow"
		res.Queries, res.Elapsed = total.Used, time.Since(began)
		return res, nil
	}
	rng := rand.New(rand.NewPCG(opt.Seed, 0x5342))
	err = eachSample(res, total, bounds, samples, began, func(i int, sc scaled) (sampleOutcome, error) {
		return simba(ctx, sc, sc.scale(samples[i]), first[i], opt.epsilon(), rng)
	})
	return res, err
}

func simba(ctx context.Context, sc scaled, x0 []float64, start Output, eps float64, rng *rand.Rand) (sampleOutcome, error) {
	var out sampleOutcome
	y0 := start.Label
	if y0 >= len(start.Scores) {
		return out, nil
	}
	x := slices.Clone(x0)
	p := start.Scores[y0]
	step := 0.05
	for step <= 1 {
		improved := false
		for _, j := range rng.Perm(len(x)) {
			for _, sign := range [2]float64{-1, 1} {
				cand := slices.Clone(x)
				cand[j] += sign * step
				clip01(cand)
				if cand[j] == x[j] {
					continue
				}
				ans, err := sc.query(ctx, cand)
				if err != nil {
					return out, err
				}
				a := ans[0]
				if a.Label != y0 {
					out.found, out.l2, out.linf = true, dist2(cand, x0), distInf(cand, x0)
					if out.l2 <= eps {
						out.queriesToFirst = sc.b.Used
					}
					return out, nil
				}
				if y0 < len(a.Scores) && a.Scores[y0] < p {
					x, p, improved = cand, a.Scores[y0], true
					break
				}
			}
		}
		if !improved {
			step *= 2
		}
	}
	return out, nil
}
