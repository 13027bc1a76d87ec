package contract

import (
	"errors"
	"fmt"
	"hash/maphash"
	"io"
	"strconv"
	"sync"
	"time"

	"github.com/modelgate/modelgate/datacheck/table"
)

// Result is the outcome of one rule.
type Result struct {
	Rule     string    `json:"rule"`
	Column   string    `json:"column,omitempty"`
	Pass     bool      `json:"pass"`
	Observed float64   `json:"observed"`
	Expected string    `json:"expected"`
	Failing  int64     `json:"failing_rows"`
	Sample   []Failure `json:"sample,omitempty"`
}

// Failure is one failing value, with its line.
type Failure struct {
	Line   int64  `json:"line"`
	Value  string `json:"value,omitempty"`
	Reason string `json:"reason,omitempty"`
}

// Report is the outcome of validating one file.
type Report struct {
	Rows    int64    `json:"rows"`
	Pass    bool     `json:"pass"`
	Results []Result `json:"results"`
}

// SampleSize caps the failing values kept per rule.
const SampleSize = 5

// check is one per-value rule on a column.
type check struct {
	res     Result
	test    func(v table.Value) (bad bool, reason string)
	quality *Quality // for metrics judged on a count; nil for must-hold rules
}

func (c *check) fail(line int64, v table.Value, reason string) {
	c.res.Failing++
	if len(c.res.Sample) < SampleSize {
		text := v.Text
		if v.Null {
			text = "null"
		}
		if len(text) > 80 {
			text = text[:80] + "…"
		}
		c.res.Sample = append(c.res.Sample, Failure{Line: line, Value: text, Reason: reason})
	}
}

var seed = maphash.MakeSeed()

// Validate streams the rows of r through the contract's rules.
func Validate(c *Contract, r table.Reader) (*Report, error) {
	cols := r.Columns()
	index := map[string]int{}
	for i, name := range cols {
		index[name] = i
	}
	rep := &Report{}
	perCol := make([][]*check, len(cols))
	var all []*check
	add := func(i int, ch *check) {
		perCol[i] = append(perCol[i], ch)
		all = append(all, ch)
	}
	var missing []Result
	for _, col := range c.Columns {
		i, ok := index[col.Name]
		if !ok {
			missing = append(missing, Result{Rule: "present", Column: col.Name, Expected: "a column named " + col.Name, Failing: -1})
			continue
		}
		for _, ch := range columnChecks(col) {
			add(i, ch)
		}
	}
	readErrors := &check{res: Result{Rule: "readable", Expected: "every line parses"}}
	// Reading and checking overlap: one goroutine parses rows into
	// batches while this one checks the previous batch.
	batches, errc := readBatches(r, len(cols))
	for b := range batches {
		for k := range b.n {
			if re := b.errs[k]; re != nil {
				readErrors.res.Failing++
				if len(readErrors.res.Sample) < SampleSize {
					readErrors.res.Sample = append(readErrors.res.Sample, Failure{Line: re.Line, Reason: re.Msg})
				}
				continue
			}
			rep.Rows++
			line := b.lines[k]
			vals := b.values[k*len(cols) : (k+1)*len(cols)]
			for i, checks := range perCol {
				v := vals[i]
				for _, ch := range checks {
					if bad, why := ch.test(v); bad {
						ch.fail(line, v, why)
					}
				}
			}
		}
		batchPool.Put(b)
	}
	if err := <-errc; err != nil {
		return nil, err
	}
	rep.Pass = true
	finish := func(res Result) {
		rep.Pass = rep.Pass && res.Pass
		rep.Results = append(rep.Results, res)
	}
	for _, res := range missing {
		finish(res)
	}
	readErrors.res.Observed = float64(readErrors.res.Failing)
	readErrors.res.Pass = readErrors.res.Failing == 0
	finish(readErrors.res)
	for _, ch := range all {
		res := ch.res
		if ch.quality != nil {
			res.Observed = float64(res.Failing)
			if ch.quality.Percent {
				res.Observed = percent(res.Failing, rep.Rows)
			}
			res.Expected = ch.quality.Expect()
			res.Pass = ch.quality.Holds(res.Observed)
		} else {
			res.Observed = float64(res.Failing)
			res.Pass = res.Failing == 0
		}
		finish(res)
	}
	for _, q := range c.Quality {
		obs := float64(rep.Rows)
		finish(Result{Rule: "rowCount", Observed: obs, Expected: q.Expect(), Pass: q.Holds(obs)})
	}
	return rep, nil
}

