package classifier

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"time"
)

// ExtractionOptions set the extraction attack's budget.
type ExtractionOptions struct {
	// Budget is the queries the attacker spends on training data for its
	// copy.
	Budget int
	// Eval is how many inputs the copy is compared with the target on
	// (default 500); those queries are the measurement's, not the
	// attacker's, and are reported apart.
	Eval int
	// Samples, when given, are inputs like the model's real traffic: half
	// the queries and half the evaluation inputs are drawn near them, the
	// rest uniformly over the feature ranges.
	Samples [][]float64
	Seed    uint64
	// Reference, when set, answers the evaluation inputs instead of the
	// target: the same model without the controls, so that a purple team
	// measures the copy without spending the attacker's rate limit on
	// the measurement.
	Reference Oracle
}

// AgreementPoint is the copy's agreement with the target after a number
// of queries.
type AgreementPoint struct {
	Queries   int     `json:"queries"`
	Agreement float64 `json:"agreement"`
}

// ExtractionResult says how close a copy trained on the target's answers
// came.
type ExtractionResult struct {
	Attack string `json:"attack"`
	// UsedScores is whether the copy learned from scores (true) or from
	// labels alone.
	UsedScores bool             `json:"used_scores"`
	Classes    int              `json:"classes"`
	Budget     int              `json:"budget"`
	Queries    int              `json:"queries"`
	Agreement  float64          `json:"agreement"`
	Curve      []AgreementPoint `json:"curve"`
	// QueriesTo95 is the fewest queries on the curve at which the copy
	// agreed on 95% of inputs; 0 when it never did.
	QueriesTo95 int `json:"queries_to_95"`
	EvalQueries int `json:"eval_queries"`
	// Stopped says why the attack ended before its budget, when a rate
	// limit ended it.
	Stopped string        `json:"stopped,omitempty"`
	Elapsed time.Duration `json:"elapsed_ns"`
}

// Extract trains a copy of the target (softmax regression over the
// features and their pairwise products) on its answers to inputs the
// attacker chooses, and measures how often the copy and the target agree
// at budgets along the way.
func Extract(ctx context.Context, o Oracle, bounds Bounds, opt ExtractionOptions) (*ExtractionResult, error) {
	began := time.Now()
	if opt.Budget < 2 {
		return nil, errors.New("extraction: a query budget of at least 2 is required")
	}
	if opt.Eval <= 0 {
		opt.Eval = 500
	}
	rng := rand.New(rand.NewPCG(opt.Seed, 0x4558))
	d := len(bounds.Lo)
	b := &Budget{Oracle: o}
	sc := scaled{b: b, bounds: bounds}
	var near [][]float64
	for _, s := range opt.Samples {
		near = append(near, sc.scale(s))
	}
	draw := func(i int) []float64 {
		u := make([]float64, d)
		if len(near) > 0 && i%2 == 0 {
			base := near[rng.IntN(len(near))]
			for j := range u {
				u[j] = base[j] + 0.05*rng.NormFloat64()
			}
			clip01(u)
			return u
		}
		for j := range u {
			u[j] = rng.Float64()
		}
		return u
	}

	evalX := make([][]float64, opt.Eval)
	for i := range evalX {
		evalX[i] = draw(i)
	}
	evalSc := sc
	if opt.Reference != nil {
		evalSc = scaled{b: &Budget{Oracle: opt.Reference}, bounds: bounds}
	}
	evalAns, err := evalSc.query(ctx, evalX...)
	if err != nil {
		return nil, err
	}
	res := &ExtractionResult{Attack: "extraction", Budget: opt.Budget, EvalQueries: evalSc.b.Used}
	b.Used = 0

	trainX := make([][]float64, 0, opt.Budget)
	var trainAns []Output
checkpoints:
	for _, cp := range checkpoints(opt.Budget) {
		batch := make([][]float64, 0, cp-len(trainX))
		for i := len(trainX); i < cp; i++ {
			batch = append(batch, draw(i))
		}
		// Ask in pieces, so that a throttled endpoint is not sent the
		// whole budget in one request.
		for start := 0; start < len(batch); start += 64 {
			end := min(len(batch), start+64)
			ans, err := sc.query(ctx, batch[start:end]...)
			if res.Stopped = throttled(err, b.Used); res.Stopped != "" {
				break checkpoints
			}
			if err != nil {
				return nil, err
			}
			trainAns = append(trainAns, ans...)
			trainX = append(trainX, batch[start:end]...)
		}
		classes := 2
		for _, a := range append(evalAns, trainAns...) {
			classes = max(classes, a.Label+1, len(a.Scores))
		}
		res.Classes = classes
		res.UsedScores = trainAns[0].Scores != nil
		m := fitSoftmax(trainX, trainAns, classes)
		agree := 0
		for i, x := range evalX {
			if m.predict(x) == evalAns[i].Label {
				agree++
			}
		}
		p := AgreementPoint{Queries: cp, Agreement: round3(float64(agree) / float64(len(evalX)))}
		res.Curve = append(res.Curve, p)
		if p.Agreement >= 0.95 && res.QueriesTo95 == 0 {
			res.QueriesTo95 = cp
		}
	}
	if len(res.Curve) > 0 {
		res.Agreement = res.Curve[len(res.Curve)-1].Agreement
	}
	res.Queries, res.Elapsed = b.Used, time.Since(began)
	return res, nil
}

