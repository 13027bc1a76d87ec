package kri

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/modelgate/modelgate/audit"
	"github.com/modelgate/modelgate/datacheck/classify"
	"github.com/modelgate/modelgate/finding"
	"github.com/modelgate/modelgate/inventory"
	"github.com/modelgate/modelgate/registry"
)

var t0 = time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC)

func at(s string) time.Time {
	d, err := time.ParseDuration(s)
	if err != nil {
		panic(err)
	}
	return t0.Add(d)
}

// fixture is a small estate whose indicators are computed by hand in
// TestFixtureByHand's comments.
func fixture() ([]*audit.Event, Inputs) {
	allowed := audit.Decision{Outcome: audit.Allowed}
	blocked := audit.Decision{Outcome: audit.Denied, Reason: "request_blocked"}
	inv := func(when string, d audit.Decision, details map[string]string) *audit.Event {
		return &audit.Event{Time: at(when), Action: "inference.invoke", Actor: audit.Actor{Kind: audit.ActorAPIKey, ID: "k1"},
			Resource: audit.Resource{Model: "fraud", Route: "fraud"}, Decision: d, Details: details}
	}
	evs := []*audit.Event{
		inv("0s", allowed, nil),  // 0
		inv("10s", blocked, nil), // 1
		inv("20s", blocked, nil), // 2
		{Time: at("1m"), Action: actionAlert, Resource: audit.Resource{ID: "A1"}, // 3: detected 40 s after event 1
			Details: map[string]string{"rule": "MON-GUARD-BLOCKS-KEY", "by": "key", "subject": "k1", "events": "1,2", "observed_at": at("50s").Format(time.RFC3339Nano)}},
		{Time: at("11m"), Action: actionAlertAck, Resource: audit.Resource{ID: "A1"}}, // 4: acknowledged 610 s after
		{Time: at("20m"), Action: actionAlert, Resource: audit.Resource{ID: "A2"}, // 5: 1200 s after event 0
			Details: map[string]string{"rule": "MON-AUTH-FAILURES", "by": "ip", "subject": "203.0.113.9", "events": "0", "observed_at": at("20m").Format(time.RFC3339Nano)}},
		{Time: at("30m"), Action: actionIncidentOpen, Resource: audit.Resource{ID: "INC-1"}, Details: map[string]string{"alerts": "A1"}}, // 6: 1790 s after event 1
		{Time: at("35m"), Action: actionKeyRevoke, Resource: audit.Resource{ID: "k1"}, Decision: allowed},                                // 7: 2050 s after A1
		{Time: at("2h30m"), Action: actionIncidentEnd, Resource: audit.Resource{ID: "INC-1"}},                                            // 8: 7200 s after opening
		inv("3h", allowed, map[string]string{"drift": "true", "drift_onset": "2026-11-02T12:59:00Z", "drift_detection_seconds": "75"}),   // 9
		inv("3h1m", allowed, map[string]string{"drift": "true", "drift_onset": "2026-11-02T12:59:00Z", "drift_detection_seconds": "75"}), // 10: the same episode
		inv("5h", allowed, map[string]string{"drift": "true", "drift_onset": "2026-11-02T14:59:00Z", "drift_detection_seconds": "25"}),   // 11
		{Time: at("6h"), Action: actionFeedback, Resource: audit.Resource{Model: "chat", ModelVersion: "1"}, Details: map[string]string{"negative": "true"}},
		{Time: at("6h1m"), Action: actionFeedback, Resource: audit.Resource{Model: "chat", ModelVersion: "1"}},
		{Time: at("6h2m"), Action: actionFeedback, Resource: audit.Resource{Model: "chat", ModelVersion: "2"}, Details: map[string]string{"negative": "true"}},
		{Time: at("1h"), Action: actionRedteam, Resource: audit.Resource{Model: "chat"}, Details: map[string]string{"rate.prompt-injection": "0.500"}},
		{Time: at("-400h"), Action: actionFindings, Resource: audit.Resource{ID: "posture:deploy/"}, Details: map[string]string{"source": "posture", "severity.high": "4"}},
		{Time: at("7h10m"), Action: actionFindings, Resource: audit.Resource{ID: "posture:deploy/"}, Details: map[string]string{"source": "posture", "severity.high": "1", "severity.medium": "3"}}, // the newest: 1
		{Time: at("7h20m"), Action: actionFindings, Resource: audit.Resource{ID: "threat-model:tm.yaml"}, Details: map[string]string{"source": "threat-model", "severity.critical": "1", "severity.high": "1"}},
		{Time: at("7h"), Action: actionRedteam, Resource: audit.Resource{Model: "chat"}, Details: map[string]string{"rate.prompt-injection": "0.200", "owasp.prompt-injection": "LLM01", "rate.system-prompt-extraction": "0.000"}},
	}
	for i, ev := range evs {
		ev.Index = int64(100 + i)
	}
	// The events name indexes from 100.
	evs[3].Details["events"] = "101,102"
	evs[5].Details["events"] = "100"
	old := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	models := []*registry.Model{
		{Name: "m1", Version: "1", CreatedAt: old},
		{Name: "m1", Version: "2", CreatedAt: old.Add(time.Hour), Signature: registry.Signature{Signed: true, Valid: true}, Scan: registry.ScanSummary{Scanned: true}, ThreatModel: "tm.yaml"},
		{Name: "m2", Version: "1", CreatedAt: old, Signature: registry.Signature{Signed: true}, Scan: registry.ScanSummary{Scanned: true, BySeverity: map[string]int{"critical": 1, "high": 2, "medium": 5}}},
		{Name: "m3", Version: "1", CreatedAt: old, Dependencies: &registry.DependencyCheck{Checked: true, Affected: map[string]int{"high": 1, "low": 3}, Malicious: 1}},
	}
	snapshot := &inventory.Inventory{Assets: []inventory.Asset{
		{Kind: inventory.KindModel, Path: "a.safetensors", Status: &inventory.Status{Registered: "m1@2"}},
		{Kind: inventory.KindModel, Path: "b.pt", Findings: []finding.Finding{{Severity: finding.High}, {Severity: finding.Medium}}},
		{Kind: inventory.KindDataset, Path: "customers.csv", Columns: []classify.Column{{Name: "email", Values: 1000, Verdict: classify.VerdictPII}, {Name: "phone", Values: 400, Verdict: classify.VerdictPII}, {Name: "note", Values: 1000, Verdict: classify.VerdictNone}}},
		{Kind: inventory.KindDataset, Path: "prices.csv", Columns: []classify.Column{{Name: "sku", Values: 5000, Verdict: classify.VerdictNone}}},
	}}
	return evs, Inputs{Now: at("8h"), Since: t0, Period: 24 * time.Hour, Models: models, Inventory: snapshot, Guarded: map[string]bool{"m1": true}}
}

