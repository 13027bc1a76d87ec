// Package contract checks data against a data contract: the schema and
// quality rules of the Open Data Contract Standard (ODCS) v3 that matter
// at ingestion: types, required, unique, patterns, valid values, ranges,
// and the quality metrics nullValues, missingValues, invalidValues,
// duplicateValues and rowCount with their mustBe… operators.
package contract

import (
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Contract is a parsed data contract.
type Contract struct {
	ID      string
	Columns []*Column
	// Quality holds the dataset-level rules (rowCount).
	Quality []*Quality
}

// Column is one property of the contract's schema.
type Column struct {
	Name        string
	LogicalType string // string, integer, number, boolean, date, timestamp, object, array; "" for any
	Required    bool
	Unique      bool
	Pattern     *regexp.Regexp
	Enum        []string
	Minimum     *float64
	Maximum     *float64
	Quality     []*Quality
}

// Quality is one quality rule.
type Quality struct {
	Metric string // nullValues, missingValues, invalidValues, duplicateValues, rowCount
	// Missing lists the values that count as missing (missingValues);
	// null always does.
	Missing []string
	// Valid lists the valid values (invalidValues); with Pattern, the
	// valid shape.
	Valid   []string
	Pattern *regexp.Regexp
	Op      string // mustBe, mustNotBe, mustBeLessThan, …
	Args    []float64
	Percent bool // unit: percent (of rows), else rows
	Where   string
}

type file struct {
	APIVersion string `yaml:"apiVersion"`
	Kind       string `yaml:"kind"`
	ID         string `yaml:"id"`
	Schema     []struct {
		Name       string        `yaml:"name"`
		Quality    []qualityFile `yaml:"quality"`
		Properties []struct {
			Name               string         `yaml:"name"`
			LogicalType        string         `yaml:"logicalType"`
			PhysicalType       string         `yaml:"physicalType"`
			Description        string         `yaml:"description"`
			Required           bool           `yaml:"required"`
			Unique             bool           `yaml:"unique"`
			PrimaryKey         bool           `yaml:"primaryKey"`
			Pattern            string         `yaml:"pattern"`
			Enum               []string       `yaml:"enum"`
			Minimum            *float64       `yaml:"minimum"`
			Maximum            *float64       `yaml:"maximum"`
			LogicalTypeOptions map[string]any `yaml:"logicalTypeOptions"`
			Quality            []qualityFile  `yaml:"quality"`
			Classification     string         `yaml:"classification"`
			Examples           []any          `yaml:"examples"`
			Tags               []string       `yaml:"tags"`
		} `yaml:"properties"`
	} `yaml:"schema"`
}

type qualityFile struct {
	Type        string         `yaml:"type"`
	Metric      string         `yaml:"metric"`
	Rule        string         `yaml:"rule"` // ODCS v3.0 spelling of metric
	Description string         `yaml:"description"`
	Arguments   map[string]any `yaml:"arguments"`
	Unit        string         `yaml:"unit"`

	MustBe                 *float64  `yaml:"mustBe"`
	MustNotBe              *float64  `yaml:"mustNotBe"`
	MustBeLessThan         *float64  `yaml:"mustBeLessThan"`
	MustBeLessOrEqualTo    *float64  `yaml:"mustBeLessOrEqualTo"`
	MustBeGreaterThan      *float64  `yaml:"mustBeGreaterThan"`
	MustBeGreaterOrEqualTo *float64  `yaml:"mustBeGreaterOrEqualTo"`
	MustBeBetween          []float64 `yaml:"mustBeBetween"`
	MustNotBeBetween       []float64 `yaml:"mustNotBeBetween"`
}

// Load reads a contract file.
func Load(path string) (*Contract, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return Parse(path, b)
}

// Parse reads a contract; name labels errors.
func Parse(name string, b []byte) (*Contract, error) {
	var f file
	dec := yaml.NewDecoder(strings.NewReader(string(b)))
	dec.KnownFields(false) // ODCS has many keys this checker does not use
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("%s: %v", name, err)
	}
	if len(f.Schema) == 0 {
		return nil, fmt.Errorf("%s: no schema[]: the contract describes no table", name)
	}
	if len(f.Schema) > 1 {
		return nil, fmt.Errorf("%s: schema has %d tables; check one table per file", name, len(f.Schema))
	}
	c := &Contract{ID: f.ID}
	s := f.Schema[0]
	fail := func(where, format string, args ...any) error {
		return fmt.Errorf("%s: %s: %s", name, where, fmt.Sprintf(format, args...))
	}
	for i, q := range s.Quality {
		where := fmt.Sprintf("schema[0].quality[%d]", i)
		qq, err := parseQuality(q, where)
		if err != nil {
			return nil, fail(where, "%v", err)
		}
		if qq.Metric != "rowCount" {
			return nil, fail(where, "only rowCount applies to a whole table; %s belongs on a property", qq.Metric)
		}
		c.Quality = append(c.Quality, qq)
	}
	seen := map[string]bool{}
	for i, p := range s.Properties {
		where := fmt.Sprintf("schema[0].properties[%d]", i)
		if p.Name == "" {
			return nil, fail(where+".name", "is required")
		}
		if seen[p.Name] {
			return nil, fail(where+".name", "%q appears twice", p.Name)
		}
		seen[p.Name] = true
		col := &Column{Name: p.Name, LogicalType: p.LogicalType, Required: p.Required, Unique: p.Unique || p.PrimaryKey, Enum: p.Enum,
			Minimum: p.Minimum, Maximum: p.Maximum}
		switch col.LogicalType {
		case "", "string", "integer", "number", "boolean", "date", "timestamp", "object", "array":
		default:
			return nil, fail(where+".logicalType", "unknown type %q (want string, integer, number, boolean, date, timestamp, object or array)", p.LogicalType)
		}
		pattern := p.Pattern
		for k, v := range p.LogicalTypeOptions {
			switch k {
			case "pattern":
				pattern, _ = v.(string)
			case "minimum", "exclusiveMinimum":
				if f, ok := number(v); ok {
					col.Minimum = &f
				}
			case "maximum", "exclusiveMaximum":
				if f, ok := number(v); ok {
					col.Maximum = &f
				}
			}
		}
		if pattern != "" {
			re, err := regexp.Compile(pattern)
			if err != nil {
				return nil, fail(where+".pattern", "%v", err)
			}
			col.Pattern = re
		}
		for j, q := range p.Quality {
			qwhere := fmt.Sprintf("%s.quality[%d]", where, j)
			qq, err := parseQuality(q, qwhere)
			if err != nil {
				return nil, fail(qwhere, "%v", err)
			}
			if qq.Metric == "rowCount" {
				return nil, fail(qwhere, "rowCount applies to the table: put it under schema[0].quality")
			}
			col.Quality = append(col.Quality, qq)
		}
		c.Columns = append(c.Columns, col)
	}
	return c, nil
}

