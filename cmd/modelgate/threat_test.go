package main

import (
	"encoding/json"
	"encoding/xml"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/modelgate/modelgate/config"
	"github.com/modelgate/modelgate/internal/sarifschema"
	"github.com/modelgate/modelgate/threat"
)

func TestThreatCLI(t *testing.T) {
	model := "../../threat/testdata/support.yaml"
	code, out, errOut := cli(t, "threat", "check", model, "--no-live")
	if code != 1 || !strings.Contains(out, "AI-LLM01-DIRECT") || !strings.Contains(out, "CRITICAL") {
		t.Fatalf("check: %d\n%s%s", code, out, errOut)
	}
	if code, _, _ := cli(t, "threat", "check", model, "--no-live", "--fail-on", "critical", "--format", "json"); code != 1 {
		t.Errorf("--fail-on critical with a critical open: exit %d", code)
	}
	code, out, _ = cli(t, "threat", "check", model, "--no-live", "--format", "json")
	var doc struct {
		Threats []struct {
			Threat struct{ ID string }
			Status string
		}
		Summary struct{ Findings int }
	}
	if code != 1 || json.Unmarshal([]byte(out), &doc) != nil || len(doc.Threats) == 0 || doc.Summary.Findings == 0 {
		t.Errorf("json: %d %.300s", code, out)
	}
	if code, out, _ = cli(t, "threat", "check", model, "--no-live", "--format", "sarif"); code != 1 || sarifschema.Validate([]byte(out)) != nil {
		t.Errorf("sarif: %d %v", code, sarifschema.Validate([]byte(out)))
	}
	if code, out, _ = cli(t, "threat", "check", model, "--no-live", "--format", "html"); code != 1 || !strings.Contains(out, "<svg") || !strings.Contains(out, "LLM01 (LLM Top 10 2025)") {
		t.Errorf("html: %d %.300s", code, out)
	}
	code, out, _ = cli(t, "threat", "diagram", model)
	if code != 0 || xml.Unmarshal([]byte(out), new(struct{})) != nil {
		t.Errorf("diagram: %d %.200s", code, out)
	}
	for _, f := range []string{"mermaid", "dot"} {
		if code, out, _ := cli(t, "threat", "diagram", model, "--format", f); code != 0 || out == "" {
			t.Errorf("diagram %s: %d", f, code)
		}
	}

	// A draft from declarations alone parses, and is never written over
	// an existing file.
	dir := t.TempDir()
	draft := filepath.Join(dir, "tm.yaml")
	if code, _, errOut := cli(t, "threat", "init", "--no-live", "--out", draft); code != 0 {
		t.Fatalf("init: %d %s", code, errOut)
	}
	f, _ := os.Open(draft)
	if _, err := threat.Parse(draft, f); err != nil {
		t.Errorf("the draft does not parse: %v", err)
	}
	f.Close()
	if code, _, _ := cli(t, "threat", "init", "--no-live", "--out", draft); code != 2 {
		t.Errorf("init over an existing file: exit %d", code)
	}

	// Bad input: a model that does not parse names the line; no data
	// directory says so.
	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(bad, []byte("system: {name: x}\nassets:\n  - {id: a, type: robot}\n"), 0o644)
	if code, _, errOut := cli(t, "threat", "check", bad, "--no-live"); code != 2 || !strings.Contains(errOut, "line 3") {
		t.Errorf("bad model: %d %s", code, errOut)
	}
	if code, _, errOut := cli(t, "threat", "check", model, "--data-dir", filepath.Join(dir, "none")); code != 2 || !strings.Contains(errOut, "--no-live") {
		t.Errorf("no data dir: %d %s", code, errOut)
	}
	if code, _, _ := cli(t, "threat", "library"); code != 0 {
		t.Errorf("library: exit %d", code)
	}
}

// TestDemoGatewayExample keeps examples/demo-gateway.yaml what the demo
// runs: the standard guards.
func TestDemoGatewayExample(t *testing.T) {
	file, err := config.LoadWith("../../examples/demo-gateway.yaml", config.Options{Offline: true})
	if err != nil {
		t.Fatal(err)
	}
	std, err := config.Parse("standard", []byte(config.StandardGuards))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(file.Guards, std.Guards) {
		t.Error("examples/demo-gateway.yaml's guards differ from config.StandardGuards, which the demo runs")
	}
	// The worked example of docs/threat-model.md parses, and its diagram
	// in docs is what the code draws from it.
	code, svg, errOut := cli(t, "threat", "diagram", "../../examples/threatmodel-demo.yaml")
	if code != 0 {
		t.Fatalf("diagram of the demo's model: %d %s", code, errOut)
	}
	if b, err := os.ReadFile("../../docs/threat-model-demo.svg"); err != nil || string(b) != svg {
		t.Error("docs/threat-model-demo.svg is stale: go run ./cmd/modelgate threat diagram examples/threatmodel-demo.yaml > docs/threat-model-demo.svg")
	}
}
