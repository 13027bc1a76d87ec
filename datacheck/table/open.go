package table

import (
	"fmt"
	"os"
	"strings"
)

// Open opens a data file by its extension: CSV (.csv, and .tsv with tabs),
// JSON lines (.jsonl, .ndjson) or Parquet.
func Open(path string) (Reader, error) {
	format, err := Format(path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if format == "parquet" {
		r, err := OpenParquet(path)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		return r, nil
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	var r Reader
	switch format {
	case "csv":
		comma := ','
		if strings.HasSuffix(strings.ToLower(path), ".tsv") {
			comma = '\t'
		}
		r, err = NewCSV(f, comma)
	default:
		r, err = NewJSONL(f)
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return r, nil
}
