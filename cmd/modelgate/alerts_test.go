package main

import (
	"encoding/json"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/modelgate/modelgate/config"
	"github.com/modelgate/modelgate/internal/servertest"
)

// TestAlertsCommands: a burst of bad keys against a gateway raises an
// alert; `alerts list` shows it, `alerts show` shows the events behind it
// and checks its inclusion proof, `alerts ack` closes it, in the log.
func TestAlertsCommands(t *testing.T) {
	dir := t.TempDir()
	cfg, err := config.Parse("test", []byte("{}"))
	if err != nil {
		t.Fatal(err)
	}
	cfg.DataDir = dir
	s, stop := servertest.Start(t, cfg)
	for range 22 {
		req, _ := http.NewRequest("POST", "http://"+s.Addr().String()+"/v1/chat/completions", strings.NewReader(`{}`))
		req.Header.Set("Authorization", "Bearer nope")
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
		}
	}
	time.Sleep(time.Second) // the monitor polls every 250ms
	stop()

	code, out, errOut := cli(t, "alerts", "list", "--data-dir", dir)
	m := regexp.MustCompile(`(MON-AUTH-FAILURES-\S+)\s.*high\s+MON-AUTH-FAILURES\s+ip 127.0.0.1\s+open`).FindStringSubmatch(out)
	if code != 0 || m == nil {
		t.Fatalf("list: %d %s\n%s", code, errOut, out)
	}
	id := m[1]
	code, out, errOut = cli(t, "alerts", "show", id, "--data-dir", dir)
	if code != 0 || !strings.Contains(out, "proof     verified") || strings.Count(out, "inference.denied") != 8 {
		t.Fatalf("show: %d %s\n%s", code, errOut, out)
	}
	if code, out, _ = cli(t, "alerts", "ack", id, "--note", "a script with an old key", "--data-dir", dir); code != 0 {
		t.Fatalf("ack: %d %s", code, out)
	}
	if code, _, errOut = cli(t, "alerts", "ack", id, "--data-dir", dir); code != exitUsage || !strings.Contains(errOut, "acknowledged by") {
		t.Errorf("a second ack: %d %s", code, errOut)
	}
	if _, out, _ = cli(t, "alerts", "list", "--data-dir", dir); !strings.Contains(out, "no alerts") {
		t.Errorf("an acknowledged alert is still listed:\n%s", out)
	}
	_, out, _ = cli(t, "alerts", "list", "--all", "--format", "json", "--data-dir", dir)
	var all []map[string]any
	if err := json.Unmarshal([]byte(out), &all); err != nil || len(all) != 1 || all[0]["status"] != "acknowledged" || all[0]["note"] != "a script with an old key" {
		t.Errorf("list --all: %v\n%s", err, out)
	}
	if code, _, _ := cli(t, "alerts", "show", "nope", "--data-dir", dir); code != exitUsage {
		t.Errorf("show of an unknown alert: %d", code)
	}
	if code, out, _ := cli(t, "alerts", "rules"); code != 0 || !strings.Contains(out, "MON-EXFILTRATION") {
		t.Errorf("rules: %d\n%s", code, out)
	}
}
