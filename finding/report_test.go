package finding

import "testing"

func TestFails(t *testing.T) {
	r := &Report{Files: []File{{Path: "a", Findings: []Finding{{RuleID: "X", Severity: Info}}}, {Path: "b"}}}
	r.Summarise()
	if r.Fails(Low) || !r.Fails(Info) {
		t.Errorf("an info finding: Fails(low)=%v Fails(info)=%v", r.Fails(Low), r.Fails(Info))
	}
	r.Files[1].Error = "unreadable"
	r.Summarise()
	if !r.Fails(Critical) {
		t.Error("a file that could not be read passes")
	}
}
