package profile

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/modelgate/modelgate/datacheck/textfeat"
)

// TestTextFile: a profile of text features holds each prompt's features
// exactly as textfeat computes them live (a rounded baseline would set
// its ties apart), skips null prompts, and names a missing column.
func TestTextFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "p.jsonl")
	os.WriteFile(path, []byte(`{"prompt": "What is seven divided by twenty-three, roughly?"}
{"prompt": null}
{"prompt": "Résume ce texte en trois phrases."}
`), 0o644)
	p, err := TextFile(path, "prompt")
	if err != nil {
		t.Fatal(err)
	}
	if p.Features != textfeat.Version || p.Source != "prompt" || p.Rows != 2 || len(p.Columns) != textfeat.N {
		t.Fatalf("profile: features %q source %q rows %d columns %d", p.Features, p.Source, p.Rows, len(p.Columns))
	}
	var f [textfeat.N]float64
	textfeat.Extract("What is seven divided by twenty-three, roughly?", &f)
	for i, name := range textfeat.Names {
		if c := p.Column(name); c == nil || c.Kind != Numeric || !slices.Contains(c.Sample, f[i]) {
			t.Errorf("%s: %+v lacks %v exactly", name, c, f[i])
		}
	}
	if _, err := TextFile(path, "text"); !errors.Is(err, ErrNoColumn) {
		t.Errorf("a missing column: %v", err)
	}
}
