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
	// RecallAt… is the recall at the lowest threshold whose false
	// positive rate is at most 0.1%, 1% and 5%.
	RecallAt01PctFPR float64 `json:"recall_at_0.1pct_fpr"`
	RecallAt1PctFPR  float64 `json:"recall_at_1pct_fpr"`
	RecallAt5PctFPR  float64 `json:"recall_at_5pct_fpr"`
	P50US            float64 `json:"p50_us"`
	P99US            float64 `json:"p99_us"`
	Threshold        float64 `json:"threshold"`
	// ROC is the curve at up to 21 points, from the strictest threshold.
	ROC []ROCPoint `json:"roc"`
	// Slices breaks the figures down by the data's slice field, when it
	// has one: the recall of attack slices, the false alarm rate of benign
	// ones.
	Slices []SliceMetrics `json:"slices,omitempty"`
}

// ROCPoint is one threshold's rates.
type ROCPoint struct {
	Threshold float64 `json:"threshold"`
	FPR       float64 `json:"fpr"`
	TPR       float64 `json:"tpr"`
}

// SliceMetrics is one slice at the threshold: Rate is the share flagged,
// recall for attacks (Label 1) and false positive rate for benign texts.
type SliceMetrics struct {
	Slice string  `json:"slice"`
	Label int     `json:"label"`
	N     int     `json:"n"`
	Rate  float64 `json:"rate"`
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
	type key struct {
		slice string
		label int
	}
	perSlice := map[key]*SliceMetrics{}
	for i, e := range examples {
		start := time.Now()
		all[i] = scored{score(e.Text), e.Label}
		times[i] = time.Since(start)
		if e.Slice != "" {
			k := key{e.Slice, e.Label}
			if perSlice[k] == nil {
				perSlice[k] = &SliceMetrics{Slice: e.Slice, Label: e.Label}
			}
			perSlice[k].N++
			if all[i].s >= threshold {
				perSlice[k].Rate++
			}
		}
	}
	m := Metrics{N: len(examples), Threshold: threshold}
	for _, s := range perSlice {
		s.Rate /= float64(s.N)
		m.Slices = append(m.Slices, *s)
	}
	slices.SortFunc(m.Slices, func(a, b SliceMetrics) int {
		return cmp.Or(cmp.Compare(b.Label, a.Label), cmp.Compare(a.Slice, b.Slice))
	})
	var tp, fp, fn, tn int
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
	pos, neg := tp+fn, fp+tn
	m.Precision = ratio(tp, tp+fp)
	m.Recall = ratio(tp, pos)
	m.FPR = ratio(fp, neg)
	if m.Precision+m.Recall > 0 {
		m.F1 = 2 * m.Precision * m.Recall / (m.Precision + m.Recall)
	}
	// The ROC curve, AUC and recall at fixed false positive rates from the
	// ranking, ties broken pessimistically (a block of equal scores is
	// taken whole).
	slices.SortFunc(all, func(a, b scored) int { return cmp.Or(cmp.Compare(b.s, a.s), cmp.Compare(a.y, b.y)) })
	var auc float64
	var seenPos, seenNeg int
	nextROC := 0.0
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
		auc += float64(dn) * (float64(seenPos) + float64(dp)/2)
		seenPos += dp
		seenNeg += dn
		tpr, fpr := ratio(seenPos, pos), ratio(seenNeg, neg)
		for _, at := range []struct {
			limit float64
			into  *float64
		}{{0.001, &m.RecallAt01PctFPR}, {0.01, &m.RecallAt1PctFPR}, {0.05, &m.RecallAt5PctFPR}} {
			if neg == 0 || fpr <= at.limit {
				*at.into = tpr
			}
		}
		if fpr >= nextROC || j == len(all) {
			m.ROC = append(m.ROC, ROCPoint{Threshold: all[i].s, FPR: fpr, TPR: tpr})
			for nextROC <= fpr {
				nextROC += 0.05
			}
		}
		i = j
	}
	if pos > 0 && neg > 0 {
		m.AUC = auc / (float64(pos) * float64(neg))
	}
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
