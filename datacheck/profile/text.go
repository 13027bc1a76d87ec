package profile

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/modelgate/modelgate/datacheck/table"
	"github.com/modelgate/modelgate/datacheck/textfeat"
)

// ErrNoColumn is wrapped by TextFile's error for a column the file lacks.
var ErrNoColumn = errors.New("no column")

// TextFile profiles the text features (package textfeat) of one column of
// the data file at path, rather than the columns themselves: the baseline
// of a chat route's live drift watch, made from the prompts it was meant
// for. The profile records the feature set and the column.
func TextFile(path, column string) (*Profile, error) {
	r, err := table.Open(path)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	i := slices.Index(r.Columns(), column)
	if i < 0 {
		return nil, fmt.Errorf("%s: %w %q (the columns are %s)", path, ErrNoColumn, column, strings.Join(r.Columns(), ", "))
	}
	p, err := Build(&textReader{r: r, col: i})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	p.Features, p.Source = textfeat.Version, column
	return p, nil
}

// textReader reads a table's rows as the text features of one column;
// rows whose value is null are left out.
type textReader struct {
	r   table.Reader
	col int
	row table.Row
	f   [textfeat.N]float64
}

func (t *textReader) Columns() []string { return textfeat.Names }
func (t *textReader) Close() error      { return t.r.Close() }

func (t *textReader) Next() (*table.Row, error) {
	for {
		row, err := t.r.Next()
		if err != nil {
			return nil, err
		}
		if t.col >= len(row.Values) || row.Values[t.col].Null {
			continue
		}
		textfeat.Extract(row.Values[t.col].Text, &t.f)
		if t.row.Values == nil {
			t.row.Values = make([]table.Value, textfeat.N)
		}
		t.row.Line = row.Line
		for i, v := range t.f {
			t.row.Values[i] = table.Value{Text: textfeat.Format(v), JSON: 'n'}
		}
		return &t.row, nil
	}
}
