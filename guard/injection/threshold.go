package injection

import (
	"cmp"
	"slices"
)

// Calibration says what false alarms a threshold may cost: at most MaxFPR
// of all benign texts, and at most MaxSliceFPR of the benign texts of each
// named slice.
type Calibration struct {
	MaxFPR      float64
	MaxSliceFPR float64
	Slices      []string
}

// DefaultCalibration is how the embedded threshold was chosen on dev_v2:
// 1% false alarms overall, 2% on documents, security talk and benign noise.
var DefaultCalibration = Calibration{MaxFPR: 0.01, MaxSliceFPR: 0.02, Slices: []string{"documents", "documents_imperative", "benign_security", "noise_benign"}}

// ChooseThreshold returns the lowest threshold, so the highest recall, at
// which the scored benign examples meet the calibration. A text is flagged
// when its score is at least the threshold.
func ChooseThreshold(scores []float64, examples []Example, c Calibration) float64 {
	var negs []int
	for i, e := range examples {
		if e.Label == 0 {
			negs = append(negs, i)
		}
	}
	slices.SortFunc(negs, func(a, b int) int { return cmp.Compare(scores[b], scores[a]) })
	total := map[string]int{}
	for _, i := range negs {
		total[examples[i].Slice]++
	}
	flagged := map[string]int{}
	ok := func(k int) bool { // k false alarms: the k highest benign scores
		if float64(k) > c.MaxFPR*float64(len(negs)) {
			return false
		}
		for _, s := range c.Slices {
			if total[s] > 0 && float64(flagged[s]) > c.MaxSliceFPR*float64(total[s]) {
				return false
			}
		}
		return true
	}
	threshold := 1.0
	if len(negs) > 0 {
		threshold = scores[negs[0]] + 1e-6
	}
	for k := 0; k < len(negs); k++ {
		flagged[examples[negs[k]].Slice]++
		// Ties move together: the threshold can only sit between two
		// distinct scores.
		if k+1 < len(negs) && scores[negs[k+1]] == scores[negs[k]] {
			continue
		}
		if !ok(k + 1) {
			break
		}
		if k+1 < len(negs) {
			threshold = scores[negs[k+1]] + 1e-6
		} else {
			threshold = 0
		}
	}
	return min(threshold, 1)
}
