package table

import (
	"errors"
	"io"
	"strconv"
	"strings"
	"testing"
)

type got struct {
	rows []string // line:values joined by |, nulls as ∅
	errs []string // line:message
}

func drain(t *testing.T, r Reader) got {
	t.Helper()
	var g got
	for {
		row, err := r.Next()
		if err == io.EOF {
			return g
		}
		var re *RowError
		if errors.As(err, &re) {
			g.errs = append(g.errs, re.Error())
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		var vs []string
		for _, v := range row.Values {
			if v.Null {
				vs = append(vs, "∅")
			} else {
				vs = append(vs, v.Text)
			}
		}
		g.rows = append(g.rows, strings.Join(append([]string{itoa(row.Line)}, vs...), "|"))
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func TestCSV(t *testing.T) {
	in := "\xef\xbb\xbfid,name,score\n1,ann,3.5\n2,,4\n3,\"bo, jr\",\n4,x\n5,\xff,1\n6,\"multi\nline\",2\n7,bad\"quote,1\n8,ok,9\n"
	r, err := NewCSV(strings.NewReader(in), 0)
	if err != nil {
		t.Fatal(err)
	}
	if cols := strings.Join(r.Columns(), ","); cols != "id,name,score" {
		t.Fatalf("columns %q (the BOM must go)", cols)
	}
	g := drain(t, r)
	want := []string{"2|1|ann|3.5", "3|2|∅|4", "4|3|bo, jr|∅", "7|6|multi\nline|2", "10|8|ok|9"}
	if strings.Join(g.rows, ";") != strings.Join(want, ";") {
		t.Errorf("rows %q\nwant %q", g.rows, want)
	}
	if len(g.errs) != 3 || !strings.HasPrefix(g.errs[0], "line 5:") || !strings.HasPrefix(g.errs[1], "line 6:") || !strings.HasPrefix(g.errs[2], "line 9:") {
		t.Errorf("errors %q", g.errs)
	}
	if _, err := NewCSV(strings.NewReader(""), 0); err == nil {
		t.Error("an empty file has no header")
	}
	if _, err := NewCSV(strings.NewReader("a,a\n1,2\n"), 0); err == nil {
		t.Error("a duplicate column passed")
	}
}

func TestJSONL(t *testing.T) {
	in := `{"id": 1, "name": "ann", "tags": ["a", "b"], "ok": true}
{"id": 2, "name": null}

{"id": 3, "name": "b\u00f8", "extra": 1}
not json
{"id": 4, "name": "x"} {"id": 5}
{"id": "6", "name": "z\"q", "tags": {"k": 1}, "ok": false}
`
	r, err := NewJSONL(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	if cols := strings.Join(r.Columns(), ","); cols != "id,name,tags,ok" {
		t.Fatalf("columns %q", cols)
	}
	g := drain(t, r)
	want := []string{`1|1|ann|["a", "b"]|true`, `2|2|∅|∅|∅`, `7|6|z"q|{"k": 1}|false`}
	if strings.Join(g.rows, ";") != strings.Join(want, ";") {
		t.Errorf("rows %q\nwant %q", g.rows, want)
	}
	if len(g.errs) != 3 || !strings.HasPrefix(g.errs[0], "line 4:") || !strings.HasPrefix(g.errs[1], "line 5:") || !strings.HasPrefix(g.errs[2], "line 6:") {
		t.Errorf("errors %q", g.errs)
	}
	if _, err := NewJSONL(strings.NewReader("[1,2]\n")); err == nil {
		t.Error("a first line that is not an object passed")
	}
}
