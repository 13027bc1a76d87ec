package classifier

import (
	"context"
	"github.com/modelgate/modelgate/datacheck/stats"
	"math"
	"math/rand/v2"
	"testing"
)

// linear is a logistic model in the clear, so that the attacks' answers
// can be checked against the truth.
type linear struct {
	w          []float64
	b          float64
	labelsOnly bool
	decimals   int // > 0: scores rounded
}

func (m linear) Query(_ context.Context, xs [][]float64) ([]Output, error) {
	out := make([]Output, len(xs))
	for i, x := range xs {
		z := m.b
		for j := range x {
			z += m.w[j] * x[j]
		}
		p := 1 / (1 + math.Exp(-z))
		if p >= 0.5 {
			out[i].Label = 1
		}
		if !m.labelsOnly {
			if m.decimals > 0 {
				s := math.Pow10(m.decimals)
				p = math.Round(p*s) / s
			}
			out[i].Scores = []float64{1 - p, p}
		}
	}
	return out, nil
}

// boundaryDistance is a sample's true L2 distance to the boundary, in the
// scaled units the attacks report.
func (m linear) boundaryDistance(x []float64, b Bounds) float64 {
	z, n := m.b, 0.0
	for j := range x {
		z += m.w[j] * x[j]
		ws := m.w[j] * (b.Hi[j] - b.Lo[j]) // the weight on the scaled feature
		n += ws * ws
	}
	return math.Abs(z) / math.Sqrt(n)
}

var model = linear{w: []float64{1.8, -0.6, 1.2, 2.0}, b: -3.5}

func points(n int, seed uint64) [][]float64 {
	rng := rand.New(rand.NewPCG(seed, 1))
	xs := make([][]float64, n)
	for i := range xs {
		xs[i] = []float64{2 * rng.Float64(), 2 * rng.Float64(), 2 * rng.Float64(), 2 * rng.Float64()}
	}
	return xs
}

var box = Bounds{Lo: []float64{0, 0, 0, 0}, Hi: []float64{2, 2, 2, 2}}

