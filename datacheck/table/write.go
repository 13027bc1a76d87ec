package table

import (
	"bufio"
	"encoding/csv"
	"io"

	"github.com/go-json-experiment/json/jsontext"
)

// Writer writes rows in a table format.
type Writer interface {
	Write(values []Value) error
	Flush() error
}

// NewWriter returns a writer of format ("csv" or "jsonl") that writes the
// header (CSV) at once.
func NewWriter(w io.Writer, format string, columns []string, comma rune) (Writer, error) {
	if format == "jsonl" {
		return &jsonlWriter{w: bufio.NewWriterSize(w, 256<<10), columns: columns}, nil
	}
	cw := csv.NewWriter(w)
	if comma != 0 {
		cw.Comma = comma
	}
	if err := cw.Write(columns); err != nil {
		return nil, err
	}
	return &csvWriter{w: cw, rec: make([]string, len(columns))}, nil
}

type csvWriter struct {
	w   *csv.Writer
	rec []string
}

func (c *csvWriter) Write(values []Value) error {
	for i, v := range values {
		c.rec[i] = v.Text
		if v.Null {
			c.rec[i] = ""
		}
	}
	return c.w.Write(c.rec)
}

func (c *csvWriter) Flush() error {
	c.w.Flush()
	return c.w.Error()
}

type jsonlWriter struct {
	w       *bufio.Writer
	columns []string
	buf     []byte
}

// Write writes one object: strings quoted, numbers, booleans and nested
// values as they were read, nulls as null.
func (j *jsonlWriter) Write(values []Value) error {
	b := append(j.buf[:0], '{')
	for i, v := range values {
		if i > 0 {
			b = append(b, ',')
		}
		var err error
		if b, err = jsontext.AppendQuote(b, j.columns[i]); err != nil {
			return err
		}
		b = append(b, ':')
		switch {
		case v.Null:
			b = append(b, "null"...)
		case v.JSON != 0:
			b = append(b, v.Text...)
		default:
			if b, err = jsontext.AppendQuote(b, v.Text); err != nil {
				return err
			}
		}
	}
	b = append(b, '}', '\n')
	j.buf = b
	_, err := j.w.Write(b)
	return err
}

func (j *jsonlWriter) Flush() error { return j.w.Flush() }
