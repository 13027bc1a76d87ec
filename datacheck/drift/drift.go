// Package drift compares a table's profile with a reference profile,
// column by column, with Evidently's default choice of test:
//
//   - reference of at most 1,000 rows: Kolmogorov–Smirnov for numeric
//     columns with more than 5 distinct values, chi-square for categorical
//     ones and numeric ones with 3 to 5, a two-proportion z-test for
//     binary ones; a column drifts when p < 0.05;
//   - larger references: the Wasserstein distance divided by the
//     reference's standard deviation for numeric columns, the
//     Jensen–Shannon distance for categorical ones; a column drifts when
//     the distance is at least 0.1.
//
// PSI can be chosen per column (drift when at least 0.1). The data set
// drifts when at least half of its columns do.
package drift

import (
	"fmt"
	"math"
	"slices"

	"github.com/modelgate/modelgate/datacheck/profile"
	"github.com/modelgate/modelgate/datacheck/stats"
)

// Methods.
const (
	KS            = "ks"
	ChiSquare     = "chisquare"
	ZTest         = "z"
	Wasserstein   = "wasserstein"
	JensenShannon = "jensenshannon"
	PSI           = "psi"
)

// Column is one column's result. For tests (ks, chisquare, z) Statistic
// is the p-value and the column drifts below Threshold; for distances
// (wasserstein, jensenshannon, psi) it drifts at or above it.
type Column struct {
	Column    string  `json:"column"`
	Method    string  `json:"method"`
	Statistic float64 `json:"statistic"`
	Threshold float64 `json:"threshold"`
	Drift     bool    `json:"drift"`
	Note      string  `json:"note,omitempty"`
}

// Report is a data set's drift.
type Report struct {
	Columns      []Column `json:"columns"`
	Drifted      int      `json:"drifted_columns"`
	Compared     int      `json:"compared_columns"`
	Share        float64  `json:"share"`
	DatasetDrift bool     `json:"dataset_drift"`
}

// Compare tests each column of cur against ref. methods chooses a method
// per column name, overriding the defaults.
func Compare(ref, cur *profile.Profile, methods map[string]string) (*Report, error) {
	rep := &Report{}
	for _, rc := range ref.Columns {
		cc := cur.Column(rc.Name)
		if cc == nil {
			rep.Columns = append(rep.Columns, Column{Column: rc.Name, Note: "missing from the current data", Drift: true})
			rep.Drifted++
			rep.Compared++
			continue
		}
		if rc.Kind == profile.Empty || rc.Kind == profile.Text {
			rep.Columns = append(rep.Columns, Column{Column: rc.Name, Note: "not compared: " + rc.Kind})
			continue
		}
		method := methods[rc.Name]
		if method == "" {
			method = defaultMethod(ref.Rows, rc)
		}
		col, err := compare(method, rc, cc)
		if err != nil {
			return nil, fmt.Errorf("column %s: %w", rc.Name, err)
		}
		rep.Columns = append(rep.Columns, col)
		rep.Compared++
		if col.Drift {
			rep.Drifted++
		}
	}
	if rep.Compared > 0 {
		rep.Share = float64(rep.Drifted) / float64(rep.Compared)
	}
	rep.DatasetDrift = rep.Compared > 0 && rep.Share >= 0.5
	return rep, nil
}

// distinct is the number of distinct values: exact when categories were
// counted, else the HyperLogLog estimate.
func distinct(c *profile.Column) int {
	if c.Categories != nil {
		return len(c.Categories)
	}
	return int(c.Distinct)
}

func defaultMethod(refRows int64, c *profile.Column) string {
	n := distinct(c)
	numeric := c.Kind == profile.Numeric && n > 5
	if refRows <= 1000 {
		switch {
		case numeric:
			return KS
		case n <= 2:
			return ZTest
		}
		return ChiSquare
	}
	if numeric {
		return Wasserstein
	}
	return JensenShannon
}

func compare(method string, ref, cur *profile.Column) (Column, error) {
	col := Column{Column: ref.Name, Method: method}
	switch method {
	case KS, Wasserstein:
		if ref.Sample == nil || cur.Sample == nil {
			return col, fmt.Errorf("%s needs numeric values in both profiles", method)
		}
	}
	switch method {
	case KS:
		_, p := stats.KS(ref.Sample, cur.Sample)
		col.Statistic, col.Threshold, col.Drift = p, 0.05, p < 0.05
	case Wasserstein:
		std := stats.StdDev(ref.Sample)
		w := stats.Wasserstein(ref.Sample, cur.Sample)
		if std == 0 {
			std = 1 // a constant reference: the distance itself
		}
		col.Statistic, col.Threshold = w/std, 0.1
		col.Drift = col.Statistic >= 0.1
	case ChiSquare, ZTest, JensenShannon:
		keys, rc, cc := categories(ref, cur)
		if keys == nil {
			return col, fmt.Errorf("%s needs categories in both profiles", method)
		}
		switch method {
		case ChiSquare:
			var nr, nc float64
			for i := range keys {
				nr += rc[i]
				nc += cc[i]
			}
			expected := make([]float64, len(keys))
			stat := 0.0
			for i := range keys {
				expected[i] = rc[i] * nc / nr
				if expected[i] == 0 && cc[i] > 0 {
					stat = math.Inf(1) // a category the reference never had
				}
			}
			p := 0.0
			if !math.IsInf(stat, 1) {
				_, p = stats.ChiSquare(cc, expected)
			}
			col.Statistic, col.Threshold, col.Drift = p, 0.05, p < 0.05
		case ZTest:
			var nr, nc float64
			for i := range keys {
				nr += rc[i]
				nc += cc[i]
			}
			_, p := stats.ZTestProportions(rc[0], nr, cc[0], nc)
			col.Statistic, col.Threshold, col.Drift = p, 0.05, p < 0.05
		case JensenShannon:
			d := stats.JensenShannon(rc, cc)
			col.Statistic, col.Threshold, col.Drift = d, 0.1, d >= 0.1
		}
	case PSI:
		var v float64
		if ref.Sample != nil && cur.Sample != nil && ref.Kind == profile.Numeric {
			v = stats.PSI(ref.Sample, cur.Sample)
		} else {
			keys, rc, cc := categories(ref, cur)
			if keys == nil {
				return col, fmt.Errorf("psi needs values in both profiles")
			}
			v = stats.PSICounts(rc, cc)
		}
		col.Statistic, col.Threshold, col.Drift = v, 0.1, v >= 0.1
	default:
		return col, fmt.Errorf("unknown method %q (want ks, chisquare, z, wasserstein, jensenshannon or psi)", method)
	}
	return col, nil
}

// categories returns the union of both columns' categories, sorted, and
// each side's counts over them.
func categories(ref, cur *profile.Column) ([]string, []float64, []float64) {
	if ref.Categories == nil || cur.Categories == nil {
		return nil, nil, nil
	}
	seen := map[string]bool{}
	var keys []string
	for k := range ref.Categories {
		seen[k] = true
		keys = append(keys, k)
	}
	for k := range cur.Categories {
		if !seen[k] {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	rc, cc := make([]float64, len(keys)), make([]float64, len(keys))
	for i, k := range keys {
		rc[i], cc[i] = float64(ref.Categories[k]), float64(cur.Categories[k])
	}
	return keys, rc, cc
}
