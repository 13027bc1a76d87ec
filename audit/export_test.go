package audit

import (
	"strings"
	"testing"
	"time"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
)

// TestExportResistsInjection gives every field a caller controls the
// characters that end or split a record in each format; each record must
// stay one line and keep its structure.
func TestExportResistsInjection(t *testing.T) {
	hostile := "evil|x=1\\ \nCEF:0|forged|record\r<13>1 - forged"
	ev := sampleEvent()
	ev.Actor.UserAgent, ev.Decision.Reason, ev.Details = hostile, hostile, map[string]string{"k": hostile}
	data := ev.Canonical()
	for _, format := range []string{FormatJSONL, FormatOCSF, FormatCEF, FormatSyslog} {
		rec, err := (&Formatter{Format: format, Hostname: "gw 1\n"}).Record(ev, data)
		if err != nil {
			t.Fatal(err)
		}
		if strings.ContainsAny(string(rec), "\r\n") {
			t.Errorf("%s: record spans lines: %q", format, rec)
		}
		switch format {
		case FormatJSONL, FormatOCSF:
			if !jsontext.Value(rec).IsValid() {
				t.Errorf("%s: not JSON: %s", format, rec)
			}
		case FormatCEF:
			// The header is seven fields before the extension; an
			// unescaped pipe in a value would shift the severity.
			if h := cefFields(string(rec)); len(h) != 8 || h[0] != "CEF:0" || h[6] != "3" || !strings.HasPrefix(h[7], "rt=") {
				t.Errorf("cef header: %q", h)
			}
			if strings.Contains(string(rec), "requestClientApplication=evil|x=1") {
				t.Errorf("cef: '=' not escaped in a value: %s", rec)
			}
		case FormatSyslog:
			head, msg, ok := strings.Cut(string(rec), " - {")
			if !ok || strings.Count(head, " ") != 5 || !strings.Contains(head, " gw_1_ modelgate - ") {
				t.Errorf("syslog header: %q", head)
			}
			if "{"+msg != string(data) {
				t.Errorf("syslog message is not the stored event")
			}
		}
	}
}

// cefFields splits a CEF record at its first seven unescaped pipes.
func cefFields(rec string) []string {
	var out []string
	start := 0
	for i := 0; i < len(rec) && len(out) < 7; i++ {
		switch rec[i] {
		case '\\':
			i++
		case '|':
			out = append(out, rec[start:i])
			start = i + 1
		}
	}
	return append(out, rec[start:])
}

func TestOCSFMapping(t *testing.T) {
	ev := sampleEvent()
	rec, err := (&Formatter{Format: FormatOCSF}).Record(ev, ev.Canonical())
	if err != nil {
		t.Fatal(err)
	}
	var o struct {
		ClassUID int `json:"class_uid"`
		TypeUID  int `json:"type_uid"`
		Metadata struct {
			UID string `json:"uid"`
		} `json:"metadata"`
		API struct {
			Operation string `json:"operation"`
		} `json:"api"`
	}
	if err := json.Unmarshal(rec, &o, json.RejectUnknownMembers(false)); err != nil {
		t.Fatal(err)
	}
	if o.ClassUID != 6003 || o.TypeUID/100 != 6003 || o.Metadata.UID == "" || o.API.Operation != ev.Action {
		t.Fatalf("ocsf: %s", rec)
	}
}

// TestOCSFDetectionFinding: a monitor alert goes out as a Detection
// Finding, with its rule, severity, subject and the events behind it.
func TestOCSFDetectionFinding(t *testing.T) {
	ev := &Event{Index: 42, Time: time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC), Action: "alert.raised", Actor: Actor{Kind: ActorSystem, ID: "monitor"},
		Resource: Resource{ID: "MON-AUTH-FAILURES-x"}, Decision: Decision{Outcome: Allowed},
		Details: map[string]string{"rule": "MON-AUTH-FAILURES", "title": "Burst", "severity": "high", "by": "ip", "subject": "192.0.2.1", "detail": "20 events", "events": "7,8"}}
	f := &Formatter{Format: FormatOCSF}
	b, err := f.Record(ev, nil)
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	info, _ := got["finding_info"].(map[string]any)
	analytic, _ := info["analytic"].(map[string]any)
	if got["class_uid"] != 2004.0 || got["severity_id"] != 4.0 || info["uid"] != "MON-AUTH-FAILURES-x" || analytic["uid"] != "MON-AUTH-FAILURES" || len(got["evidences"].([]any)) != 2 {
		t.Errorf("%s", b)
	}
}
