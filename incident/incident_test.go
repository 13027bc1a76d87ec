package incident

import (
	"strings"
	"testing"
	"time"

	"github.com/modelgate/modelgate/audit"
)

func TestTimeline(t *testing.T) {
	admin := audit.Actor{Kind: audit.ActorAdmin, ID: "cli:ana@host"}
	id := NewID(time.Now())
	if !strings.HasPrefix(id, "INC-") || len(id) != len("INC-20261204-abcdef") {
		t.Fatalf("id %q", id)
	}
	evs := []*audit.Event{
		OpenEvent(id, "stuffing", "high", []string{"A1", "A2"}, admin),
		StepEvent("INC-other", StepNote, "x", "y", false, admin), // another incident's step, never opened here
		StepEvent(id, StepRevokeKey, "k1", "revoked", false, admin),
		StepEvent(id, StepRevokeKey, "nokey", "no such key", true, admin),
		CloseEvent(id, "done", admin),
		{Action: "inference.invoke", Resource: audit.Resource{ID: id}},
	}
	var tl Timeline
	for i, ev := range evs {
		ev.Index = int64(10 + i)
		tl.Add(ev)
	}
	inc, err := tl.Get(id)
	if err != nil {
		t.Fatal(err)
	}
	if inc.Status != "closed" || inc.Resolution != "done" || len(inc.Alerts) != 2 || inc.OpenIndex != 10 || len(inc.Steps) != 2 ||
		inc.Steps[1].Result != "FAILED: no such key" || inc.Steps[0].By != "cli:ana@host" {
		t.Fatalf("%+v", inc)
	}
	if _, err := tl.Get("INC-other"); err == nil {
		t.Error("a step without an opening made an incident")
	}
	if len(tl.Incidents()) != 1 {
		t.Errorf("%d incidents", len(tl.Incidents()))
	}
}

func TestPlaybooks(t *testing.T) {
	ps, err := ParsePlaybooks("p.yaml", []byte(`
- name: stuffing
  rules: [MON-AUTH-FAILURES]
  severity: high
  title: "Credential stuffing from {{subject}}"
  steps:
    - {action: deny_ip, target: "{{subject}}/32"}
- name: anything
  rules: [MON-AUTH-FAILURES, MON-VOLUME]
  steps:
    - {action: evidence, target: "e-{{alert}}.json"}
`))
	if err != nil {
		t.Fatal(err)
	}
	if p, ok := Match(ps, "MON-AUTH-FAILURES", "high"); !ok || p.Name != "stuffing" {
		t.Errorf("high: %v", p)
	}
	if p, ok := Match(ps, "MON-AUTH-FAILURES", "low"); !ok || p.Name != "anything" {
		t.Errorf("low: %v", p)
	}
	if _, ok := Match(ps, "MON-DRIFT", "critical"); ok {
		t.Error("a playbook for a rule it does not name")
	}
	if got := Expand(ps[0].Steps[0].Target, "A1", "R", "192.0.2.7"); got != "192.0.2.7/32" {
		t.Errorf("expand: %q", got)
	}
	for _, bad := range []string{
		"- {rules: [X], steps: [{action: deny_ip, target: x}]}",
		"- {name: n, steps: [{action: deny_ip, target: x}]}",
		"- {name: n, rules: [X], steps: []}",
		"- {name: n, rules: [X], steps: [{action: reboot, target: x}]}",
		"- {name: n, rules: [X], steps: [{action: deny_ip}]}",
		"- {name: n, rules: [X], severity: urgent, steps: [{action: deny_ip, target: x}]}",
		"- {name: n, rules: [X], steps: [{action: deny_ip, target: x}], when: always}",
	} {
		if _, err := ParsePlaybooks("bad.yaml", []byte(bad)); err == nil {
			t.Errorf("accepted: %s", bad)
		}
	}
}

func FuzzParsePlaybooks(f *testing.F) {
	f.Add([]byte("- {name: n, rules: [X], steps: [{action: deny_ip, target: \"{{subject}}/32\"}]}"))
	f.Fuzz(func(t *testing.T, b []byte) {
		ps, err := ParsePlaybooks("fuzz.yaml", b)
		if err != nil {
			return
		}
		for _, p := range ps {
			Match(ps, p.Rules[0], "critical")
		}
	})
}
