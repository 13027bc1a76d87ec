package inventory

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/modelgate/modelgate/finding"
)

func TestCompare(t *testing.T) {
	dir := t.TempDir()
	model := write(t, dir, "m/model.safetensors", safetensors(t, map[string][]int64{"w": {2, 2}}, 8))
	data := write(t, dir, "d/data.csv", []byte("a,b\n1,2\n"))
	write(t, dir, "app/main.py", []byte("import ollama\nollama.chat(model=\"llama3.1\")\n"))
	old := scan(t, nil, dir)
	if d := Compare(old, scan(t, nil, dir)); !d.Empty() || d.Fails(finding.Info) {
		t.Fatalf("two scans of an unchanged tree differ: %+v", d)
	}

	write(t, dir, "m/model.safetensors", safetensors(t, map[string][]int64{"w": {2, 3}}, 12))
	os.Remove(data)
	write(t, dir, "new/model.pkl", pickleProto4)
	write(t, dir, "app/.env", []byte("ANTHROPIC_API_KEY="+key("sk-ant-api03-", 93, alnum)+"AA\n"))
	d := Compare(old, scan(t, nil, dir))

	if len(d.Removed) != 1 || d.Removed[0].Path != data {
		t.Errorf("removed %+v", d.Removed)
	}
	added := map[Kind]bool{}
	for _, a := range d.Added {
		added[a.Kind] = true
	}
	if len(d.Added) != 2 || !added[KindModel] || !added[KindKey] {
		t.Errorf("added %+v", d.Added)
	}
	if len(d.Changed) != 1 || d.Changed[0].Asset.Path != model || d.Changed[0].What[0] != "content" {
		t.Errorf("changed %+v", d.Changed)
	}
	if !d.Fails(finding.High) {
		t.Error("a new AI key does not fail the diff at high")
	}
	if d.Fails(finding.Critical) {
		t.Error("the diff fails at critical with no critical finding")
	}
	// The key is new in the diff's findings, by rule.
	found := false
	for _, f := range d.NewFindings {
		found = found || f.Finding.RuleID == "INV-AI-KEY" && filepath.Base(f.Path) == ".env"
	}
	if !found {
		t.Errorf("new findings %+v", d.NewFindings)
	}
}
