// Command data measures the data checks on a generated 1,000,000-row,
// 10-column CSV: contract validation with 10 rules (rows per second), and
// profiling plus drift against a baseline profile (the whole in seconds).
//
// With DuckDB's Node package installed beside it, it also runs the same
// checks as SQL, and DuckDB's SUMMARIZE, on the same file:
//
//	(cd bench/data/duckdb && npm install)
//	go run ./bench/data [-rows 1000000] [-keep DIR]
package main

import (
	"bufio"
	"flag"
	"fmt"
	"log"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/modelgate/modelgate/datacheck/contract"
	"github.com/modelgate/modelgate/datacheck/drift"
	"github.com/modelgate/modelgate/datacheck/profile"
	"github.com/modelgate/modelgate/datacheck/table"
)

// contractPath is the benchmark's contract: 10 rules over 10 columns,
// shared with the package's go test benchmark.
const contractPath = "datacheck/contract/testdata/bench.yaml"

func main() {
	rows := flag.Int("rows", 1000000, "rows to generate")
	keep := flag.String("keep", "", "write the inputs here and keep them")
	flag.Parse()
	dir := *keep
	if dir == "" {
		d, err := os.MkdirTemp("", "mg-data-bench")
		must(err)
		defer os.RemoveAll(d)
		dir = d
	}
	cur := filepath.Join(dir, "current.csv")
	ref := filepath.Join(dir, "reference.csv")
	must(write(cur, *rows, 0))
	must(write(ref, *rows, 1))
	c, err := contract.Load(contractPath)
	must(err)

	start := time.Now()
	r := open(cur)
	rep, err := contract.Validate(c, r)
	must(err)
	r.Close()
	v := time.Since(start)
	fmt.Printf("bench/data: %d rows × 10 columns\n\n| step | time | rows/s |\n|---|---:|---:|\n", rep.Rows)
	fmt.Printf("| validate, 10 rules | %.3f s | %.0f |\n", v.Seconds(), float64(rep.Rows)/v.Seconds())

	r = open(ref)
	base, err := profile.Build(r)
	must(err)
	r.Close()
	start = time.Now()
	r = open(cur)
	p, err := profile.Build(r)
	must(err)
	r.Close()
	pt := time.Since(start)
	d, err := drift.Compare(base, p, nil)
	must(err)
	dt := time.Since(start)
	fmt.Printf("| profile | %.3f s | %.0f |\n", pt.Seconds(), float64(p.Rows)/pt.Seconds())
	fmt.Printf("| profile + drift | %.3f s | %.0f |\n", dt.Seconds(), float64(p.Rows)/dt.Seconds())
	duckdb(cur)
	fmt.Printf("\ndrifted columns: %d of %d (the current data's amount and status are shifted)\n", d.Drifted, d.Compared)
}

// duckdb runs bench/data/duckdb/checks.mjs on the same file when its
// packages are installed (cd bench/data/duckdb && npm install).
func duckdb(path string) {
	script := filepath.Join("bench", "data", "duckdb", "checks.mjs")
	if _, err := os.Stat(filepath.Join("bench", "data", "duckdb", "node_modules", "@duckdb", "node-api")); err != nil {
		fmt.Println("| DuckDB | not run: cd bench/data/duckdb && npm install | |")
		return
	}
	out, err := exec.Command("node", script, path).CombinedOutput()
	if err != nil {
		fmt.Printf("| DuckDB | failed: %v %s | |\n", err, out)
		return
	}
	fmt.Print(string(out))
}

func open(path string) table.Reader {
	f, err := os.Open(path)
	must(err)
	r, err := table.NewCSV(f, 0)
	must(err)
	return r
}

func must(err error) {
	if err != nil {
		log.Fatal(err)
	}
}

// write generates rows; shift != 0 changes two columns' distributions.
func write(path string, n, shift int) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	fmt.Fprintln(w, "id,user,amount,status,country,score,day,flag,note,ref")
	st := []string{"new", "paid", "shipped"}
	for i := range n {
		amount := i % 100000
		status := st[i%3]
		if shift == 0 && i%2 == 0 {
			amount = amount/2 + 50000
			status = "new"
		}
		fmt.Fprintf(w, "%d,u%d,%d.%02d,%s,DE,%d,2024-01-%02d,true,some note,r%d\n", i, i%5000, amount, i%100, status, i%97, 1+i%28, i)
	}
	if err := w.Flush(); err != nil {
		return err
	}
	return f.Close()
}