// TestHopSkipJumpFindsTheBoundary: with labels only, the attack comes to
// within a few percent of each sample's true distance to the decision
// boundary, inside its budget.
func TestHopSkipJumpFindsTheBoundary(t *testing.T) {
	samples := points(12, 3)
	counted := &Budget{Oracle: model}
	res, err := HopSkipJump(context.Background(), counted, samples, box, EvasionOptions{Budget: 6000, Epsilon: 1, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	if res.Queries > 6000 || counted.Used != res.Queries {
		t.Errorf("%d queries counted, %d reported, budget 6000", counted.Used, res.Queries)
	}
	var truth []float64
	for _, x := range samples {
		truth = append(truth, model.boundaryDistance(x, box))
	}
	want := stats.Median(truth)
	if res.MedianL2 > want*1.1+0.005 || res.MedianL2 < want*0.9-0.005 {
		t.Errorf("median L2 %.3f, the true median distance is %.3f", res.MedianL2, want)
	}
	if res.SuccessRate != 1 || res.MedianQueriesToSuccess == 0 {
		t.Errorf("%+v", res)
	}
}

// TestSimBA: scores lead the attack across the boundary in few queries;
// rounded scores make it cost more; labels alone leave it nothing.
func TestSimBA(t *testing.T) {
	samples := points(20, 5)
	run := func(o Oracle) *EvasionResult {
		res, err := SimBA(context.Background(), o, samples, box, EvasionOptions{Budget: 4000, Epsilon: 0.3, Seed: 2})
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	exact := run(model)
	if exact.SuccessRate < 0.5 || !exact.Applicable {
		t.Errorf("exact scores: %+v", exact)
	}
	coarse := run(linear{w: model.w, b: model.b, decimals: 1})
	if coarse.MedianL2 <= exact.MedianL2 && coarse.SuccessRate >= exact.SuccessRate {
		t.Errorf("rounded scores cost nothing: exact %+v, coarse %+v", exact, coarse)
	}
	labels := run(linear{w: model.w, b: model.b, labelsOnly: true})
	if labels.Applicable || labels.Reason == "" {
		t.Errorf("labels only: %+v", labels)
	}
}

// memoriser is a 1-nearest-neighbour model over its training records,
// with random labels: it knows its members and guesses on the rest.
type memoriser struct{ train []Labeled }

func (m memoriser) Query(_ context.Context, xs [][]float64) ([]Output, error) {
	out := make([]Output, len(xs))
	for i, x := range xs {
		best := math.Inf(1)
		for _, r := range m.train {
			if d := dist2(x, r.X); d < best {
				best, out[i].Label = d, r.Y
			}
		}
	}
	return out, nil
}

func TestMembership(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 9))
	label := func(xs [][]float64) []Labeled {
		var ls []Labeled
		for _, x := range xs {
			ls = append(ls, Labeled{X: x, Y: rng.IntN(2)})
		}
		return ls
	}
	members, others := label(points(60, 11)), label(points(60, 12))
	res, err := Membership(context.Background(), memoriser{train: members}, members, others, box, MembershipOptions{Noise: 0.02, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	if res.Advantage < 0.3 || res.AUC < 0.7 || res.Queries != 120*17 {
		t.Errorf("a memorising model: %+v", res)
	}
	// A model that learnt a rule, not its records, gives little away.
	truth := func(xs [][]float64) []Labeled {
		ans, _ := model.Query(context.Background(), xs)
		var ls []Labeled
		for i, x := range xs {
			ls = append(ls, Labeled{X: x, Y: ans[i].Label})
		}
		return ls
	}
	res, err = Membership(context.Background(), model, truth(points(60, 13)), truth(points(60, 14)), box, MembershipOptions{Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(res.Advantage) > 0.25 {
		t.Errorf("a model that generalises: %+v", res)
	}
	if _, err := Membership(context.Background(), model, nil, nil, box, MembershipOptions{}); err == nil {
		t.Error("no calibration records accepted")
	}
}

// TestExtraction: a few hundred queries copy a simple model whether it
// answers with scores or labels; the copy learnt from scores agrees more
// along the way.
func TestExtraction(t *testing.T) {
	withScores, err := Extract(context.Background(), model, box, ExtractionOptions{Budget: 200, Seed: 4})
	if err != nil {
		t.Fatal(err)
	}
	labels, err := Extract(context.Background(), linear{w: model.w, b: model.b, labelsOnly: true}, box, ExtractionOptions{Budget: 200, Seed: 4})
	if err != nil {
		t.Fatal(err)
	}
	if !withScores.UsedScores || labels.UsedScores || withScores.Agreement < 0.97 || withScores.Queries != 200 || withScores.EvalQueries != 500 {
		t.Errorf("with scores: %+v", withScores)
	}
	if labels.Agreement < 0.95 || labels.QueriesTo95 < withScores.QueriesTo95 {
		t.Errorf("labels only: %+v", labels)
	}
	area := func(r *ExtractionResult) (a float64) {
		for _, p := range r.Curve {
			a += p.Agreement
		}
		return a
	}
	if area(labels) >= area(withScores) {
		t.Errorf("labels agree as much as scores along the way: %v, %v", labels.Curve, withScores.Curve)
	}
	if got := checkpoints(1000); len(got) != 7 || got[6] != 1000 || got[0] != 10 {
		t.Errorf("checkpoints %v", got)
	}
}

func TestBudget(t *testing.T) {
	b := &Budget{Oracle: model, Limit: 3}
	if _, err := b.Query(context.Background(), points(2, 1)); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Query(context.Background(), points(2, 1)); err != ErrBudget || b.Used != 2 {
		t.Errorf("over budget: %v, used %d", err, b.Used)
	}
}