// checkpoints are the budgets the copy is measured at: 10, 20, 50, 100,
// 200, 500, ... up to and including the budget.
func checkpoints(budget int) []int {
	var cps []int
	for scale := 1; scale*10 < budget; scale *= 10 {
		for _, m := range []int{10, 20, 50} {
			if c := m * scale; c < budget {
				cps = append(cps, c)
			}
		}
	}
	return append(cps, budget)
}

// softmax is a multinomial logistic regression over expanded features.
type softmax struct {
	w       [][]float64 // [class][feature]
	quadric bool
}

// features expands x with a bias term and, for up to 16 features, their
// pairwise products, so that curved boundaries can be copied too.
func (m *softmax) features(x []float64) []float64 {
	f := append([]float64{1}, x...)
	if m.quadric {
		for i := range x {
			for j := i; j < len(x); j++ {
				f = append(f, x[i]*x[j])
			}
		}
	}
	return f
}

func (m *softmax) probs(f []float64) []float64 {
	z := make([]float64, len(m.w))
	top := math.Inf(-1)
	for c, w := range m.w {
		for j, v := range f {
			z[c] += w[j] * v
		}
		top = max(top, z[c])
	}
	var sum float64
	for c := range z {
		z[c] = math.Exp(z[c] - top)
		sum += z[c]
	}
	for c := range z {
		z[c] /= sum
	}
	return z
}

func (m *softmax) predict(x []float64) int { return argmax(m.probs(m.features(x))) }

// fitSoftmax trains on the answers: their scores when the target gave
// them, else their labels.
func fitSoftmax(xs [][]float64, ans []Output, classes int) *softmax {
	m := &softmax{quadric: len(xs[0]) <= 16}
	fs := make([][]float64, len(xs))
	targets := make([][]float64, len(xs))
	for i, x := range xs {
		fs[i] = m.features(x)
		t := make([]float64, classes)
		if s := ans[i].Scores; s != nil && len(s) == classes {
			var sum float64
			for _, v := range s {
				sum += max(v, 0)
			}
			for c, v := range s {
				if sum > 0 {
					t[c] = max(v, 0) / sum
				}
			}
			if sum == 0 {
				t[ans[i].Label] = 1
			}
		} else if ans[i].Label < classes {
			t[ans[i].Label] = 1
		}
		targets[i] = t
	}
	k := len(fs[0])
	m.w = make([][]float64, classes)
	for c := range m.w {
		m.w[c] = make([]float64, k)
	}
	grad := make([][]float64, classes)
	for c := range grad {
		grad[c] = make([]float64, k)
	}
	const epochs, rate, l2 = 800, 2.0, 1e-4
	for range epochs {
		for c := range grad {
			clear(grad[c])
		}
		for i, f := range fs {
			p := m.probs(f)
			for c := range p {
				e := p[c] - targets[i][c]
				for j, v := range f {
					grad[c][j] += e * v
				}
			}
		}
		n := float64(len(fs))
		for c := range m.w {
			for j := range m.w[c] {
				m.w[c][j] -= rate * (grad[c][j]/n + l2*m.w[c][j])
			}
		}
	}
	return m
}
