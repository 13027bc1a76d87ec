package outlier

import (
	"fmt"
	"hash/maphash"
	"math"
	"slices"
	"strconv"
	"strings"
	"unicode"

	"github.com/modelgate/modelgate/datacheck/profile"
	"github.com/modelgate/modelgate/datacheck/stats"
	"github.com/modelgate/modelgate/datacheck/table"
)

// Row is a suspicious row.
type Row struct {
	Line  int64   `json:"line"`
	Score float64 `json:"score"`
}

// ColumnOutliers counts the values of a column beyond the robust z-score
// cut-off of 3.5.
type ColumnOutliers struct {
	Column string `json:"column"`
	Count  int    `json:"outliers"`
	Worst  *Row   `json:"worst,omitempty"` // nil when there is none
	// Skipped says why the column was not scored: a column of one or two
	// values (a flag, a 0/1 label) has no outliers to speak of.
	Skipped string `json:"skipped,omitempty"`
}

// Poisoning compares a data set with its baseline for the signs of
// poisoning: a shifted label distribution, many duplicates (the same
// example repeated to weigh more), and rows far outside the baseline.
type Poisoning struct {
	Label           string  `json:"label,omitempty"`
	LabelShift      float64 `json:"label_shift_js,omitempty"` // Jensen–Shannon distance of the label's distribution
	ExactDuplicates float64 `json:"exact_duplicate_rate"`
	NearDuplicates  float64 `json:"near_duplicate_rate"`
	FarOutside      float64 `json:"far_outside_baseline_rate,omitempty"`
}

// Report is the outlier and poisoning report of a data set.
type Report struct {
	Rows       int64             `json:"rows"`
	Unreadable *table.Unreadable `json:"unreadable_rows,omitempty"`
	Numeric    []string          `json:"numeric_columns"`
	Top        []Row             `json:"top_rows"`
	Columns    []ColumnOutliers  `json:"columns"`
	Poisoning  Poisoning         `json:"poisoning"`
}

// Analyse reads every row of r: the numeric columns (those the profile
// calls numeric) feed an Isolation Forest and per-column robust
// z-scores; every row feeds the duplicate counts. With a baseline, rows
// are also judged against it.
func Analyse(r table.Reader, p, baseline *profile.Profile, label string, top int) (*Report, error) {
	cols := r.Columns()
	var numeric []int
	medians := map[int]float64{}
	for i, name := range cols {
		if c := p.Column(name); c != nil && c.Kind == profile.Numeric {
			numeric = append(numeric, i)
			medians[i] = c.Quantiles["p50"]
		}
	}
	rep := &Report{}
	for _, i := range numeric {
		rep.Numeric = append(rep.Numeric, cols[i])
	}
	var vectors [][]float64
	var lines []int64
	exact, near := map[uint64]bool{}, map[uint64]bool{}
	var exactDup, nearDup, far int64
	seed := maphash.MakeSeed()
	err := table.Each(r, func(row *table.Row) error {
		rep.Rows++
		var h, hn maphash.Hash
		h.SetSeed(seed)
		hn.SetSeed(seed)
		outside := false
		vec := make([]float64, len(numeric))
		for k, i := range numeric {
			v := row.Values[i]
			f, err := strconv.ParseFloat(v.Text, 64)
			if v.Null || err != nil || math.IsNaN(f) {
				f = medians[i]
			}
			vec[k] = f
			if baseline != nil {
				if bc := baseline.Column(cols[i]); bc != nil && bc.Quantiles != nil {
					lo, hi := bc.Quantiles["p1"], bc.Quantiles["p99"]
					if span := hi - lo; f < lo-span || f > hi+span {
						outside = true
					}
				}
			}
		}
		for _, v := range row.Values {
			h.WriteString(v.Text)
			h.WriteByte(0)
			hn.WriteString(normalise(v.Text))
			hn.WriteByte(0)
		}
		if k := h.Sum64(); exact[k] {
			exactDup++
		} else {
			exact[k] = true
		}
		if k := hn.Sum64(); near[k] {
			nearDup++
		} else {
			near[k] = true
		}
		if outside {
			far++
		}
		if len(numeric) > 0 {
			vectors = append(vectors, vec)
			lines = append(lines, row.Line)
		}
		return nil
	}, func(e *table.RowError) {
		if rep.Unreadable == nil {
			rep.Unreadable = &table.Unreadable{}
		}
		rep.Unreadable.Add(e)
	})
	if err != nil {
		return nil, err
	}
	if rep.Rows > 0 {
		rep.Poisoning.ExactDuplicates = float64(exactDup) / float64(rep.Rows)
		rep.Poisoning.NearDuplicates = float64(nearDup) / float64(rep.Rows)
		if baseline != nil {
			rep.Poisoning.FarOutside = float64(far) / float64(rep.Rows)
		}
	}
	if len(vectors) > 0 {
		f := Fit(vectors, 100, 256, 1)
		for k, v := range vectors {
			rep.Top = append(rep.Top, Row{Line: lines[k], Score: f.Score(v)})
		}
		slices.SortStableFunc(rep.Top, func(a, b Row) int {
			switch {
			case a.Score > b.Score:
				return -1
			case a.Score < b.Score:
				return 1
			}
			return 0
		})
		rep.Top = rep.Top[:min(top, len(rep.Top))]
		for k, i := range numeric {
			vals := make([]float64, len(vectors))
			for j, v := range vectors {
				vals[j] = v[k]
			}
			co := ColumnOutliers{Column: cols[i]}
			if c := p.Column(cols[i]); c != nil && c.Distinct <= 2 {
				co.Skipped = fmt.Sprintf("%d distinct values", c.Distinct)
				rep.Columns = append(rep.Columns, co)
				continue
			}
			for j, z := range RobustZ(vals) {
				if math.Abs(z) > 3.5 {
					co.Count++
					if co.Worst == nil || math.Abs(z) > math.Abs(co.Worst.Score) {
						co.Worst = &Row{Line: lines[j], Score: z}
					}
				}
			}
			rep.Columns = append(rep.Columns, co)
		}
	}
	if label != "" && baseline != nil {
		rep.Poisoning.Label = label
		if bc, cc := baseline.Column(label), p.Column(label); bc != nil && cc != nil && bc.Categories != nil && cc.Categories != nil {
			rep.Poisoning.LabelShift = labelShift(bc.Categories, cc.Categories)
		}
	}
	return rep, nil
}

// normalise reduces text to what near-duplicates share: lower case,
// letters and digits only, numbers rounded to three significant digits.
func normalise(s string) string {
	if f, err := strconv.ParseFloat(strings.TrimSpace(s), 64); err == nil {
		return strconv.FormatFloat(f, 'g', 3, 64)
	}
	return strings.Map(func(r rune) rune {
		switch {
		case unicode.IsLetter(r):
			return unicode.ToLower(r)
		case unicode.IsDigit(r):
			return r
		}
		return -1
	}, s)
}

func labelShift(ref, cur map[string]int64) float64 {
	keys := map[string]bool{}
	for k := range ref {
		keys[k] = true
	}
	for k := range cur {
		keys[k] = true
	}
	var p, q []float64
	for k := range keys {
		p = append(p, float64(ref[k]))
		q = append(q, float64(cur[k]))
	}
	return stats.JensenShannon(p, q)
}
