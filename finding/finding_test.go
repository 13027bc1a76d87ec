package finding

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/modelgate/modelgate/internal/sarifschema"
)

func sample() *Report {
	r := &Report{Files: []File{
		{Path: "b/model.pkl", Format: "pickle", Findings: []Finding{
			{RuleID: "MS001", Severity: Critical, Title: "imports os.system", Location: "offset 12", Evidence: "os.system", References: []string{"CWE-502", "LLM03", "AML.T0011"}},
			{RuleID: "MS010", Severity: Medium, Title: "global not on the allowlist", Location: "offset 40", Evidence: "foo.bar"},
		}},
		{Path: "a/clean.safetensors", Format: "safetensors"},
		{Path: "c/broken.pt", Format: "pytorch", Error: "truncated zip"},
	}}
	r.Summarise()
	return r
}

func TestSummary(t *testing.T) {
	r := sample()
	s := r.Summary
	if s.Files != 3 || s.Findings != 2 || s.Errors != 1 || s.Highest != "critical" || s.BySeverity["medium"] != 1 || r.Clean() {
		t.Fatalf("summary %+v", s)
	}
	if r.Files[0].Path != "a/clean.safetensors" {
		t.Errorf("files not sorted: %s", r.Files[0].Path)
	}
	empty := &Report{Files: []File{{Path: "x", Format: "pickle"}}}
	empty.Summarise()
	if !empty.Clean() || empty.Summary.Highest != "" {
		t.Errorf("clean report: %+v", empty.Summary)
	}
}

func TestJSON(t *testing.T) {
	var b bytes.Buffer
	if err := WriteJSON(&b, sample()); err != nil {
		t.Fatal(err)
	}
	var back Report
	if err := json.Unmarshal(b.Bytes(), &back); err != nil {
		t.Fatal(err)
	}
	f := back.Files[1].Findings[0]
	if f.Severity != Critical || f.RuleID != "MS001" || !strings.Contains(b.String(), `"severity": "critical"`) {
		t.Fatalf("round trip: %+v\n%s", f, b.String())
	}
}

func TestSARIF(t *testing.T) {
	var b bytes.Buffer
	if err := WriteSARIF(&b, sample(), "modelgate", "test"); err != nil {
		t.Fatal(err)
	}
	var log struct {
		Version string `json:"version"`
		Runs    []struct {
			Tool struct {
				Driver struct {
					Rules []struct {
						ID      string `json:"id"`
						HelpURI string `json:"helpUri"`
					} `json:"rules"`
				} `json:"driver"`
			} `json:"tool"`
			Results []struct {
				RuleID string `json:"ruleId"`
				Level  string `json:"level"`
			} `json:"results"`
			Invocations []struct {
				ExecutionSuccessful bool `json:"executionSuccessful"`
			} `json:"invocations"`
		} `json:"runs"`
	}
	if err := json.Unmarshal(b.Bytes(), &log); err != nil {
		t.Fatal(err)
	}
	run := log.Runs[0]
	if log.Version != "2.1.0" || len(run.Results) != 2 || run.Results[0].Level != "error" || run.Results[1].Level != "warning" ||
		len(run.Tool.Driver.Rules) != 2 || run.Tool.Driver.Rules[0].HelpURI == "" || run.Invocations[0].ExecutionSuccessful {
		t.Fatalf("sarif: %s", b.String())
	}
}

func TestTable(t *testing.T) {
	var b bytes.Buffer
	WriteTable(&b, sample())
	out := b.String()
	for _, want := range []string{"CRITICAL", "MS001", "b/model.pkl", "ERROR  c/broken.pt", "NOT CLEAN: 3 files, 2 findings (1 critical, 1 medium), 1 unreadable"} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
}

// TestSARIFValidates checks every shape of report against the SARIF 2.1.0
// schema: a clean scan once wrote "rules": null and most wrote
// "toolExecutionNotifications": null, where arrays are required.
func TestSARIFValidates(t *testing.T) {
	clean := &Report{Files: []File{{Path: "x.safetensors", Format: "safetensors"}}}
	clean.Summarise()
	empty := &Report{}
	empty.Summarise()
	errorsOnly := &Report{Files: []File{{Path: "y.pt", Format: "pytorch", Error: "truncated"}}}
	errorsOnly.Summarise()
	for name, r := range map[string]*Report{"findings and errors": sample(), "clean": clean, "nothing scanned": empty, "errors only": errorsOnly} {
		var b bytes.Buffer
		if err := WriteSARIF(&b, r, "modelgate", "test"); err != nil {
			t.Fatal(err)
		}
		if err := sarifschema.Validate(b.Bytes()); err != nil {
			t.Errorf("%s: the SARIF does not validate: %v\n%s", name, err, b.String())
		}
	}
}
