package injection

import (
	"cmp"
	"slices"
	"time"
)

// Metrics describe a detector on labelled data at a threshold.
type Metrics struct {
	N         int     `json:"n"`
	Precision float64 `json:"precision"`
	Recall    float64 `json:"recall"`
	F1        float64 `json:"f1"`
	FPR       float64 `json:"fpr"`
	AUC       float64 `json:"auc"`
	// RecallAt1PctFPR is the recall at the highest threshold whose false
	// positive rate is at most 1%.
	RecallAt1PctFPR float64 `json:"recall_at_1pct_fpr"`
	P50US           float64 `json:"p50_us"`
	P99US           float64 `json:"p99_us"`
	Threshold       float64 `json:"threshold"`
}

// Evaluate scores every example, timing each call, and computes metrics at
// threshold (an example is flagged when its score is at least threshold).
func Evaluate(score func(string) float64, examples []Example, threshold float64) Metrics {
	type scored struct {
		s float64
		y int
	}
	all := make([]scored, len(examples))
	times := make([]time.Duration, len(examples))
	for i, e := range examples {
		start := time.Now()
		all[i] = scored{score(e.Text), e.Label}
		times[i] = time.Since(start)
	}
	m := Metrics{N: len(examples), Threshold: threshold}
	var tp, fp, fn, tn, pos, neg int
	for _, x := range all {
		flagged := x.s >= threshold
		switch {
		case flagged && x.y == 1:
			tp++
		case flagged:
			fp++
		case x.y == 1:
			fn++
		default:
			tn++
		}
	}
	pos, neg = tp+fn, fp+tn
	m.Precision = ratio(tp, tp+fp)
	m.Recall = ratio(tp, pos)
	m.FPR = ratio(fp, neg)
	if m.Precision+m.Recall > 0 {
		m.F1 = 2 * m.Precision * m.Recall / (m.Precision + m.Recall)
	}
	// AUC and recall at 1% FPR from the ranking, ties broken pessimistically
	// (negatives first among equal scores).
	slices.SortFunc(all, func(a, b scored) int { return cmp.Or(cmp.Compare(b.s, a.s), cmp.Compare(a.y, b.y)) })
	var tpr, fpc, auc float64
	var seenPos, seenNeg int
	for i := 0; i < len(all); {
		j := i
		dp, dn := 0, 0
		for j < len(all) && all[j].s == all[i].s {
			if all[j].y == 1 {
				dp++
			} else {
				dn++
			}
			j++
		}
		// Trapezoid over the block of tied scores.
		auc += float64(dn) * (float64(seenPos) + float64(dp)/2)
		seenPos += dp
		seenNeg += dn
		if neg == 0 || float64(seenNeg) <= 0.01*float64(neg) {
			tpr = ratio(seenPos, pos)
		}
		fpc = float64(seenNeg)
		i = j
	}
	_ = fpc
	if pos > 0 && neg > 0 {
		m.AUC = auc / (float64(pos) * float64(neg))
	}
	m.RecallAt1PctFPR = tpr
	slices.Sort(times)
	if len(times) > 0 {
		m.P50US = float64(times[len(times)/2].Nanoseconds()) / 1e3
		m.P99US = float64(times[len(times)*99/100].Nanoseconds()) / 1e3
	}
	return m
}

func ratio(a, b int) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}
