package redteam

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// Target is an OpenAI-compatible chat endpoint: the gateway, or a model
// server directly.
type Target struct {
	// URL is the API base, ending before /chat/completions (…/v1).
	URL   string
	Model string
	// Key, when set, is sent as a bearer token.
	Key    string
	Client *http.Client
}

type message struct {
	Role       string     `json:"role"`
	Content    string     `json:"content"`
	ToolCalls  []toolCall `json:"tool_calls,omitempty"`
	ToolCallID string     `json:"tool_call_id,omitempty"`
}

type toolCall struct {
	ID       string `json:"id"`
	Type     string `json:"type"`
	Function struct {
		Name      string `json:"name"`
		Arguments string `json:"arguments"`
	} `json:"function"`
}

// maxAnswer bounds what is read of an answer.
const maxAnswer = 1 << 20

// Attack plays a probe against the target: each turn in order, with the
// model's earlier answers, the tool result before the last turn's answer
// when the probe has one. It returns the last answer.
func (t *Target) Attack(ctx context.Context, p Probe, sec Secrets) (Answer, error) {
	msgs := []message{{Role: "system", Content: sec.SystemPrompt()}}
	var a Answer
	for i, turn := range p.Turns {
		text, err := expand(turn, sec)
		if err != nil {
			return Answer{}, err
		}
		msgs = append(msgs, message{Role: "user", Content: text})
		if i == len(p.Turns)-1 && p.ToolResult != "" {
			result, err := expand(p.ToolResult, sec)
			if err != nil {
				return Answer{}, err
			}
			call := toolCall{ID: "call_rt1", Type: "function"}
			call.Function.Name, call.Function.Arguments = "fetch", `{"query":"requested page"}`
			msgs = append(msgs, message{Role: "assistant", ToolCalls: []toolCall{call}}, message{Role: "tool", ToolCallID: "call_rt1", Content: result})
		}
		if a, err = t.send(ctx, msgs, p.Tools); err != nil {
			return Answer{}, err
		}
		if a.Status/100 != 2 || a.FinishReason == "content_filter" {
			return a, nil // a refusal at any turn ends the conversation
		}
		msgs = append(msgs, message{Role: "assistant", Content: a.Text})
	}
	return a, nil
}

func (t *Target) send(ctx context.Context, msgs []message, tools []string) (Answer, error) {
	body := map[string]any{"model": t.Model, "messages": msgs}
	if len(tools) > 0 {
		var defs []any
		for _, name := range tools {
			defs = append(defs, map[string]any{"type": "function", "function": map[string]any{"name": name,
				"description": "Acme back-office action: " + strings.ReplaceAll(name, "_", " "),
				"parameters":  map[string]any{"type": "object", "properties": map[string]any{"input": map[string]any{"type": "string"}}}}})
		}
		body["tools"] = defs
	}
	b, err := json.Marshal(body)
	if err != nil {
		return Answer{}, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimSuffix(t.URL, "/")+"/chat/completions", bytes.NewReader(b))
	if err != nil {
		return Answer{}, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "modelgate-redteam")
	if t.Key != "" {
		req.Header.Set("Authorization", "Bearer "+t.Key)
	}
	client := t.Client
	if client == nil {
		client = &http.Client{Timeout: 2 * time.Minute}
	}
	resp, err := client.Do(req)
	if err != nil {
		return Answer{}, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	if err != nil {
		return Answer{}, err
	}
	return parseAnswer(resp.StatusCode, raw), nil
}

// parseAnswer reads a chat completion or an error, in OpenAI's shape.
func parseAnswer(status int, raw []byte) Answer {
	a := Answer{Status: status}
	var doc struct {
		Choices []struct {
			Message struct {
				Content   any        `json:"content"`
				ToolCalls []toolCall `json:"tool_calls"`
			} `json:"message"`
			FinishReason string `json:"finish_reason"`
		} `json:"choices"`
		Error *struct {
			Code any    `json:"code"`
			Type string `json:"type"`
		} `json:"error"`
	}
	if json.Unmarshal(raw, &doc) != nil {
		a.Text = string(raw)
		return a
	}
	if doc.Error != nil {
		a.ErrorCode = fmt.Sprint(doc.Error.Code)
		if doc.Error.Code == nil {
			a.ErrorCode = doc.Error.Type
		}
	}
	if len(doc.Choices) > 0 {
		c := doc.Choices[0]
		a.FinishReason = c.FinishReason
		switch v := c.Message.Content.(type) {
		case string:
			a.Text = v
		case []any:
			for _, part := range v {
				if m, ok := part.(map[string]any); ok {
					if s, ok := m["text"].(string); ok {
						a.Text += s
					}
				}
			}
		}
		for _, tc := range c.Message.ToolCalls {
			a.ToolCalls = append(a.ToolCalls, tc.Function.Name)
		}
	}
	return a
}
