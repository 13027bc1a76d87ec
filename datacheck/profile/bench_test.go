package profile

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/modelgate/modelgate/datacheck/table"
)

// BenchmarkBuild profiles 200,000 rows of 10 columns.
func BenchmarkBuild(b *testing.B) {
	var buf bytes.Buffer
	buf.WriteString("id,user,amount,status,country,score,day,flag,note,ref\n")
	st := []string{"new", "paid", "shipped"}
	for i := range 200000 {
		fmt.Fprintf(&buf, "%d,u%d,%d.%02d,%s,DE,%d,2024-01-%02d,true,some note,r%d\n", i, i%5000, i%100000, i%100, st[i%3], i%97, 1+i%28, i)
	}
	data := buf.Bytes()
	for b.Loop() {
		r, _ := table.NewCSV(bytes.NewReader(data), 0)
		if _, err := Build(r); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(200000*b.N)/b.Elapsed().Seconds(), "rows/s")
}
