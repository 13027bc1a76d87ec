package table

import (
	"bytes"
	"errors"
	"io"
	"testing"
)

func readAll(r Reader) error {
	for n := 0; n < 1<<16; n++ {
		row, err := r.Next()
		if err == io.EOF {
			return nil
		}
		var re *RowError
		if errors.As(err, &re) {
			continue
		}
		if err != nil {
			return err
		}
		if len(row.Values) != len(r.Columns()) {
			return errors.New("row width differs from the columns")
		}
	}
	return nil
}

// FuzzCSV: any bytes are read without a panic, and every row has a value
// per column.
func FuzzCSV(f *testing.F) {
	f.Add([]byte("a,b\n1,2\n3\n\"x\ny\",\xff\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := NewCSV(bytes.NewReader(b), 0)
		if err != nil {
			return
		}
		if err := readAll(r); err != nil && !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Fatal(err)
		}
	})
}

// FuzzJSONL: any bytes are read without a panic, and every row has a
// value per column.
func FuzzJSONL(f *testing.F) {
	f.Add([]byte("{\"a\":1,\"b\":[1,{}]}\n{\"a\":\"\\u00e9\"}\nx\n{\"c\":1}\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := NewJSONL(bytes.NewReader(b))
		if err != nil {
			return
		}
		if err := readAll(r); err != nil {
			t.Fatal(err)
		}
	})
}
