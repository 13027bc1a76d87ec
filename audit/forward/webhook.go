package forward

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"time"
)

// Webhook POSTs each batch as a JSON array of records (jsonl or ocsf
// records are JSON objects). A 2xx delivers; anything else is retried.
type Webhook struct {
	URL    string
	Header http.Header // e.g. Authorization
	Client *http.Client
}

// Send posts the batch.
func (w *Webhook) Send(ctx context.Context, records [][]byte) error {
	var body bytes.Buffer
	body.WriteByte('[')
	for i, r := range records {
		if i > 0 {
			body.WriteByte(',')
		}
		body.Write(r)
	}
	body.WriteByte(']')
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.URL, &body)
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "modelgate-audit-forwarder")
	for k, vs := range w.Header {
		req.Header[k] = vs
	}
	c := w.Client
	if c == nil {
		c = &http.Client{Timeout: 30 * time.Second}
	}
	resp, err := c.Do(req)
	if err != nil {
		return fmt.Errorf("webhook: %w", err)
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		err := fmt.Errorf("webhook %s answered %s", w.URL, resp.Status)
		if resp.StatusCode >= 400 && resp.StatusCode < 500 && resp.StatusCode != http.StatusTooManyRequests && resp.StatusCode != http.StatusRequestTimeout {
			err = fmt.Errorf("%w: %w", ErrPermanent, err)
		}
		return err
	}
	return nil
}

// Close does nothing.
func (w *Webhook) Close() error { return nil }
