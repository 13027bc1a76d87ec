package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/modelgate/modelgate/access"
	"github.com/modelgate/modelgate/config"
	"github.com/modelgate/modelgate/demo"
	"github.com/modelgate/modelgate/internal/servertest"
	"github.com/modelgate/modelgate/store"
)

// chatGateway is a running gateway on dir with one route, "chat", to the
// demo echo model, and a key for it.
type chatGateway struct {
	t    *testing.T
	url  string
	key  *store.Key
	full string // the key's secret
	stop func()
}

func startChatGateway(t *testing.T, dir string, route func(*store.Route)) *chatGateway {
	t.Helper()
	up := httptest.NewServer(&demo.ChatModel{})
	t.Cleanup(up.Close)
	cfg, err := config.Parse("test", []byte("{}"))
	if err != nil {
		t.Fatal(err)
	}
	r := &store.Route{Model: "chat", Protocol: store.ProtocolOpenAI, Upstream: store.Upstream{URL: up.URL + "/v1"}}
	if route != nil {
		route(r)
	}
	cfg.DataDir, cfg.Routes = dir, []*store.Route{r}
	s, stop := servertest.Start(t, cfg)
	k, full, err := access.CreateKey(context.Background(), s.Store(), access.KeySpec{Name: "app", Scopes: []string{"inference:invoke"}, Models: []string{"*"}}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return &chatGateway{t: t, url: "http://" + s.Addr().String(), key: k, full: full, stop: stop}
}

// post sends a JSON body with a bearer key and a feedback token, either
// of which may be empty.
func (c *chatGateway) post(path, key, token, body string) *http.Response {
	c.t.Helper()
	req, _ := http.NewRequest("POST", c.url+path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	if token != "" {
		req.Header.Set("X-Feedback-Token", token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	resp.Body.Close()
	return resp
}

// chat asks the chat route something with a key and returns the status.
func (c *chatGateway) chat(key, prompt string) *http.Response {
	c.t.Helper()
	return c.post("/v1/chat/completions", key, "", `{"model":"chat","messages":[{"role":"user","content":"`+prompt+`"}]}`)
}
