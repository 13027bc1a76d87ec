package injection

import (
	"math"
	"math/rand/v2"
)

// Example is one labelled text: Label 1 for an injection or jailbreak.
// Slice, when the data has one, names the kind of text it is (see
// EvaluateSlices).
type Example struct {
	Text  string `json:"text"`
	Label int    `json:"label"`
	Slice string `json:"slice,omitempty"`
}

// Training holds the settings of Train.
type Training struct {
	Epochs int
	Rate   float64 // initial learning rate, decayed as 1/(1+t/len(data))
	L2     float64
	Seed   uint64
}

// DefaultTraining is how the embedded model was trained.
func DefaultTraining() Training {
	return Training{Epochs: 8, Rate: 2, L2: 1e-3, Seed: 1}
}

// Train fits a model to examples, deterministically: the result depends
// only on the data and the settings.
//
//  1. The linear model is fitted to the whole texts, then once more with,
//     from each text that has windows, the window it scores highest: for
//     an attack, where the attack most likely is (multiple-instance
//     learning: the data says a document holds an injection, not where);
//     for a benign text, its most attack-like passage, so that ordinary
//     imperatives to people are learnt as benign.
//  2. The combiner is fitted to signals the linear model was not trained
//     on: the data is split in two, a linear model fitted to each half
//     scores the other, and the combiner (logistic regression, by Newton's
//     method) learns how far to trust each signal.
//  3. The language model counts the byte pairs of the benign texts.
func Train(examples []Example, cfg Training) *Model {
	// Each text as the detector reads it: folded, with mentions masked.
	norms := make([]string, len(examples))
	folded := make([]string, len(examples))
	feats := make([][]uint32, len(examples))
	var benign []string
	for i, e := range examples {
		norms[i] = normalize(e.Text)
		folded[i] = maskMentions(lower(norms[i]))
		feats[i] = features(folded[i], nil)
		if e.Label == 0 {
			benign = append(benign, norms[i])
		}
	}
	lm := trainCharLM(benign)

	r := rand.New(rand.NewPCG(cfg.Seed, cfg.Seed^0x51ed))
	fold := make([]int, len(examples))
	for i, j := range r.Perm(len(examples)) {
		fold[j] = i % 2
	}
	sigs := make([][numSignals]float64, len(examples))
	for k := range 2 {
		var in, out []int
		for i := range examples {
			if fold[i] == k {
				out = append(out, i)
			} else {
				in = append(in, i)
			}
		}
		m := fitLinear(examples, folded, feats, in, cfg)
		m.LM = lm
		d := &Detector{Model: m}
		for _, i := range out {
			sigs[i] = d.explain(norms[i], User, false).sig
		}
	}
	all := make([]int, len(examples))
	for i := range all {
		all[i] = i
	}
	m := fitLinear(examples, folded, feats, all, cfg)
	m.LM = lm
	m.Stack = fitStack(examples, sigs)
	return m
}

// fitLinear fits the linear model to the examples at idx: whole texts,
// then whole texts and the best window of each.
func fitLinear(examples []Example, folded []string, feats [][]uint32, idx []int, cfg Training) *Model {
	xs := make([][]uint32, 0, 2*len(idx))
	ys := make([]int, 0, 2*len(idx))
	for _, i := range idx {
		xs = append(xs, feats[i])
		ys = append(ys, examples[i].Label)
	}
	m := sgd(xs, ys, cfg)
	for _, i := range idx {
		cut := cutAt(folded[i], maxFeatureBytes)
		if len(cut) < windowFromBytes {
			continue
		}
		segs := segments(cut, nil)
		if len(segs) < 2 {
			continue
		}
		segFeats := make([][]uint32, len(segs))
		for k, g := range segs {
			segFeats[k] = features(cut[g[0]:g[1]], nil)
		}
		var best []uint32
		bestZ := math.Inf(-1)
		try := func(fs []uint32) {
			if z := m.logit(fs, 1); len(fs) > 0 && z > bestZ {
				best, bestZ = fs, z
			}
		}
		for k := range segs {
			try(segFeats[k])
			if k > 0 {
				try(append(append([]uint32(nil), segFeats[k-1]...), segFeats[k]...))
			}
		}
		if best != nil {
			xs = append(xs, best)
			ys = append(ys, examples[i].Label)
		}
	}
	return sgd(xs, ys, cfg)
}

