package table

import (
	"bufio"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"unicode/utf8"
)

// CSVReader reads CSV with a header row. Empty fields are null.
type CSVReader struct {
	r       *csv.Reader
	c       io.Closer
	columns []string
	row     Row
}

// NewCSV reads CSV from r; comma is the separator (',' by default).
func NewCSV(r io.Reader, comma rune) (*CSVReader, error) {
	cr := csv.NewReader(bufio.NewReaderSize(r, 256<<10))
	if comma != 0 {
		cr.Comma = comma
	}
	cr.FieldsPerRecord = -1 // ragged rows are reported per row, not fatal
	cr.ReuseRecord = true
	cr.LazyQuotes = false
	header, err := cr.Read()
	if err == io.EOF {
		return nil, errors.New("the file is empty: no header row")
	}
	if err != nil {
		return nil, fmt.Errorf("header: %w", err)
	}
	cols := make([]string, len(header))
	seen := map[string]bool{}
	for i, h := range header {
		if !utf8.ValidString(h) {
			return nil, fmt.Errorf("line 1: column %d's name is not UTF-8", i+1)
		}
		if i == 0 {
			h = trimBOM(h)
		}
		if seen[h] {
			return nil, fmt.Errorf("line 1: column %q appears twice", h)
		}
		seen[h] = true
		cols[i] = h
	}
	c, _ := r.(io.Closer)
	return &CSVReader{r: cr, c: c, columns: cols, row: Row{Values: make([]Value, len(cols))}}, nil
}

func trimBOM(s string) string {
	if len(s) >= 3 && s[:3] == "\xef\xbb\xbf" {
		return s[3:]
	}
	return s
}

// Columns returns the header's names.
func (c *CSVReader) Columns() []string { return c.columns }

// Next returns the next row.
func (c *CSVReader) Next() (*Row, error) {
	rec, err := c.r.Read()
	if err != nil {
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			return nil, &RowError{Line: int64(pe.StartLine), Msg: pe.Err.Error()}
		}
		return nil, err
	}
	line, _ := c.r.FieldPos(0) // a record always has a field
	if len(rec) != len(c.columns) {
		return nil, &RowError{Line: int64(line), Msg: fmt.Sprintf("%d fields, the header has %d", len(rec), len(c.columns))}
	}
	c.row.Line = int64(line)
	for i, f := range rec {
		if !utf8.ValidString(f) {
			return nil, &RowError{Line: int64(line), Msg: fmt.Sprintf("column %q is not UTF-8", c.columns[i])}
		}
		c.row.Values[i] = Value{Text: f, Null: f == ""}
	}
	return &c.row, nil
}

// Close closes the underlying reader if it is a Closer.
func (c *CSVReader) Close() error {
	if c.c != nil {
		return c.c.Close()
	}
	return nil
}
