// Package table reads tabular data (CSV, JSON lines, Parquet) as a stream
// of rows of text values, each with the line it came from, so that every
// check downstream can name the line of a failing value. A broken row (a
// ragged CSV record, a line that is not a JSON object, text that is not
// UTF-8) is reported as a RowError and reading goes on.
package table

import (
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"
)

// Value is one cell: its text, or null.
type Value struct {
	Text string
	Null bool
	// JSON is the kind of a JSON lines value that is not a string: 'n' a
	// number, 't' or 'f' a boolean, '{' or '[' nested (Text holds its
	// JSON). Zero for strings and for every CSV value.
	JSON byte
}

// Row is one record.
type Row struct {
	// Line is the line (CSV, JSONL) or row number (Parquet), from 1.
	Line   int64
	Values []Value // in the order of Columns
}

// Reader reads rows until io.EOF. The Values of a row are valid until the
// next call to Next.
type Reader interface {
	Columns() []string
	Next() (*Row, error)
	Close() error
}

// RowError is a row that could not be read; Next returns it and the reader
// can go on.
type RowError struct {
	Line int64  `json:"line"`
	Msg  string `json:"error"`
}

func (e *RowError) Error() string { return fmt.Sprintf("line %d: %s", e.Line, e.Msg) }

// Unreadable counts the rows of a table that could not be read, and keeps
// the first few, so that a report built from the readable rows says what
// it left out. The zero value is ready to use.
type Unreadable struct {
	Count int64       `json:"count"`
	First []*RowError `json:"first,omitempty"` // at most MaxUnreadableKept
}

// MaxUnreadableKept is how many unreadable rows a report names.
const MaxUnreadableKept = 10

// Add counts one unreadable row.
func (u *Unreadable) Add(e *RowError) {
	u.Count++
	if len(u.First) < MaxUnreadableKept {
		u.First = append(u.First, e)
	}
}

// Lines returns the line numbers of the rows kept, for a message.
func (u *Unreadable) Lines() []int64 {
	out := make([]int64, len(u.First))
	for i, e := range u.First {
		out[i] = e.Line
	}
	return out
}

// ErrFormat is returned for a file whose format is not known.
var ErrFormat = errors.New("unknown data format (want .csv, .jsonl, .ndjson or .parquet)")

// Format returns the format of a path by its extension.
func Format(path string) (string, error) {
	switch strings.ToLower(filepath.Ext(path)) {
	case ".csv", ".tsv":
		return "csv", nil
	case ".jsonl", ".ndjson":
		return "jsonl", nil
	case ".parquet":
		return "parquet", nil
	}
	return "", ErrFormat
}

// Each calls fn for every readable row of r, and skipped (if not nil) for
// every row that could not be read, until the end of the input or an error
// from fn or the reader.
func Each(r Reader, fn func(*Row) error, skipped func(*RowError)) error {
	for {
		row, err := r.Next()
		if err == io.EOF {
			return nil
		}
		var re *RowError
		if errors.As(err, &re) {
			if skipped != nil {
				skipped(re)
			}
			continue
		}
		if err != nil {
			return err
		}
		if err := fn(row); err != nil {
			return err
		}
	}
}