func percent(n, of int64) float64 {
	if of == 0 {
		return 0
	}
	return 100 * float64(n) / float64(of)
}

// columnChecks builds the checks a column's properties and quality rules
// call for.
func columnChecks(col *Column) []*check {
	var out []*check
	must := func(rule, expected string, test func(table.Value) (bool, string)) {
		out = append(out, &check{res: Result{Rule: rule, Column: col.Name, Expected: expected}, test: test})
	}
	if col.LogicalType != "" && col.LogicalType != "string" {
		typ := col.LogicalType
		must("type", "every value is "+article(typ)+" "+typ, func(v table.Value) (bool, string) {
			if v.Null || parses(typ, v.Text) {
				return false, ""
			}
			return true, "not " + article(typ) + " " + typ
		})
	}
	if col.Required {
		must("required", "no nulls", func(v table.Value) (bool, string) { return v.Null, "null" })
	}
	if col.Unique {
		out = append(out, &check{res: Result{Rule: "unique", Column: col.Name, Expected: "no value twice"}, test: duplicateTest()})
	}
	if col.Pattern != nil {
		re := col.Pattern
		must("pattern", "matches "+re.String(), func(v table.Value) (bool, string) {
			if v.Null || re.MatchString(v.Text) {
				return false, ""
			}
			return true, "does not match"
		})
	}
	if len(col.Enum) > 0 {
		valid := set(col.Enum)
		must("enum", fmt.Sprintf("one of %d valid values", len(col.Enum)), func(v table.Value) (bool, string) {
			if v.Null {
				return false, ""
			}
			_, ok := valid[v.Text]
			return !ok, "not a valid value"
		})
	}
	if col.Minimum != nil || col.Maximum != nil {
		lo, hi := col.Minimum, col.Maximum
		desc := "within "
		if lo != nil {
			desc += strconv.FormatFloat(*lo, 'g', -1, 64)
		} else {
			desc += "-∞"
		}
		desc += ".."
		if hi != nil {
			desc += strconv.FormatFloat(*hi, 'g', -1, 64)
		} else {
			desc += "∞"
		}
		must("range", desc, func(v table.Value) (bool, string) {
			if v.Null {
				return false, ""
			}
			f, err := strconv.ParseFloat(v.Text, 64)
			switch {
			case err != nil:
				return true, "not a number"
			case lo != nil && f < *lo:
				return true, "below the minimum"
			case hi != nil && f > *hi:
				return true, "above the maximum"
			}
			return false, ""
		})
	}
	for _, q := range col.Quality {
		ch := &check{res: Result{Rule: q.Metric, Column: col.Name}, quality: q}
		switch q.Metric {
		case "nullValues":
			ch.test = func(v table.Value) (bool, string) { return v.Null, "null" }
		case "missingValues":
			missing := set(q.Missing)
			ch.test = func(v table.Value) (bool, string) {
				if v.Null {
					return true, "null"
				}
				_, ok := missing[v.Text]
				return ok, "a missing-value marker"
			}
		case "invalidValues":
			valid := set(q.Valid)
			re := q.Pattern
			ch.test = func(v table.Value) (bool, string) {
				if v.Null {
					return false, ""
				}
				if len(valid) > 0 {
					if _, ok := valid[v.Text]; !ok {
						return true, "not a valid value"
					}
				}
				if re != nil && !re.MatchString(v.Text) {
					return true, "does not match the pattern"
				}
				return false, ""
			}
		case "duplicateValues":
			ch.test = duplicateTest()
		}
		out = append(out, ch)
	}
	return out
}

