package monitor_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/modelgate/modelgate/audit"
	"github.com/modelgate/modelgate/config"
	"github.com/modelgate/modelgate/internal/servertest"
	"github.com/modelgate/modelgate/monitor"
	"github.com/modelgate/modelgate/store"
	"github.com/modelgate/modelgate/store/sqlite"
)

// TestAlertsFromARunningGateway: a burst of bad keys against a running
// gateway is alerted on, recorded in the audit log as an alert event
// naming the events behind it, and delivered to a webhook and a
// Slack-compatible one.
func TestAlertsFromARunningGateway(t *testing.T) {
	var (
		mu       sync.Mutex
		received []string
	)
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		received = append(received, r.URL.Path+" "+r.Header.Get("Authorization")+" "+string(b))
		mu.Unlock()
	}))
	defer hook.Close()
	t.Setenv("MODELGATE_TEST_HOOK_TOKEN", "s3cret")
	dir := t.TempDir()
	cfg, err := config.Parse("test", []byte(`
monitoring:
  alerts:
    - {name: ops, type: webhook, url: "`+hook.URL+`/ops", credential: {env: MODELGATE_TEST_HOOK_TOKEN, header: Authorization, prefix: "Bearer "}}
    - {name: chat, type: slack, url: "`+hook.URL+`/slack"}
`))
	if err != nil {
		t.Fatal(err)
	}
	cfg.DataDir = dir
	s, stop := servertest.Start(t, cfg)
	gw := "http://" + s.Addr().String()
	for range 25 {
		req, _ := http.NewRequest("POST", gw+"/v1/chat/completions", strings.NewReader(`{"model":"m","messages":[{"role":"user","content":"hi"}]}`))
		req.Header.Set("Authorization", "Bearer mg_aaaaaaaaaaaa_"+strings.Repeat("b", 52))
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		mu.Lock()
		n := len(received)
		mu.Unlock()
		if n >= 2 || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	stop()
	mu.Lock()
	defer mu.Unlock()
	var ops, slack string
	for _, r := range received {
		switch {
		case strings.HasPrefix(r, "/ops "):
			ops = r
		case strings.HasPrefix(r, "/slack "):
			slack = r
		}
	}
	if !strings.Contains(ops, "Bearer s3cret") || !strings.Contains(ops, `"rule":"MON-AUTH-FAILURES"`) || !strings.Contains(ops, `"subject":"127.0.0.1"`) {
		t.Errorf("webhook: %q", ops)
	}
	if !strings.Contains(slack, `"text":"*[high] Burst of authentication failures`) {
		t.Errorf("slack: %q", slack)
	}

	st, err := sqlite.OpenAuditDir(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var alerts []monitor.Alert
	err = audit.Query(context.Background(), st, audit.Filter{Action: monitor.ActionAlertRaised}, func(ev *audit.Event, _ *store.AuditLeaf) error {
		a, err := monitor.AlertOf(ev)
		alerts = append(alerts, a)
		return err
	})
	if err != nil || len(alerts) != 1 || len(alerts[0].Events) == 0 {
		b, _ := json.Marshal(alerts)
		t.Fatalf("alert events: %s %v", b, err)
	}
}
