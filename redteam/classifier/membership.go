package classifier

import (
	"context"
	"errors"
	"math/rand/v2"
	"slices"
	"time"
)

// Labeled is an input with its true class.
type Labeled struct {
	X []float64
	Y int
}

// MembershipOptions tune the label-only membership inference attack.
type MembershipOptions struct {
	// Noise is the standard deviation of the noise added to each input,
	// in scaled units (default 0.05); Copies how many noisy copies are
	// asked about per input (default 16).
	Noise  float64
	Copies int
	Seed   uint64
}

// MembershipResult says how well the attack tells the model's training
// records from others, measured on records held out from calibration.
type MembershipResult struct {
	Attack     string  `json:"attack"`
	Members    int     `json:"members"`
	NonMembers int     `json:"non_members"`
	Threshold  float64 `json:"threshold"`
	// Accuracy is on the held-out half (0.5 is a coin); Advantage is the
	// true-positive rate minus the false-positive rate there (0: the
	// model leaks nothing this attack can see); AUC ranks by score.
	Accuracy  float64       `json:"accuracy"`
	Advantage float64       `json:"advantage"`
	AUC       float64       `json:"auc"`
	Queries   int           `json:"queries"`
	Elapsed   time.Duration `json:"elapsed_ns"`
}

// Membership runs a label-only membership inference attack (Choquette-Choo
// et al., 2021): a model tends to classify its training records right and
// keeps doing so under noise, further from its decision boundary than
// records it never saw. Each record's score is 0 when it is misclassified,
// else the share of noisy copies that keep its class. A threshold is
// calibrated on half of the members and non-members given and measured on
// the other half.
func Membership(ctx context.Context, o Oracle, members, nonMembers []Labeled, bounds Bounds, opt MembershipOptions) (*MembershipResult, error) {
	began := time.Now()
	if len(members) < 4 || len(nonMembers) < 4 {
		return nil, errors.New("membership: at least 4 members and 4 non-members are needed to calibrate and measure")
	}
	if opt.Noise <= 0 {
		opt.Noise = 0.05
	}
	if opt.Copies <= 0 {
		opt.Copies = 16
	}
	rng := rand.New(rand.NewPCG(opt.Seed, 0x4d49))
	b := &Budget{Oracle: o}
	sc := scaled{b: b, bounds: bounds}
	score := func(r Labeled) (float64, error) {
		u := sc.scale(r.X)
		batch := [][]float64{u}
		for range opt.Copies {
			n := slices.Clone(u)
			for j := range n {
				n[j] += opt.Noise * rng.NormFloat64()
			}
			clip01(n)
			batch = append(batch, n)
		}
		ans, err := sc.query(ctx, batch...)
		if err != nil {
			return 0, err
		}
		if ans[0].Label != r.Y {
			return 0, nil
		}
		kept := 0
		for _, a := range ans[1:] {
			if a.Label == r.Y {
				kept++
			}
		}
		return (1 + float64(kept)/float64(opt.Copies)) / 2, nil
	}
	type scored struct {
		s      float64
		member bool
	}
	var calib, held []scored
	for k, set := range [][]Labeled{members, nonMembers} {
		for i, r := range set {
			s, err := score(r)
			if err != nil {
				return nil, err
			}
			if i%2 == 0 {
				calib = append(calib, scored{s, k == 0})
			} else {
				held = append(held, scored{s, k == 0})
			}
		}
	}
	rates := func(set []scored, t float64) (tpr, fpr float64) {
		var tp, fp, p, n float64
		for _, x := range set {
			if x.member {
				p++
				if x.s >= t {
					tp++
				}
			} else {
				n++
				if x.s >= t {
					fp++
				}
			}
		}
		return tp / p, fp / n
	}
	// The threshold with the best balanced accuracy on the calibration half.
	best, bestAcc := 2.0, 0.0
	for _, c := range calib {
		tpr, fpr := rates(calib, c.s)
		if acc := (tpr + 1 - fpr) / 2; acc > bestAcc {
			best, bestAcc = c.s, acc
		}
	}
	tpr, fpr := rates(held, best)
	res := &MembershipResult{Attack: "membership-label-only", Members: len(members), NonMembers: len(nonMembers), Threshold: round3(best),
		Accuracy: round3((tpr + 1 - fpr) / 2), Advantage: round3(tpr - fpr), Queries: b.Used, Elapsed: time.Since(began)}
	// AUC: the chance a held-out member scores above a held-out non-member.
	var pairs, wins float64
	for _, m := range held {
		for _, n := range held {
			if m.member && !n.member {
				pairs++
				switch {
				case m.s > n.s:
					wins++
				case m.s == n.s:
					wins += 0.5
				}
			}
		}
	}
	if pairs > 0 {
		res.AUC = round3(wins / pairs)
	}
	return res, nil
}
