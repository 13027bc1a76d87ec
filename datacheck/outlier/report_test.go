package outlier

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/modelgate/modelgate/datacheck/profile"
	"github.com/modelgate/modelgate/datacheck/table"
)

func csvOf(rows int, poison bool, seed uint64) string {
	r := rand.New(rand.NewPCG(seed, seed))
	var b strings.Builder
	b.WriteString("x,y,text,label\n")
	for i := range rows {
		label := []string{"cat", "dog"}[i%2]
		fmt.Fprintf(&b, "%.4f,%.4f,example %d,%s\n", r.NormFloat64(), r.NormFloat64(), i, label)
	}
	if poison {
		for range 50 { // the same example again and again, with a flipped label
			b.WriteString("0.1000,0.2000,Buy NOW!!,dog\n")
			b.WriteString("0.1000,0.2000,buy now,dog\n")
		}
		b.WriteString("40.0,-35.0,odd one,dog\n")
	}
	return b.String()
}

func prof(t *testing.T, csv string) *profile.Profile {
	r, _ := table.NewCSV(strings.NewReader(csv), 0)
	p, err := profile.Build(r)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestAnalyse(t *testing.T) {
	base := prof(t, csvOf(1000, false, 1))
	data := csvOf(1000, true, 2)
	r, _ := table.NewCSV(strings.NewReader(data), 0)
	rep, err := Analyse(r, prof(t, data), base, "label", 5)
	if err != nil {
		t.Fatal(err)
	}
	// The planted row is the last: line 1 (header) + 1000 + 100 + 1.
	if rep.Top[0].Line != 1102 || rep.Top[0].Score < 0.7 {
		t.Errorf("top rows %+v", rep.Top)
	}
	if rep.Columns[0].Worst.Line != 1102 || rep.Columns[0].Count == 0 {
		t.Errorf("column outliers %+v", rep.Columns)
	}
	p := rep.Poisoning
	// 49 exact repeats of each of two rows; the two rows are also near
	// duplicates of each other, so 99 near repeats; of 1101 rows.
	if want := 98.0 / 1101; p.ExactDuplicates < want-1e-9 || p.ExactDuplicates > want+1e-9 {
		t.Errorf("exact duplicate rate %v, want %v", p.ExactDuplicates, want)
	}
	if want := 99.0 / 1101; p.NearDuplicates < want-1e-9 || p.NearDuplicates > want+1e-9 {
		t.Errorf("near duplicate rate %v, want %v", p.NearDuplicates, want)
	}
	if p.FarOutside < 0.5/1101 || p.FarOutside > 2.5/1101 {
		t.Errorf("far outside rate %v", p.FarOutside)
	}
	if p.LabelShift < 0.02 {
		t.Errorf("label shift %v: 100 extra dogs should show", p.LabelShift)
	}
	// A clean data set has no duplicates and no label shift to speak of.
	clean := csvOf(1000, false, 3)
	r, _ = table.NewCSV(strings.NewReader(clean), 0)
	rep, _ = Analyse(r, prof(t, clean), base, "label", 5)
	if rep.Poisoning.ExactDuplicates != 0 || rep.Poisoning.LabelShift > 0.01 {
		t.Errorf("clean data: %+v", rep.Poisoning)
	}
}
