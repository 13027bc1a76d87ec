package table

import (
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/parquet-go/parquet-go"
)

// ParquetReader reads the leaf columns of a Parquet file, row by row;
// nested columns are named by their dotted path. Row numbers stand in for
// line numbers.
type ParquetReader struct {
	f       *os.File
	r       *parquet.Reader
	columns []string
	kinds   []parquet.Kind
	buf     []parquet.Row
	n, i    int
	rowNum  int64
	row     Row
}

// OpenParquet opens a Parquet file.
func OpenParquet(path string) (*ParquetReader, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	info, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	pf, err := parquet.OpenFile(f, info.Size())
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("not a readable Parquet file: %w", err)
	}
	var cols []string
	var kinds []parquet.Kind
	for _, path := range pf.Schema().Columns() {
		cols = append(cols, strings.Join(path, "."))
		leaf, _ := pf.Schema().Lookup(path...)
		kinds = append(kinds, leaf.Node.Type().Kind())
	}
	pr := &ParquetReader{f: f, r: parquet.NewReader(f), columns: cols, kinds: kinds, buf: make([]parquet.Row, 256)}
	pr.row.Values = make([]Value, len(cols))
	return pr, nil
}

// Columns returns the leaf columns' paths.
func (p *ParquetReader) Columns() []string { return p.columns }

// Next returns the next row.
func (p *ParquetReader) Next() (*Row, error) {
	if p.i == p.n {
		n, err := p.r.ReadRows(p.buf)
		if n == 0 {
			if err == nil || errors.Is(err, io.EOF) {
				return nil, io.EOF
			}
			return nil, fmt.Errorf("row %d: %w", p.rowNum+1, err)
		}
		p.n, p.i = n, 0
	}
	pr := p.buf[p.i]
	p.i++
	p.rowNum++
	p.row.Line = p.rowNum
	for k := range p.row.Values {
		p.row.Values[k] = Value{Null: true}
	}
	for _, v := range pr {
		c := v.Column()
		if c < 0 || c >= len(p.row.Values) || v.IsNull() {
			continue
		}
		p.row.Values[c] = parquetValue(v)
	}
	return &p.row, nil
}

func parquetValue(v parquet.Value) Value {
	switch v.Kind() {
	case parquet.Boolean:
		return Value{Text: strconv.FormatBool(v.Boolean()), JSON: map[bool]byte{true: 't', false: 'f'}[v.Boolean()]}
	case parquet.Int32, parquet.Int64:
		return Value{Text: strconv.FormatInt(v.Int64(), 10), JSON: 'n'}
	case parquet.Float:
		return Value{Text: strconv.FormatFloat(float64(v.Float()), 'g', -1, 32), JSON: 'n'}
	case parquet.Double:
		return Value{Text: strconv.FormatFloat(v.Double(), 'g', -1, 64), JSON: 'n'}
	}
	return Value{Text: string(v.ByteArray())}
}

// Close closes the file.
func (p *ParquetReader) Close() error { return p.f.Close() }

// Kinds returns each column's physical type.
func (p *ParquetReader) Kinds() []parquet.Kind { return p.kinds }

// parquetWriter writes flat rows: every column optional, typed boolean,
// int64, double or string.
type parquetWriter struct {
	w     *parquet.Writer
	kinds []parquet.Kind
	index []int // output column i is leaf index[i] of the schema
	row   parquet.Row
}

// NewParquetWriter writes columns of the given physical kinds (Boolean,
// Int64, Double or ByteArray for strings; other kinds are written as their
// nearest of these).
func NewParquetWriter(w io.Writer, columns []string, kinds []parquet.Kind) (Writer, error) {
	group := parquet.Group{}
	norm := make([]parquet.Kind, len(kinds))
	for i, name := range columns {
		var node parquet.Node
		switch kinds[i] {
		case parquet.Boolean:
			node, norm[i] = parquet.Leaf(parquet.BooleanType), parquet.Boolean
		case parquet.Int32, parquet.Int64:
			node, norm[i] = parquet.Int(64), parquet.Int64
		case parquet.Float, parquet.Double:
			node, norm[i] = parquet.Leaf(parquet.DoubleType), parquet.Double
		default:
			node, norm[i] = parquet.String(), parquet.ByteArray
		}
		group[name] = parquet.Optional(node)
	}
	schema := parquet.NewSchema("masked", group)
	pw := &parquetWriter{w: parquet.NewWriter(w, schema), kinds: norm, index: make([]int, len(columns))}
	for i, name := range columns {
		leaf, ok := schema.Lookup(name)
		if !ok {
			return nil, fmt.Errorf("column %q is missing from the output schema", name)
		}
		pw.index[i] = leaf.ColumnIndex
	}
	return pw, nil
}

func (p *parquetWriter) Write(values []Value) error {
	p.row = p.row[:0]
	for i, v := range values {
		col := p.index[i]
		if v.Null {
			p.row = append(p.row, parquet.NullValue().Level(0, 0, col))
			continue
		}
		var pv parquet.Value
		switch p.kinds[i] {
		case parquet.Boolean:
			b, err := strconv.ParseBool(v.Text)
			if err != nil {
				return fmt.Errorf("column %d: %q is not a boolean", i, v.Text)
			}
			pv = parquet.BooleanValue(b)
		case parquet.Int64:
			n, err := strconv.ParseInt(v.Text, 10, 64)
			if err != nil {
				return fmt.Errorf("column %d: %q is not an integer", i, v.Text)
			}
			pv = parquet.Int64Value(n)
		case parquet.Double:
			f, err := strconv.ParseFloat(v.Text, 64)
			if err != nil {
				return fmt.Errorf("column %d: %q is not a number", i, v.Text)
			}
			pv = parquet.DoubleValue(f)
		default:
			pv = parquet.ByteArrayValue([]byte(v.Text))
		}
		p.row = append(p.row, pv.Level(0, 1, col))
	}
	slices.SortFunc(p.row, func(a, b parquet.Value) int { return a.Column() - b.Column() })
	_, err := p.w.WriteRows([]parquet.Row{p.row})
	return err
}

func (p *parquetWriter) Flush() error { return p.w.Close() }
