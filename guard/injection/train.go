package injection

import (
	"math"
	"math/rand/v2"
)

// Example is one labelled text: Label 1 for an injection or jailbreak.
type Example struct {
	Text  string `json:"text"`
	Label int    `json:"label"`
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
	return Training{Epochs: 12, Rate: 2, L2: 1e-3, Seed: 1}
}

// Train fits a model to examples. The classes are weighted to count
// equally; the order of examples in each epoch is a fixed-seed shuffle, so
// the result depends only on the data and the settings.
func Train(examples []Example, cfg Training) *Model {
	feats := make([][]uint32, len(examples))
	var pos int
	for i, e := range examples {
		feats[i] = features(fold(e.Text), nil)
		pos += e.Label
	}
	neg := len(examples) - pos
	weight := [2]float64{float64(len(examples)) / (2 * float64(max(neg, 1))), float64(len(examples)) / (2 * float64(max(pos, 1)))}
	w := make([]float64, Buckets)
	var bias float64
	r := rand.New(rand.NewPCG(cfg.Seed, cfg.Seed^0x9e3779b97f4a7c15))
	t := 0
	for range cfg.Epochs {
		for _, i := range r.Perm(len(examples)) {
			fs := feats[i]
			if len(fs) == 0 {
				continue
			}
			norm := 1 / math.Sqrt(float64(len(fs)))
			z := bias
			for _, f := range fs {
				z += w[f] * norm
			}
			p := 1 / (1 + math.Exp(-z))
			y := float64(examples[i].Label)
			g := (p - y) * weight[examples[i].Label]
			lr := cfg.Rate / (1 + float64(t)/float64(len(examples)))
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