// duplicateTest reports a value seen before. Values are kept as 64-bit
// hashes, so a million distinct values cost megabytes, not the values; a
// collision (about one in 10^19 pairs) would report a false duplicate.
func duplicateTest() func(table.Value) (bool, string) {
	var seen hashSet
	return func(v table.Value) (bool, string) {
		if v.Null {
			return false, ""
		}
		if seen.add(maphash.String(seed, v.Text)) {
			return true, "seen before"
		}
		return false, ""
	}
}

func set(vs []string) map[string]struct{} {
	m := make(map[string]struct{}, len(vs))
	for _, v := range vs {
		m[v] = struct{}{}
	}
	return m
}

func article(typ string) string {
	switch typ[0] {
	case 'a', 'e', 'i', 'o', 'u':
		return "an"
	}
	return "a"
}

// parses reports whether text is a value of a logical type.
func parses(typ, s string) bool {
	switch typ {
	case "integer":
		_, err := strconv.ParseInt(s, 10, 64)
		return err == nil
	case "number":
		_, err := strconv.ParseFloat(s, 64)
		return err == nil
	case "boolean":
		switch s {
		case "true", "false", "True", "False", "TRUE", "FALSE", "0", "1":
			return true
		}
		return false
	case "date":
		return isDate(s)
	case "timestamp":
		for _, layout := range []string{time.RFC3339Nano, "2006-01-02 15:04:05", "2006-01-02T15:04:05", "2006-01-02 15:04:05.999999999"} {
			if _, err := time.Parse(layout, s); err == nil {
				return true
			}
		}
		return false
	case "object":
		return len(s) > 0 && s[0] == '{'
	case "array":
		return len(s) > 0 && s[0] == '['
	}
	return true
}

// isDate reports whether s is a calendar date written YYYY-MM-DD, without
// time.Parse's cost on the hot path.
func isDate(s string) bool {
	if len(s) != 10 || s[4] != '-' || s[7] != '-' {
		return false
	}
	n := func(a, b int) int {
		v := 0
		for i := a; i < b; i++ {
			c := s[i]
			if c < '0' || c > '9' {
				return -1
			}
			v = v*10 + int(c-'0')
		}
		return v
	}
	y, m, d := n(0, 4), n(5, 7), n(8, 10)
	if y < 0 || m < 1 || m > 12 || d < 1 {
		return false
	}
	days := [13]int{0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31}[m]
	if m == 2 && (y%4 == 0 && y%100 != 0 || y%400 == 0) {
		days = 29
	}
	return d <= days
}

// batch is a run of rows read ahead of the checks.
type batch struct {
	n      int
	lines  []int64
	values []table.Value
	errs   []*table.RowError
}

const batchRows = 1024

var batchPool sync.Pool

func readBatches(r table.Reader, width int) (<-chan *batch, <-chan error) {
	out := make(chan *batch, 4)
	errc := make(chan error, 1)
	go func() {
		defer close(out)
		for {
			b, _ := batchPool.Get().(*batch)
			if b == nil || len(b.values) != batchRows*width {
				b = &batch{lines: make([]int64, batchRows), values: make([]table.Value, batchRows*width), errs: make([]*table.RowError, batchRows)}
			}
			b.n = 0
			for b.n < batchRows {
				row, err := r.Next()
				if err == io.EOF {
					if b.n > 0 {
						out <- b
					}
					errc <- nil
					return
				}
				var re *table.RowError
				if errors.As(err, &re) {
					b.errs[b.n] = re
					b.n++
					continue
				}
				if err != nil {
					errc <- err
					return
				}
				b.errs[b.n] = nil
				b.lines[b.n] = row.Line
				copy(b.values[b.n*width:], row.Values)
				b.n++
			}
			out <- b
		}
	}()
	return out, errc
}
