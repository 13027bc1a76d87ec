package admin

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/go-json-experiment/json"
	"github.com/modelgate/modelgate/store"
)

// Client calls the admin API of a running gateway; the CLI uses it with
// --server.
type Client struct {
	BaseURL string // e.g. http://127.0.0.1:8081
	Key     string // an API key with the admin scope
	HTTP    *http.Client
}

// APIError is an error response from the admin API.
type APIError struct {
	Status  int
	Code    string
	Message string
}

func (e *APIError) Error() string {
	return fmt.Sprintf("%s (HTTP %d, %s)", e.Message, e.Status, e.Code)
}

func (c *Client) do(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimRight(c.BaseURL, "/")+path, body)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+c.Key)
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode >= 300 {
		var e struct {
			Error struct {
				Message string `json:"message"`
				Code    string `json:"code"`
			} `json:"error"`
		}
		if json.Unmarshal(data, &e) != nil || e.Error.Message == "" {
			return &APIError{Status: resp.StatusCode, Code: "unexpected", Message: strings.TrimSpace(string(data))}
		}
		return &APIError{Status: resp.StatusCode, Code: e.Error.Code, Message: e.Error.Message}
	}
	if out == nil || resp.StatusCode == http.StatusNoContent {
		return nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("unexpected response from %s: %w", path, err)
	}
	return nil
}

// CreateKey creates a key.
func (c *Client) CreateKey(ctx context.Context, req NewKeyRequest) (*KeyWithSecret, error) {
	var out KeyWithSecret
	return &out, c.do(ctx, http.MethodPost, "/admin/v1/keys", req, &out)
}

// ListKeys lists every key.
func (c *Client) ListKeys(ctx context.Context) ([]KeyView, error) {
	var out struct {
		Keys []KeyView `json:"keys"`
	}
	return out.Keys, c.do(ctx, http.MethodGet, "/admin/v1/keys", nil, &out)
}

// GetKey shows one key.
func (c *Client) GetKey(ctx context.Context, id string) (*KeyView, error) {
	var out KeyView
	return &out, c.do(ctx, http.MethodGet, "/admin/v1/keys/"+url.PathEscape(id), nil, &out)
}

// RevokeKey revokes a key.
func (c *Client) RevokeKey(ctx context.Context, id string) (*KeyView, error) {
	var out KeyView
	return &out, c.do(ctx, http.MethodPost, "/admin/v1/keys/"+url.PathEscape(id)+"/revoke", nil, &out)
}

// RotateKey gives a key a new secret.
func (c *Client) RotateKey(ctx context.Context, id string, req RotateRequest) (*KeyWithSecret, error) {
	var out KeyWithSecret
	return &out, c.do(ctx, http.MethodPost, "/admin/v1/keys/"+url.PathEscape(id)+"/rotate", req, &out)
}

// ListRoutes lists every route.
func (c *Client) ListRoutes(ctx context.Context) ([]*store.Route, error) {
	var out struct {
		Routes []*store.Route `json:"routes"`
	}
	return out.Routes, c.do(ctx, http.MethodGet, "/admin/v1/routes", nil, &out)
}

// ListIPRules lists every IP rule.
func (c *Client) ListIPRules(ctx context.Context) ([]*store.IPRule, error) {
	var out struct {
		Rules []*store.IPRule `json:"ipblocks"`
	}
	return out.Rules, c.do(ctx, http.MethodGet, "/admin/v1/ipblocks", nil, &out)
}

// CreateIPRule adds an IP rule.
func (c *Client) CreateIPRule(ctx context.Context, req IPRuleRequest) (*store.IPRule, error) {
	var out store.IPRule
	return &out, c.do(ctx, http.MethodPost, "/admin/v1/ipblocks", req, &out)
}

// DeleteIPRule removes an IP rule.
func (c *Client) DeleteIPRule(ctx context.Context, id string) error {
	return c.do(ctx, http.MethodDelete, "/admin/v1/ipblocks/"+url.PathEscape(id), nil, nil)
}