// TestFixtureByHand: every indicator matches the figure worked out by
// hand from the fixture.
func TestFixtureByHand(t *testing.T) {
	evs, in := fixture()
	e := NewEvents(in.Since, in.Period)
	for _, ev := range evs {
		e.Add(ev)
	}
	r := Compute(e, in)
	want := map[string]float64{
		"KRI-MTTD-ALERT":        (40 + 1200) / 2.0,
		"KRI-MTTR-ALERT":        610,
		"KRI-MTTD-INCIDENT":     1790,
		"KRI-MTTR-INCIDENT":     7200,
		"KRI-MTTD-DRIFT":        (75 + 25) / 2.0,
		"KRI-MTTREVOKE":         2050,
		"KRI-SIGNED":            1 / 3.0, // m1@2 only: m2's signature is not valid
		"KRI-SCANNED":           2 / 3.0,
		"KRI-THREAT-MODELLED":   1 / 3.0,
		"KRI-GUARDED":           1 / 3.0,
		"KRI-INVENTORIED":       1 / 2.0,
		"KRI-OPEN-FINDINGS":     3 + 2 + 1 + 1 + 2, // m2's critical and highs, m3's high advisory and malicious package, b.pt's high, the newest posture scan's high, the threat model's critical and high
		"KRI-REDTEAM-PASS":      (0.8 + 1.0) / 2,
		"KRI-GUARD-BLOCKS":      2 / 6.0,
		"KRI-NEGATIVE-FEEDBACK": 2 / 3.0,
		"KRI-EXPOSURE":          DefaultBreachUSD, // one dataset with personal data
	}
	for id, v := range want {
		ind := r.Indicator(id)
		if ind == nil || !ind.Known || math.Abs(ind.Value-v) > 1e-9 {
			t.Errorf("%s = %+v, want %g", id, ind, v)
		}
	}
	if len(r.Indicators) != len(want) {
		t.Errorf("%d indicators, %d checked", len(r.Indicators), len(want))
	}
	if fb := r.Indicator("KRI-NEGATIVE-FEEDBACK"); len(fb.Breakdown) != 2 || fb.Breakdown[0].Label != "chat@2" || fb.Breakdown[0].Value != 1 || fb.Breakdown[1].Value != 0.5 {
		t.Errorf("feedback by version %+v", fb.Breakdown)
	}
	if rt := r.Indicator("KRI-REDTEAM-PASS"); len(rt.Series) != 2 || rt.Series[0].Value != 0.5 || rt.Breakdown[0].Label != "LLM01 prompt-injection" || math.Abs(rt.Breakdown[0].Value-0.8) > 1e-9 {
		t.Errorf("red team %+v", rt)
	}
	if ack := r.Indicator("KRI-MTTR-ALERT"); ack.Breakdown[1].N != 1 {
		t.Errorf("unacknowledged %+v", ack.Breakdown)
	}
	in.Costs.PerRecordUSD = 150
	if got := Compute(e, in).Indicator("KRI-EXPOSURE").Value; got != 1000*150 {
		t.Errorf("exposure at USD 150 a record: %g", got)
	}
	if len(r.TopRisks) == 0 || r.TopRisks[0].Impact != "data breach" {
		t.Errorf("top risks %+v", r.TopRisks)
	}
}

