package demo

import (
	"encoding/json"
	"fmt"
	"net/http"
	"time"
)

// messages answers POST /v1/messages (Anthropic's Messages API).
func (m *ChatModel) messages(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Model    string          `json:"model"`
		System   json.RawMessage `json:"system"`
		Messages []struct {
			Role    string          `json:"role"`
			Content json.RawMessage `json:"content"`
		} `json:"messages"`
		Stream bool `json:"stream"`
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		anthropicError(w, http.StatusBadRequest, "invalid JSON: "+err.Error())
		return
	}
	var reply string
	prompt := countTokens(contentText(req.System))
	for _, msg := range req.Messages {
		text := contentText(msg.Content)
		prompt += countTokens(text) + 4
		if msg.Role == "user" {
			reply = text
		}
	}
	id := fmt.Sprintf("msg_demo_%d", time.Now().UnixNano())
	message := func(content []any, stop any, output int) map[string]any {
		return map[string]any{"id": id, "type": "message", "role": "assistant", "model": req.Model, "content": content,
			"stop_reason": stop, "stop_sequence": nil, "usage": map[string]int{"input_tokens": prompt, "output_tokens": output}}
	}
	if !req.Stream {
		writeJSON(w, message([]any{map[string]any{"type": "text", "text": reply}}, "end_turn", countTokens(reply)))
		return
	}
	events := []typedEvent{
		{"message_start", map[string]any{"type": "message_start", "message": message([]any{}, nil, 1)}},
		{"content_block_start", map[string]any{"type": "content_block_start", "index": 0, "content_block": map[string]any{"type": "text", "text": ""}}},
		{"ping", map[string]any{"type": "ping"}},
	}
	for _, piece := range splitWords(reply) {
		events = append(events, typedEvent{"content_block_delta", map[string]any{"type": "content_block_delta", "index": 0,
			"delta": map[string]any{"type": "text_delta", "text": piece}}})
	}
	events = append(events,
		typedEvent{"content_block_stop", map[string]any{"type": "content_block_stop", "index": 0}},
		typedEvent{"message_delta", map[string]any{"type": "message_delta", "delta": map[string]any{"stop_reason": "end_turn", "stop_sequence": nil},
			"usage": map[string]int{"output_tokens": countTokens(reply)}}},
		typedEvent{"message_stop", map[string]any{"type": "message_stop"}})
	m.stream(w, r, events, false)
}

func anthropicError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]any{"type": "error", "error": map[string]any{"type": "invalid_request_error", "message": msg}})
}
