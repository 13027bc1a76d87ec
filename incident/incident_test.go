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