// TestUnknownIsNotZero: with no evidence, indicators are unknown, not
// zero, and no risk is invented.
func TestUnknownIsNotZero(t *testing.T) {
	r := Compute(NewEvents(t0, 24*time.Hour), Inputs{Now: t0, Since: t0})
	for _, ind := range r.Indicators {
		if ind.Known {
			t.Errorf("%s known without evidence: %+v", ind.ID, ind)
		}
	}
	if len(r.TopRisks) != 0 {
		t.Errorf("risks without evidence: %+v", r.TopRisks)
	}
}

func TestCompare(t *testing.T) {
	before := &Report{Indicators: []Indicator{{ID: "A", Value: 10, Known: true, Worse: "up"}, {ID: "B", Value: 0.9, Known: true, Worse: "down"}, {ID: "C", Value: 1, Known: true}}}
	after := &Report{Indicators: []Indicator{{ID: "A", Value: 5, Known: true, Worse: "up"}, {ID: "B", Value: 0.5, Known: true, Worse: "down"}, {ID: "C", Value: 1, Known: true}}}
	ch := Compare(before, after)
	if len(ch) != 2 || ch[0].Worsened || !ch[1].Worsened {
		t.Errorf("changes %+v", ch)
	}
}

// TestRender: the HTML report is one page with inline SVG and no script
// or outside reference, escapes what the evidence says, and the Markdown
// names every indicator.
func TestRender(t *testing.T) {
	evs, in := fixture()
	e := NewEvents(in.Since, in.Period)
	for _, ev := range evs {
		e.Add(ev)
	}
	r := Compute(e, in)
	r.Indicators[0].Breakdown = append(r.Indicators[0].Breakdown, Part{Label: `<script>alert(1)</script>`})
	r.Changes = []Change{{ID: "KRI-SIGNED", Name: "Models signed", Before: 0.5, After: 1 / 3.0, Unit: "share", Worsened: true}}
	var html, md strings.Builder
	if err := r.WriteHTML(&html); err != nil {
		t.Fatal(err)
	}
	page := html.String()
	for _, want := range []string{"<svg", "KRI-MTTD-DRIFT", "USD 4,440,000", "Personal data in AI datasets", "50.0%", "33.3%", "worse", "&lt;script&gt;"} {
		if !strings.Contains(page, want) {
			t.Errorf("the HTML lacks %q", want)
		}
	}
	for _, banned := range []string{"<script", "src=", "href=\"http"} {
		if strings.Contains(page, banned) {
			t.Errorf("the HTML holds %q", banned)
		}
	}
	if err := r.WriteMarkdown(&md); err != nil {
		t.Fatal(err)
	}
	for _, ind := range r.Indicators {
		if !strings.Contains(md.String(), ind.ID) {
			t.Errorf("the Markdown lacks %s", ind.ID)
		}
	}
}
