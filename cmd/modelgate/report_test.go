package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/modelgate/modelgate/kri"
)

// TestReportKRI: from a gateway's real evidence (a burst of bad keys
// raises an alert, which is acknowledged and answered by an incident that
// is then closed), the report computes the detection and response
// indicators, says what it had no evidence for, renders HTML and
// Markdown, and with --compare names what changed.
func TestReportKRI(t *testing.T) {
	dir := t.TempDir()
	gw := startChatGateway(t, dir, nil)
	for range 21 {
		gw.chat("nope", "hi")
	}
	time.Sleep(time.Second)
	gw.stop()
	_, out, _ := cli(t, "alerts", "list", "--data-dir", dir)
	alert := regexp.MustCompile(`MON-AUTH-FAILURES-\S+`).FindString(out)
	if alert == "" {
		t.Fatalf("no alert:\n%s", out)
	}
	earlier := filepath.Join(t.TempDir(), "earlier.json")
	if code, _, errOut := cli(t, "report", "kri", "--format", "json", "--out", earlier, "--data-dir", dir); code != 0 {
		t.Fatalf("report: %d %s", code, errOut)
	}
	if code, _, errOut := cli(t, "alerts", "ack", alert, "--data-dir", dir); code != 0 {
		t.Fatalf("ack: %d %s", code, errOut)
	}
	code, out, errOut := cli(t, "incident", "open", "--title", "stuffing", "--alert", alert, "--data-dir", dir)
	id := regexp.MustCompile(`INC-\d{8}-[0-9a-f]{6}`).FindString(out)
	if code != 0 || id == "" {
		t.Fatalf("open: %d %s %s", code, out, errOut)
	}
	if code, _, errOut := cli(t, "incident", "close", id, "--resolution", "blocked", "--data-dir", dir); code != 0 {
		t.Fatalf("close: %d %s", code, errOut)
	}
	code, out, errOut = cli(t, "report", "kri", "--format", "json", "--compare", earlier, "--data-dir", dir)
	if code != 0 {
		t.Fatalf("report: %d %s", code, errOut)
	}
	var r kri.Report
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"KRI-MTTD-ALERT", "KRI-MTTR-ALERT", "KRI-MTTD-INCIDENT", "KRI-MTTR-INCIDENT"} {
		ind := r.Indicator(id)
		if ind == nil || !ind.Known || ind.Value < 0 || ind.Value > 60 || ind.N != 1 {
			t.Errorf("%s: %+v", id, ind)
		}
	}
	if ind := r.Indicator("KRI-SIGNED"); ind == nil || ind.Known {
		t.Errorf("signed with no models registered: %+v", ind)
	}
	if !strings.Contains(strings.Join(r.Missing, ";"), "inventory snapshot") {
		t.Errorf("missing %v", r.Missing)
	}
	for _, c := range r.Changes {
		// The earlier report knew no acknowledgement and no incident:
		// an indicator without evidence then has nothing to compare.
		if c.ID == "KRI-MTTR-ALERT" || c.ID == "KRI-MTTD-INCIDENT" {
			t.Errorf("change from unknown: %+v", c)
		}
	}
	page := filepath.Join(t.TempDir(), "kri.html")
	if code, _, errOut := cli(t, "report", "kri", "--out", page, "--data-dir", dir); code != 0 {
		t.Fatalf("html: %d %s", code, errOut)
	}
	if b, _ := os.ReadFile(page); !strings.Contains(string(b), "<svg") || !strings.Contains(string(b), "KRI-MTTD-ALERT") {
		t.Errorf("html:\n%.500s", b)
	}
	if _, out, _ := cli(t, "report", "kri", "--format", "md", "--data-dir", dir); !strings.Contains(out, "| KRI-MTTR-INCIDENT |") {
		t.Errorf("markdown:\n%s", out)
	}
	for _, bad := range [][]string{{"--since", "forever"}, {"--format", "pdf"}, {"--compare", "/nonexistent.json"}, {"--period", "5m"}} {
		if code, _, _ := cli(t, append([]string{"report", "kri", "--data-dir", dir}, bad...)...); code != exitUsage {
			t.Errorf("%v: exit %d", bad, code)
		}
	}
}

// TestReportCountsRecordedScans: a posture scan run with --record is
// evidence: the report counts its high findings under posture, and a
// later clean scan of the same subject closes them.
func TestReportCountsRecordedScans(t *testing.T) {
	dir, work := t.TempDir(), t.TempDir()
	dockerfile := filepath.Join(work, "Dockerfile")
	os.WriteFile(dockerfile, []byte("FROM python:3.12\nCMD [\"python\"]\n"), 0o644) // runs as root (high), unpinned (medium)
	if code, _, errOut := cli(t, "posture", "scan", dockerfile, "--record", "--data-dir", dir); code != exitFindings {
		t.Fatalf("posture scan: %d %s", code, errOut)
	}
	posture := func() float64 {
		t.Helper()
		code, out, errOut := cli(t, "report", "kri", "--format", "json", "--data-dir", dir)
		if code != 0 {
			t.Fatalf("report: %d %s", code, errOut)
		}
		var r kri.Report
		if err := json.Unmarshal([]byte(out), &r); err != nil {
			t.Fatal(err)
		}
		ind := r.Indicator("KRI-OPEN-FINDINGS")
		for _, p := range ind.Breakdown {
			if p.Label == "posture" {
				return p.Value
			}
		}
		t.Fatalf("no posture in %+v", ind)
		return 0
	}
	if got := posture(); got != 1 {
		t.Errorf("posture findings after the first scan: %g, want 1 (the root user)", got)
	}
	os.WriteFile(dockerfile, []byte("FROM python:3.12@sha256:"+strings.Repeat("a", 64)+"\nUSER 65532:65532\nCMD [\"python\"]\n"), 0o644)
	if code, out, errOut := cli(t, "posture", "scan", dockerfile, "--record", "--data-dir", dir); code != 0 {
		t.Fatalf("the fixed Dockerfile: %d %s %s", code, out, errOut)
	}
	if got := posture(); got != 0 {
		t.Errorf("posture findings after the fix: %g", got)
	}
}
