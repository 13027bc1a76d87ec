package contract

import (
	"math"
	"strings"
	"testing"

	"github.com/modelgate/modelgate/datacheck/table"
)

const orders = `
apiVersion: v3.0.2
kind: DataContract
id: orders
schema:
  - name: orders
    quality:
      - metric: rowCount
        mustBeGreaterThan: 5
    properties:
      - name: id
        logicalType: integer
        required: true
        unique: true
      - name: email
        logicalType: string
        logicalTypeOptions: {pattern: '^[^@]+@[^@]+$'}
        quality:
          - metric: nullValues
            mustBeLessThan: 20
            unit: percent
      - name: status
        quality:
          - metric: invalidValues
            arguments: {validValues: [new, paid, shipped]}
            mustBe: 0
          - metric: missingValues
            arguments: {missingValues: [null, '', 'N/A']}
            mustBeLessOrEqualTo: 1
      - name: amount
        logicalType: number
        minimum: 0
        maximum: 100
      - name: ref
        quality:
          - metric: duplicateValues
            mustBeBetween: [0, 1]
      - name: day
        logicalType: date
        enum: ['2024-01-01', '2024-01-02']
`

const data = `id,email,status,amount,ref,day
1,a@x.io,new,10,r1,2024-01-01
2,,paid,100,r2,2024-01-02
3,bad-email,N/A,-1,r1,2024-01-01
3,c@x.io,lost,abc,r1,2024-13-01
5,e@x.io,shipped,50.5,r5,2024-01-02
x,f@x.io,new,0,r6,2024-01-01
7,g@x.io,new,1
`

func validate(t *testing.T, contract, csv string) *Report {
	t.Helper()
	c, err := Parse("test.yaml", []byte(contract))
	if err != nil {
		t.Fatal(err)
	}
	r, err := table.NewCSV(strings.NewReader(csv), 0)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := Validate(c, r)
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

func TestValidate(t *testing.T) {
	rep := validate(t, orders, data)
	got := map[string]Result{}
	for _, r := range rep.Results {
		got[r.Column+"/"+r.Rule] = r
	}
	// Counted by hand from the data above (6 readable rows; line 8 is
	// ragged).
	want := map[string]struct {
		pass     bool
		observed float64
		lines    []int64
	}{
		"/readable":            {false, 1, []int64{8}},
		"id/type":              {false, 1, []int64{7}},
		"id/required":          {true, 0, nil},
		"id/unique":            {false, 1, []int64{5}},
		"email/pattern":        {false, 1, []int64{4}},
		"email/nullValues":     {true, 100.0 / 6, []int64{3}},
		"status/invalidValues": {false, 2, []int64{4, 5}},
		"status/missingValues": {true, 1, []int64{4}},
		"amount/type":          {false, 1, []int64{5}},
		"amount/range":         {false, 2, []int64{4, 5}},
		"ref/duplicateValues":  {false, 2, []int64{4, 5}},
		"day/type":             {false, 1, []int64{5}},
		"day/enum":             {false, 1, []int64{5}},
		"/rowCount":            {true, 6, nil},
	}
	for key, w := range want {
		r, ok := got[key]
		if !ok {
			t.Errorf("%s: no result", key)
			continue
		}
		var lines []int64
		for _, f := range r.Sample {
			lines = append(lines, f.Line)
		}
		if r.Pass != w.pass || math.Abs(r.Observed-w.observed) > 1e-6 || !equal(lines, w.lines) {
			t.Errorf("%s: pass %v observed %v lines %v; want %v %v %v", key, r.Pass, r.Observed, lines, w.pass, w.observed, w.lines)
		}
	}
	if rep.Pass || rep.Rows != 6 {
		t.Errorf("report pass %v rows %d", rep.Pass, rep.Rows)
	}
}

func equal(a, b []int64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestOperators(t *testing.T) {
	for _, tc := range []struct {
		op   string
		args []float64
		v    float64
		want bool
	}{
		{"mustBe", []float64{0}, 0, true}, {"mustBe", []float64{0}, 1, false},
		{"mustNotBe", []float64{0}, 1, true}, {"mustBeLessThan", []float64{5}, 5, false},
		{"mustBeLessOrEqualTo", []float64{5}, 5, true}, {"mustBeGreaterThan", []float64{5}, 5, false},
		{"mustBeGreaterOrEqualTo", []float64{5}, 5, true}, {"mustBeBetween", []float64{1, 3}, 3, true},
		{"mustBeBetween", []float64{1, 3}, 3.0001, false}, {"mustNotBeBetween", []float64{1, 3}, 2, false},
	} {
		q := &Quality{Op: tc.op, Args: tc.args}
		if got := q.Holds(tc.v); got != tc.want {
			t.Errorf("%s%v(%v) = %v", tc.op, tc.args, tc.v, got)
		}
	}
}

func TestBadContracts(t *testing.T) {
	for name, c := range map[string]string{
		"no schema":       "id: x\n",
		"bad type":        "schema:\n  - properties:\n      - name: a\n        logicalType: money\n",
		"bad pattern":     "schema:\n  - properties:\n      - name: a\n        pattern: '('\n",
		"unknown metric":  "schema:\n  - properties:\n      - name: a\n        quality:\n          - metric: vibes\n",
		"two operators":   "schema:\n  - properties:\n      - name: a\n        quality:\n          - metric: nullValues\n            mustBe: 0\n            mustBeLessThan: 1\n",
		"bad unit":        "schema:\n  - properties:\n      - name: a\n        quality:\n          - metric: nullValues\n            unit: bushels\n",
		"rowCount on col": "schema:\n  - properties:\n      - name: a\n        quality:\n          - metric: rowCount\n            mustBe: 1\n",
		"duplicate name":  "schema:\n  - properties:\n      - name: a\n      - name: a\n",
		"not yaml":        "schema: [\n",
	} {
		if _, err := Parse("c.yaml", []byte(c)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	// A column the contract names but the data lacks fails.
	rep := validate(t, "schema:\n  - properties:\n      - name: missing\n", "a\n1\n")
	if rep.Pass || rep.Results[0].Rule != "present" {
		t.Errorf("missing column: %+v", rep.Results)
	}
}

func TestIsDate(t *testing.T) {
	for s, want := range map[string]bool{"2024-02-29": true, "2023-02-29": false, "2000-02-29": true, "1900-02-29": false,
		"2024-13-01": false, "2024-04-31": false, "2024-1-01": false, "20x4-01-01": false, "2024-12-31": true} {
		if got := isDate(s); got != want {
			t.Errorf("isDate(%q) = %v", s, got)
		}
	}
	var hs hashSet
	const k uint64 = 0x9e3779b97f4a7c15
	for i := uint64(0); i < 10000; i++ {
		if hs.add(i * k) {
			t.Fatalf("%d reported as seen", i)
		}
	}
	if five := uint64(5); !hs.add(five * k) {
		t.Fatal("a repeat was not seen")
	}
}
