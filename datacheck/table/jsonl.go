package table

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"slices"
	"unicode/utf8"

	"github.com/go-json-experiment/json/jsontext"
)

// JSONLReader reads JSON lines: one object per line. Columns are the
// member names of the first object; members that later objects add are
// reported as errors of those rows, members they lack are null. Nested
// values are kept as their JSON text.
type JSONLReader struct {
	sc      *bufio.Scanner
	c       io.Closer
	columns []string
	index   map[string]int
	line    int64
	row     Row
	pending []byte // the first line, read to learn the columns
}

// NewJSONL reads JSON lines from r.
func NewJSONL(r io.Reader) (*JSONLReader, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 256<<10), 64<<20)
	j := &JSONLReader{sc: sc}
	j.c, _ = r.(io.Closer)
	for sc.Scan() {
		j.line++
		if len(bytes.TrimSpace(sc.Bytes())) == 0 {
			continue
		}
		names, err := memberNames(sc.Bytes())
		if err != nil {
			return nil, fmt.Errorf("line %d: %v (the first object names the columns)", j.line, err)
		}
		j.columns = names
		j.index = make(map[string]int, len(names))
		for i, n := range names {
			j.index[n] = i
		}
		j.pending = append([]byte(nil), sc.Bytes()...)
		j.row.Values = make([]Value, len(names))
		return j, nil
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	return nil, errors.New("the file holds no JSON object")
}

func memberNames(b []byte) ([]string, error) {
	dec := jsontext.NewDecoder(bytes.NewReader(b))
	tok, err := dec.ReadToken()
	if err != nil || tok.Kind() != '{' {
		return nil, errors.New("not a JSON object")
	}
	var names []string
	for dec.PeekKind() != '}' {
		name, err := dec.ReadToken()
		if err != nil {
			return nil, err
		}
		names = append(names, name.String())
		if err := dec.SkipValue(); err != nil {
			return nil, err
		}
	}
	return names, nil
}

// Columns returns the first object's member names.
func (j *JSONLReader) Columns() []string { return j.columns }

// Next returns the next row.
func (j *JSONLReader) Next() (*Row, error) {
	var b []byte
	line := j.line
	if j.pending != nil {
		b, j.pending = j.pending, nil
	} else {
		for {
			if !j.sc.Scan() {
				if err := j.sc.Err(); err != nil {
					if errors.Is(err, bufio.ErrTooLong) {
						return nil, &RowError{Line: j.line + 1, Msg: "line longer than 64 MiB"}
					}
					return nil, err
				}
				return nil, io.EOF
			}
			j.line++
			if len(bytes.TrimSpace(j.sc.Bytes())) > 0 {
				break
			}
		}
		b, line = j.sc.Bytes(), j.line
	}
	j.row.Line = line
	for i := range j.row.Values {
		j.row.Values[i] = Value{Null: true}
	}
	if !utf8.Valid(b) {
		return nil, &RowError{Line: line, Msg: "not UTF-8"}
	}
	dec := jsontext.NewDecoder(bytes.NewReader(b))
	tok, err := dec.ReadToken()
	if err != nil || tok.Kind() != '{' {
		return nil, &RowError{Line: line, Msg: "not a JSON object"}
	}
	for dec.PeekKind() != '}' {
		name, err := dec.ReadToken()
		if err != nil {
			return nil, &RowError{Line: line, Msg: "invalid JSON: " + err.Error()}
		}
		key := name.String()
		i, ok := j.index[key]
		v, err := dec.ReadValue()
		if err != nil {
			return nil, &RowError{Line: line, Msg: "invalid JSON: " + err.Error()}
		}
		if !ok {
			return nil, &RowError{Line: line, Msg: fmt.Sprintf("member %q is not a column (the first object has %d)", key, len(j.columns))}
		}
		j.row.Values[i] = jsonValue(v)
	}
	if _, err := dec.ReadToken(); err != nil {
		return nil, &RowError{Line: line, Msg: "invalid JSON: " + err.Error()}
	}
	if _, err := dec.ReadToken(); err != io.EOF {
		return nil, &RowError{Line: line, Msg: "more than one JSON value on the line"}
	}
	return &j.row, nil
}

func jsonValue(v jsontext.Value) Value {
	switch v.Kind() {
	case 'n':
		return Value{Null: true}
	case '"':
		var s string
		if err := jsonUnquote(v, &s); err != nil {
			return Value{Text: string(v)}
		}
		return Value{Text: s}
	case 't':
		return Value{Text: "true", JSON: 't'}
	case 'f':
		return Value{Text: "false", JSON: 'f'}
	case '0':
		return Value{Text: string(v), JSON: 'n'}
	}
	return Value{Text: string(slices.Clone(v)), JSON: byte(v.Kind())}
}

func jsonUnquote(v jsontext.Value, out *string) error {
	dec := jsontext.NewDecoder(bytes.NewReader(v))
	tok, err := dec.ReadToken()
	if err != nil {
		return err
	}
	*out = tok.String()
	return nil
}

// Close closes the underlying reader if it is a Closer.
func (j *JSONLReader) Close() error {
	if j.c != nil {
		return j.c.Close()
	}
	return nil
}