// sgd fits logistic regression over hashed features by stochastic
// gradient descent with L2 regularisation, the classes weighted to count
// equally, in a fixed-seed order.
func sgd(xs [][]uint32, ys []int, cfg Training) *Model {
	pos := 0
	for _, y := range ys {
		pos += y
	}
	neg := len(ys) - pos
	weight := [2]float64{float64(len(ys)) / (2 * float64(max(neg, 1))), float64(len(ys)) / (2 * float64(max(pos, 1)))}
	w := make([]float64, Buckets)
	var bias float64
	r := rand.New(rand.NewPCG(cfg.Seed, cfg.Seed^0x9e3779b97f4a7c15))
	t := 0
	for range cfg.Epochs {
		for _, i := range r.Perm(len(xs)) {
			fs := xs[i]
			if len(fs) == 0 {
				continue
			}
			norm := lengthNorm(len(fs))
			z := bias
			for _, f := range fs {
				z += w[f] * norm
			}
			p := 1 / (1 + math.Exp(-z))
			g := (p - float64(ys[i])) * weight[ys[i]]
			lr := cfg.Rate / (1 + float64(t)/float64(len(xs)))
			for _, f := range fs {
				w[f] -= lr * (g*norm + cfg.L2*w[f])
			}
			bias -= lr * g
			t++
		}
	}
	m := &Model{Weights: make([]float32, Buckets), Bias: float32(bias)}
	for i, x := range w {
		m.Weights[i] = float32(x)
	}
	return m
}

// fitStack fits the combiner: weighted logistic regression over the
// signals by Newton's method, with a small ridge so that a signal that
// never varies keeps weight 0.
func fitStack(examples []Example, sigs [][numSignals]float64) (stack [numSignals + 1]float32) {
	const k = numSignals + 1
	pos := 0
	for _, e := range examples {
		pos += e.Label
	}
	neg := len(examples) - pos
	cw := [2]float64{float64(len(examples)) / (2 * float64(max(neg, 1))), float64(len(examples)) / (2 * float64(max(pos, 1)))}
	var beta [k]float64
	for range 30 {
		var grad [k]float64
		var hess [k][k]float64
		for i, e := range examples {
			x := append(sigs[i][:], 1)
			z := 0.0
			for j := range k {
				z += beta[j] * x[j]
			}
			p := 1 / (1 + math.Exp(-z))
			wt := cw[e.Label]
			for a := range k {
				grad[a] += wt * (p - float64(e.Label)) * x[a]
				for b := range k {
					hess[a][b] += wt * p * (1 - p) * x[a] * x[b]
				}
			}
		}
		for a := range k {
			grad[a] += 1e-3 * beta[a]
			hess[a][a] += 1e-3
		}
		step := solve(hess, grad)
		for a := range k {
			beta[a] -= step[a]
		}
	}
	for a := range k {
		stack[a] = float32(beta[a])
	}
	return stack
}

// solve solves a x = b by Gaussian elimination with partial pivoting.
func solve(a [numSignals + 1][numSignals + 1]float64, b [numSignals + 1]float64) [numSignals + 1]float64 {
	const n = numSignals + 1
	for c := range n {
		p := c
		for r := c + 1; r < n; r++ {
			if math.Abs(a[r][c]) > math.Abs(a[p][c]) {
				p = r
			}
		}
		a[c], a[p] = a[p], a[c]
		b[c], b[p] = b[p], b[c]
		for r := c + 1; r < n; r++ {
			f := a[r][c] / a[c][c]
			for j := c; j < n; j++ {
				a[r][j] -= f * a[c][j]
			}
			b[r] -= f * b[c]
		}
	}
	var x [n]float64
	for r := n - 1; r >= 0; r-- {
		s := b[r]
		for j := r + 1; j < n; j++ {
			s -= a[r][j] * x[j]
		}
		x[r] = s / a[r][r]
	}
	return x
}
