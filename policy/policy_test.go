package policy

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/open-policy-agent/opa/v1/tester"
)

// TestBundleRegoTests runs the default bundle's own _test.rego suite, the
// same one `opa test` runs.
func TestBundleRegoTests(t *testing.T) {
	dir := t.TempDir()
	mods, err := DefaultModules()
	if err != nil {
		t.Fatal(err)
	}
	var tests int
	for name, src := range mods {
		if strings.HasSuffix(name, "_test.rego") {
			tests++
		}
		if err := os.WriteFile(filepath.Join(dir, name), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if tests == 0 {
		t.Fatal("the default bundle has no _test.rego files")
	}
	results, err := tester.Run(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(results) < 20 {
		t.Fatalf("ran %d rego tests, want every test in the bundle (at least 20)", len(results))
	}
	for _, r := range results {
		if !r.Pass() {
			t.Errorf("%s.%s: %v", r.Package, r.Name, r)
		}
	}
}

func goodRecord() map[string]any {
	return map[string]any{
		"signature": map[string]any{"signed": true, "valid": true},
		"scan":      map[string]any{"by_severity": map[string]any{"medium": 1}},
		"card":      map[string]any{"completeness": 1.0, "missing": []string{}},
		"risk_tier": "high",
		"metrics": map[string]any{
			"demographic_parity_difference": 0.02,
			"equalized_odds_difference":     0.04,
		},
		"threat_model": "docs/threat-models/fraud.md",
		"datasets":     []any{map[string]any{"name": "fraud-train@3", "contract": "passed"}},
	}
}

// TestEvaluateEachRule allows the good record and denies each change that
// one rule of the default bundle exists to catch, through the Go API the
// registry uses.
func TestEvaluateEachRule(t *testing.T) {
	ctx := context.Background()
	e, err := New(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	d, err := e.Evaluate(ctx, goodRecord())
	if err != nil {
		t.Fatal(err)
	}
	if !d.Allow || len(d.Violations) != 0 {
		t.Fatalf("good record: %+v", d)
	}
	cases := []struct {
		name   string
		change func(map[string]any)
		want   string
	}{
		{"unsigned", func(r map[string]any) { delete(r, "signature") }, "the model is not signed"},
		{"bad signature", func(r map[string]any) {
			r["signature"] = map[string]any{"signed": true, "valid": false, "error": "w.bin: digest mismatch"}
		}, "the model's signature does not verify: w.bin: digest mismatch"},
		{"critical finding", func(r map[string]any) {
			r["scan"] = map[string]any{"by_severity": map[string]any{"critical": 2}}
		}, "the model scan found 2 critical finding(s)"},
		{"high finding", func(r map[string]any) {
			r["scan"] = map[string]any{"by_severity": map[string]any{"high": 1}}
		}, "the model scan found 1 high finding(s)"},
		{"never scanned", func(r map[string]any) { delete(r, "scan") }, "the model was never scanned"},
		{"incomplete card", func(r map[string]any) {
			r["card"] = map[string]any{"completeness": 0.5, "missing": []string{"license"}}
		}, "the model card is incomplete: missing license"},
		{"no card", func(r map[string]any) { delete(r, "card") }, "the model has no model card"},
		{"unfair", func(r map[string]any) {
			r["metrics"].(map[string]any)["equalized_odds_difference"] = 0.25
		}, "fairness metric equalized_odds_difference is 0.25, beyond 0.1 for a high-risk model"},
		{"fairness not reported", func(r map[string]any) { delete(r, "metrics") },
			"a high-risk model must report fairness metric demographic_parity_difference"},
		{"no threat model", func(r map[string]any) { delete(r, "threat_model") }, "a high-risk model needs a threat model"},
		{"dataset fails contract", func(r map[string]any) {
			r["datasets"] = []any{map[string]any{"name": "fraud-train@3", "contract": "failed"}}
		}, "dataset fraud-train@3 fails its data contract (failed)"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := goodRecord()
			c.change(r)
			d, err := e.Evaluate(ctx, r)
			if err != nil {
				t.Fatal(err)
			}
			if d.Allow || !slices.Contains(d.Violations, c.want) {
				t.Fatalf("got %+v, want a denial with %q", d, c.want)
			}
		})
	}
	// An empty record violates everything that can be violated at once;
	// an attacker who strips the record must not get through.
	d, err = e.Evaluate(ctx, map[string]any{})
	if err != nil {
		t.Fatal(err)
	}
	if d.Allow || len(d.Violations) < 5 {
		t.Fatalf("empty record: %+v", d)
	}
	if d, err = e.Evaluate(ctx, nil); err != nil || d.Allow {
		t.Fatalf("nil record: %+v, %v", d, err)
	}
}

func TestUserPolicies(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	// An added policy: production models must come from the ML platform team.
	add := `package modelgate.gate

import rego.v1

deny contains "owner must be ml-platform" if input.owner != "ml-platform"
`
	if err := os.WriteFile(filepath.Join(dir, "owner.rego"), []byte(add), 0o644); err != nil {
		t.Fatal(err)
	}
	e, err := New(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	r := goodRecord()
	r["owner"] = "someone"
	d, _ := e.Evaluate(ctx, r)
	if d.Allow || !slices.Equal(d.Violations, []string{"owner must be ml-platform"}) {
		t.Fatalf("added policy: %+v", d)
	}
	if !slices.Equal(e.Modules, []string{"gate.rego", "owner.rego"}) {
		t.Fatalf("modules %v", e.Modules)
	}

	// Replacing gate.rego drops the default rules.
	replace := `package modelgate.gate

import rego.v1

deny contains "always" if true
`
	if err := os.WriteFile(filepath.Join(dir, "gate.rego"), []byte(replace), 0o644); err != nil {
		t.Fatal(err)
	}
	e, err = New(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	d, _ = e.Evaluate(ctx, map[string]any{"owner": "ml-platform"})
	if !slices.Equal(d.Violations, []string{"always"}) {
		t.Fatalf("replaced policy: %+v", d)
	}

	// A broken policy is an error naming the file, not an open gate.
	if err := os.WriteFile(filepath.Join(dir, "broken.rego"), []byte("package modelgate.gate\ndeny contains x if {"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := New(ctx, dir); err == nil || !strings.Contains(err.Error(), "broken.rego") {
		t.Fatalf("broken policy: %v", err)
	}
	if _, err := New(ctx, filepath.Join(dir, "absent")); err == nil {
		t.Fatal("a missing policy directory must be an error")
	}
}

// TestDenyOfWrongType: a user policy whose deny is not a set of strings
// cannot be read as an allow.
func TestDenyOfWrongType(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	src := "package modelgate.gate\n\nimport rego.v1\n\ndeny := 1\n"
	if err := os.WriteFile(filepath.Join(dir, "gate.rego"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	e, err := New(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	if d, err := e.Evaluate(ctx, goodRecord()); err == nil || d.Allow {
		t.Fatalf("deny := 1 gave %+v, %v", d, err)
	}
}

// TestUndefinedDeny: replacing the default bundle with policies of another
// package leaves nothing to deny with, which must be an error.
func TestUndefinedDeny(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	src := "package someone.else\n\nimport rego.v1\n\ndeny contains \"x\" if true\n"
	if err := os.WriteFile(filepath.Join(dir, "gate.rego"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	e, err := New(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	if d, err := e.Evaluate(ctx, goodRecord()); err == nil || d.Allow {
		t.Fatalf("undefined deny gave %+v, %v", d, err)
	}
}

func BenchmarkEvaluate(b *testing.B) {
	ctx := context.Background()
	e, err := New(ctx, "")
	if err != nil {
		b.Fatal(err)
	}
	r := goodRecord()
	b.ReportAllocs()
	var took []time.Duration
	for b.Loop() {
		start := time.Now()
		if d, err := e.Evaluate(ctx, r); err != nil || !d.Allow {
			b.Fatal(d, err)
		}
		took = append(took, time.Since(start))
	}
	slices.Sort(took)
	b.ReportMetric(float64(took[len(took)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(took[len(took)*99/100].Microseconds()), "p99-µs")
}

// TestExamplePolicies runs the policies docs/policy.md shows, from
// examples/policies, with the default bundle.
func TestExamplePolicies(t *testing.T) {
	ctx := context.Background()
	e, err := New(ctx, filepath.Join("..", "examples", "policies"))
	if err != nil {
		t.Fatal(err)
	}
	r := goodRecord()
	r["metrics"].(map[string]any)["accuracy"] = 0.95
	r["card"].(map[string]any)["fields"] = map[string]any{"owner_contact": "ml-platform@example.com"}
	if d, err := e.Evaluate(ctx, r); err != nil || !d.Allow {
		t.Fatalf("a record the examples allow: %+v %v", d, err)
	}
	r["metrics"].(map[string]any)["accuracy"] = 0.8
	r["card"].(map[string]any)["fields"] = map[string]any{"owner_contact": "someone@example.com"}
	r["scan"] = map[string]any{"by_severity": map[string]any{"medium": 4}}
	d, err := e.Evaluate(ctx, r)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"4 medium scan findings (at most 3)", "accuracy 0.8 is below 0.9", "high-risk models are owned by ml-platform"}
	if !slices.Equal(d.Violations, want) {
		t.Fatalf("violations %q, want %q", d.Violations, want)
	}
	// A record stripped of the fields the examples read is denied by them
	// too, not waved through.
	delete(r, "card")
	delete(r, "metrics")
	d, _ = e.Evaluate(ctx, r)
	for _, w := range []string{"accuracy 0 is below 0.9", "high-risk models are owned by ml-platform"} {
		if !slices.Contains(d.Violations, w) {
			t.Errorf("stripped record: %q lacks %q", d.Violations, w)
		}
	}
}

// TestDenialsNameTheirRules: the default bundle's denials carry rule ids;
// a user's plain messages are denials without one; anything else in the
// deny set is an error.
func TestDenialsNameTheirRules(t *testing.T) {
	ctx := context.Background()
	e, err := New(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	r := goodRecord()
	delete(r, "threat_model")
	d, err := e.Evaluate(ctx, r)
	if err != nil || len(d.Denials) != 1 || d.Denials[0] != (Denial{Rule: "threat-model-missing", Message: "a high-risk model needs a threat model"}) {
		t.Fatalf("%+v %v", d, err)
	}
	for name, src := range map[string]string{
		"no msg": `deny contains {"rule": "x"} if true`,
		"number": `deny contains 7 if true`,
	} {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "bad.rego"), []byte("package modelgate.gate\n\nimport rego.v1\n\n"+src+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		e, err := New(ctx, dir)
		if err != nil {
			t.Fatal(err)
		}
		if d, err := e.Evaluate(ctx, goodRecord()); err == nil || d.Allow {
			t.Errorf("%s: %+v %v", name, d, err)
		}
	}
}
