package mask

import (
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/modelgate/modelgate/datacheck/table"
	"github.com/parquet-go/parquet-go"
)

// ErrNoColumn is wrapped when an action names a column the data lacks.
var ErrNoColumn = fmt.Errorf("no such column")

// Result says what File wrote.
type Result struct {
	Rows       int64             // rows written
	Unreadable *table.Unreadable // rows left out because they could not be read
}

// File writes a masked copy of the table r (read from inPath) to outPath,
// in the same format: each column with an action has it applied, dropped
// columns are left out, the rest is copied. A row that cannot be read is
// left out of the copy, never copied unmasked, and counted.
func File(r table.Reader, inPath, outPath string, actions map[string]string, m *Masker) (Result, error) {
	var res Result
	cols := r.Columns()
	for c := range actions {
		if !slices.Contains(cols, c) {
			return res, fmt.Errorf("%s: %w %q", inPath, ErrNoColumn, c)
		}
	}
	var keep []int
	var outCols []string
	for i, c := range cols {
		if actions[c] != Drop {
			keep = append(keep, i)
			outCols = append(outCols, c)
		}
	}
	format, err := table.Format(inPath)
	if err != nil {
		return res, err
	}
	f, err := os.Create(outPath)
	if err != nil {
		return res, err
	}
	defer f.Close()
	var w table.Writer
	if pr, ok := r.(*table.ParquetReader); ok {
		// Masked columns become strings; the others keep their types.
		var kinds []parquet.Kind
		for _, i := range keep {
			k := pr.Kinds()[i]
			if actions[cols[i]] != "" {
				k = parquet.ByteArray
			}
			kinds = append(kinds, k)
		}
		w, err = table.NewParquetWriter(f, outCols, kinds)
	} else {
		comma := ','
		if strings.HasSuffix(strings.ToLower(inPath), ".tsv") {
			comma = '\t'
		}
		w, err = table.NewWriter(f, format, outCols, comma)
	}
	if err != nil {
		return res, err
	}
	vals := make([]table.Value, len(keep))
	var bad table.Unreadable
	err = table.Each(r, func(row *table.Row) error {
		for k, i := range keep {
			v := row.Values[i]
			if a := actions[cols[i]]; a != "" && !v.Null {
				text, err := m.Apply(a, v.Text)
				if err != nil {
					return err
				}
				v = table.Value{Text: text}
			}
			vals[k] = v
		}
		if err := w.Write(vals); err != nil {
			return err
		}
		res.Rows++
		return nil
	}, bad.Add)
	if bad.Count > 0 {
		res.Unreadable = &bad
	}
	if err != nil {
		return res, err
	}
	if err := w.Flush(); err != nil {
		return res, err
	}
	return res, f.Close()
}
