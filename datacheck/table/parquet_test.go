package table

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/parquet-go/parquet-go"
)

type record struct {
	ID    int64   `parquet:"id"`
	Name  string  `parquet:"name"`
	Score float64 `parquet:"score"`
	Note  *string `parquet:"note,optional"`
	OK    bool    `parquet:"ok"`
}

func TestParquet(t *testing.T) {
	path := filepath.Join(t.TempDir(), "d.parquet")
	f, _ := os.Create(path)
	w := parquet.NewGenericWriter[record](f)
	note := "hi"
	w.Write([]record{{1, "ann", 3.5, &note, true}, {2, "bob", -1, nil, false}})
	w.Close()
	f.Close()
	r, err := OpenParquet(path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if got := strings.Join(r.Columns(), ","); got != "id,name,score,note,ok" {
		t.Fatalf("columns %q", got)
	}
	g := drain(t, r)
	want := []string{"1|1|ann|3.5|hi|true", "2|2|bob|-1|∅|false"}
	if strings.Join(g.rows, ";") != strings.Join(want, ";") {
		t.Errorf("rows %q, want %q", g.rows, want)
	}
	bad := filepath.Join(t.TempDir(), "bad.parquet")
	os.WriteFile(bad, []byte("PAR1 not really"), 0o644)
	if _, err := OpenParquet(bad); err == nil {
		t.Error("a broken file opened")
	}
}

func TestParquetWriter(t *testing.T) {
	path := filepath.Join(t.TempDir(), "out.parquet")
	f, _ := os.Create(path)
	w, err := NewParquetWriter(f, []string{"id", "email", "ok", "score"}, []parquet.Kind{parquet.Int64, parquet.ByteArray, parquet.Boolean, parquet.Double})
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]Value{{Text: "1"}, {Text: "a@b.c"}, {Text: "true"}, {Text: "2.5"}})
	w.Write([]Value{{Text: "2"}, {Null: true}, {Text: "false"}, {Null: true}})
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	f.Close()
	r, err := OpenParquet(path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	g := drain(t, r)
	cols := strings.Join(r.Columns(), ",")
	want := map[string]string{"email,id,ok,score": "1|a@b.c|1|true|2.5;2|∅|2|false|∅"}[cols]
	if want == "" || strings.Join(g.rows, ";") != want {
		t.Errorf("columns %s rows %q", cols, g.rows)
	}
}
