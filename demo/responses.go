package demo

import (
	"encoding/json"
	"fmt"
	"net/http"
	"time"
)

// responses answers POST /v1/responses (OpenAI's Responses API).
func (m *ChatModel) responses(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Model  string          `json:"model"`
		Input  json.RawMessage `json:"input"`
		Stream bool            `json:"stream"`
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		apiError(w, http.StatusBadRequest, "invalid JSON: "+err.Error())
		return
	}
	reply, prompt := contentText(req.Input), 0
	var items []struct {
		Role    string          `json:"role"`
		Content json.RawMessage `json:"content"`
	}
	if json.Unmarshal(req.Input, &items) == nil {
		for _, it := range items {
			text := contentText(it.Content)
			prompt += countTokens(text) + 4
			if it.Role == "user" {
				reply = text
			}
		}
	} else {
		prompt = countTokens(reply) + 4
	}
	now := time.Now()
	id, msgID := fmt.Sprintf("resp_demo_%d", now.UnixNano()), fmt.Sprintf("msg_demo_%d", now.UnixNano())
	part := func(text string) map[string]any {
		return map[string]any{"type": "output_text", "text": text, "annotations": []any{}}
	}
	item := func(status string, content ...any) map[string]any {
		return map[string]any{"type": "message", "id": msgID, "status": status, "role": "assistant", "content": append([]any{}, content...)}
	}
	response := func(status string, output []any, usage any) map[string]any {
		return map[string]any{"id": id, "object": "response", "created_at": now.Unix(), "status": status,
			"model": req.Model, "output": output, "usage": usage}
	}
	usage := map[string]int{"input_tokens": prompt, "output_tokens": countTokens(reply), "total_tokens": prompt + countTokens(reply)}
	done := response("completed", []any{item("completed", part(reply))}, usage)
	if !req.Stream {
		writeJSON(w, done)
		return
	}
	var events []typedEvent
	add := func(typ string, fields map[string]any) {
		fields["type"], fields["sequence_number"] = typ, len(events)
		events = append(events, typedEvent{typ, fields})
	}
	add("response.created", map[string]any{"response": response("in_progress", []any{}, nil)})
	add("response.in_progress", map[string]any{"response": response("in_progress", []any{}, nil)})
	add("response.output_item.added", map[string]any{"output_index": 0, "item": item("in_progress")})
	add("response.content_part.added", map[string]any{"item_id": msgID, "output_index": 0, "content_index": 0, "part": part("")})
	for _, piece := range splitWords(reply) {
		add("response.output_text.delta", map[string]any{"item_id": msgID, "output_index": 0, "content_index": 0, "delta": piece, "logprobs": []any{}})
	}
	add("response.output_text.done", map[string]any{"item_id": msgID, "output_index": 0, "content_index": 0, "text": reply, "logprobs": []any{}})
	add("response.content_part.done", map[string]any{"item_id": msgID, "output_index": 0, "content_index": 0, "part": part(reply)})
	add("response.output_item.done", map[string]any{"output_index": 0, "item": item("completed", part(reply))})
	add("response.completed", map[string]any{"response": done})
	m.stream(w, r, events, false)
}