func number(v any) (float64, bool) {
	switch x := v.(type) {
	case int:
		return float64(x), true
	case float64:
		return x, true
	case string:
		f, err := strconv.ParseFloat(x, 64)
		return f, err == nil
	}
	return 0, false
}

func parseQuality(q qualityFile, where string) (*Quality, error) {
	metric := q.Metric
	if metric == "" {
		metric = q.Rule
	}
	out := &Quality{Metric: metric, Where: where}
	switch metric {
	case "nullValues", "duplicateValues", "rowCount":
	case "missingValues":
		for _, v := range asList(q.Arguments["missingValues"]) {
			out.Missing = append(out.Missing, v)
		}
	case "invalidValues":
		out.Valid = asList(q.Arguments["validValues"])
		if p, ok := q.Arguments["pattern"].(string); ok {
			re, err := regexp.Compile(p)
			if err != nil {
				return nil, fmt.Errorf("arguments.pattern: %v", err)
			}
			out.Pattern = re
		}
		if out.Valid == nil && out.Pattern == nil {
			return nil, fmt.Errorf("invalidValues needs arguments.validValues or arguments.pattern")
		}
	case "":
		return nil, fmt.Errorf("metric is required (nullValues, missingValues, invalidValues, duplicateValues or rowCount)")
	default:
		return nil, fmt.Errorf("unknown metric %q (want nullValues, missingValues, invalidValues, duplicateValues or rowCount)", metric)
	}
	switch q.Unit {
	case "", "rows":
	case "percent":
		out.Percent = true
	default:
		return nil, fmt.Errorf("unit must be rows or percent, got %q", q.Unit)
	}
	ops := 0
	set := func(op string, args ...float64) {
		ops++
		out.Op, out.Args = op, args
	}
	for _, c := range []struct {
		op string
		v  *float64
	}{{"mustBe", q.MustBe}, {"mustNotBe", q.MustNotBe}, {"mustBeLessThan", q.MustBeLessThan}, {"mustBeLessOrEqualTo", q.MustBeLessOrEqualTo},
		{"mustBeGreaterThan", q.MustBeGreaterThan}, {"mustBeGreaterOrEqualTo", q.MustBeGreaterOrEqualTo}} {
		if c.v != nil {
			set(c.op, *c.v)
		}
	}
	for _, c := range []struct {
		op string
		v  []float64
	}{{"mustBeBetween", q.MustBeBetween}, {"mustNotBeBetween", q.MustNotBeBetween}} {
		if c.v != nil {
			if len(c.v) != 2 || c.v[0] > c.v[1] {
				return nil, fmt.Errorf("%s needs [low, high]", c.op)
			}
			set(c.op, c.v...)
		}
	}
	switch {
	case ops == 0 && metric == "rowCount":
		return nil, fmt.Errorf("rowCount needs an operator such as mustBeGreaterThan")
	case ops == 0:
		set("mustBe", 0) // no threshold: none allowed
	case ops > 1:
		return nil, fmt.Errorf("give one operator, not %d", ops)
	}
	return out, nil
}

