package monitor

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"
)

// Sink delivers alerts.
type Sink interface {
	Name() string
	Deliver(ctx context.Context, a Alert) error
}

// Webhook posts each alert as JSON: the alert itself, or, in Slack
// format, a message Slack's (and Mattermost's, Rocket.Chat's, Teams'
// legacy) incoming webhooks show.
type Webhook struct {
	SinkName string
	URL      string
	// Slack sends {"text": ...} instead of the alert.
	Slack  bool
	Header http.Header
	Client *http.Client
}

// Name implements Sink.
func (w *Webhook) Name() string { return w.SinkName }

// Deliver implements Sink.
func (w *Webhook) Deliver(ctx context.Context, a Alert) error {
	var body any = a
	if w.Slack {
		body = map[string]string{"text": fmt.Sprintf("*[%s] %s* (%s)\n%s %s: %s\nalert %s; `modelgate alerts show %s`",
			a.Severity, a.Title, a.Rule, a.By, a.Subject, a.Detail, a.ID, a.ID)}
	}
	b, err := json.Marshal(body)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.URL, bytes.NewReader(b))
	if err != nil {
		return err
	}
	for k, vs := range w.Header {
		req.Header[k] = vs
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "modelgate-monitor")
	client := w.Client
	if client == nil {
		client = &http.Client{Timeout: 10 * time.Second}
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("%s answered %d", w.URL, resp.StatusCode)
	}
	return nil
}
