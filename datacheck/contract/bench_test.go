package contract

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/modelgate/modelgate/datacheck/table"
)

// benchCSV returns n rows of 10 columns.
func benchCSV(n int) []byte {
	var b bytes.Buffer
	b.WriteString("id,user,amount,status,country,score,day,flag,note,ref\n")
	st := []string{"new", "paid", "shipped"}
	for i := range n {
		fmt.Fprintf(&b, "%d,u%d,%d.%02d,%s,DE,%d,2024-01-%02d,true,some note,r%d\n", i, i%5000, i%100000, i%100, st[i%3], i%97, 1+i%28, i)
	}
	return b.Bytes()
}

// BenchmarkValidate reports rows per second for 10 rules on 10 columns.
func BenchmarkValidate(b *testing.B) {
	data := benchCSV(200000)
	c, err := Load("testdata/bench.yaml")
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		r, _ := table.NewCSV(bytes.NewReader(data), 0)
		rep, err := Validate(c, r)
		if err != nil || !rep.Pass {
			b.Fatal(err, rep)
		}
	}
	b.ReportMetric(float64(200000*b.N)/b.Elapsed().Seconds(), "rows/s")
}