func asList(v any) []string {
	items, ok := v.([]any)
	if !ok {
		return nil
	}
	out := make([]string, 0, len(items))
	for _, it := range items {
		if it == nil {
			continue // null is always missing
		}
		out = append(out, fmt.Sprint(it))
	}
	return out
}

// Holds reports whether an observed value meets the rule's operator.
func (q *Quality) Holds(v float64) bool {
	a := q.Args
	switch q.Op {
	case "mustBe":
		return v == a[0]
	case "mustNotBe":
		return v != a[0]
	case "mustBeLessThan":
		return v < a[0]
	case "mustBeLessOrEqualTo":
		return v <= a[0]
	case "mustBeGreaterThan":
		return v > a[0]
	case "mustBeGreaterOrEqualTo":
		return v >= a[0]
	case "mustBeBetween":
		return v >= a[0] && v <= a[1]
	case "mustNotBeBetween":
		return v < a[0] || v > a[1]
	}
	return false
}

// Expect describes the operator for people: "< 5 %".
func (q *Quality) Expect() string {
	unit := " rows"
	if q.Percent {
		unit = " %"
	}
	a := q.Args
	f := func(x float64) string { return strconv.FormatFloat(x, 'g', -1, 64) }
	switch q.Op {
	case "mustBe":
		return "= " + f(a[0]) + unit
	case "mustNotBe":
		return "≠ " + f(a[0]) + unit
	case "mustBeLessThan":
		return "< " + f(a[0]) + unit
	case "mustBeLessOrEqualTo":
		return "≤ " + f(a[0]) + unit
	case "mustBeGreaterThan":
		return "> " + f(a[0]) + unit
	case "mustBeGreaterOrEqualTo":
		return "≥ " + f(a[0]) + unit
	case "mustBeBetween":
		return "between " + f(a[0]) + " and " + f(a[1]) + unit
	case "mustNotBeBetween":
		return "not between " + f(a[0]) + " and " + f(a[1]) + unit
	}
	return q.Op
}
