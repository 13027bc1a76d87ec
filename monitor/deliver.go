package monitor

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/smtp"
	"strings"
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

// Email sends each alert as a plain-text message over SMTP. Credentials,
// when given, go only over TLS (STARTTLS) or to localhost: net/smtp's
// PLAIN authentication refuses anything else.
type Email struct {
	SinkName string
	Address  string // host:port of the SMTP server
	From     string
	To       []string
	Username string
	Password string
}

// Name implements Sink.
func (e *Email) Name() string { return e.SinkName }

// Deliver implements Sink.
func (e *Email) Deliver(ctx context.Context, a Alert) error {
	host, _, err := net.SplitHostPort(e.Address)
	if err != nil {
		return fmt.Errorf("smtp address %q: %w", e.Address, err)
	}
	var auth smtp.Auth
	if e.Username != "" {
		auth = smtp.PlainAuth("", e.Username, e.Password, host)
	}
	subject := fmt.Sprintf("[modelgate %s] %s: %s %s", a.Severity, a.Title, a.By, a.Subject)
	var msg strings.Builder
	fmt.Fprintf(&msg, "From: %s\r\nTo: %s\r\nSubject: %s\r\nDate: %s\r\nMessage-ID: <%s@modelgate>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n",
		e.From, strings.Join(e.To, ", "), headerSafe(subject), time.Now().UTC().Format(time.RFC1123Z), headerSafe(a.ID))
	fmt.Fprintf(&msg, "Rule:     %s (%s)\r\nSubject:  %s %s\r\nDetail:   %s\r\nObserved: %s\r\nEvents:   %v\r\n\r\nmodelgate alerts show %s\r\n",
		a.Rule, a.Severity, a.By, a.Subject, a.Detail, a.Time.UTC().Format(time.RFC3339), a.Events, a.ID)
	done := make(chan error, 1)
	go func() { done <- smtp.SendMail(e.Address, auth, e.From, e.To, []byte(msg.String())) }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// headerSafe keeps a header value on one line: a subject or address taken
// from traffic must not add headers.
func headerSafe(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '\r' || r == '\n' {
			return ' '
		}
		return r
	}, s)
}
