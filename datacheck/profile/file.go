package profile

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/modelgate/modelgate/datacheck/table"
)

// File profiles the data file at path (CSV, TSV, JSON lines, Parquet).
func File(path string) (*Profile, error) {
	r, err := table.Open(path)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	p, err := Build(r)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return p, nil
}

// ErrNotAProfile is wrapped by Load's errors for files that are not
// profiles.
var ErrNotAProfile = fmt.Errorf("not a profile written by data profile")

// Load reads a profile saved as JSON (a drift baseline).
func Load(path string) (*Profile, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	p := new(Profile)
	if err := json.Unmarshal(b, p); err != nil {
		return nil, fmt.Errorf("%s: %w: %v", path, ErrNotAProfile, err)
	}
	if p.Version != 1 {
		return nil, fmt.Errorf("%s: %w: version %d", path, ErrNotAProfile, p.Version)
	}
	return p, nil
}

// WriteUnreadable says, in a line, how many rows could not be read and
// where the first are; nothing when every row was read.
func WriteUnreadable(w io.Writer, u *table.Unreadable) error {
	if u == nil || u.Count == 0 {
		return nil
	}
	lines := make([]string, 0, len(u.First))
	for _, l := range u.Lines() {
		lines = append(lines, fmt.Sprint(l))
	}
	more := ""
	if u.Count > int64(len(u.First)) {
		more = ", …"
	}
	_, err := fmt.Fprintf(w, "warning: %d rows could not be read and were left out (lines %s%s): %s\n",
		u.Count, strings.Join(lines, ", "), more, u.First[0].Msg)
	return err
}
