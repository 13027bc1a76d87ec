// Package demo provides the two upstreams that `modelgate demo` starts and
// the tests use: an OpenAI-compatible chat model that echoes, and a small
// logistic-regression classifier served over KServe v2. They are for
// demonstrations and tests, not for production traffic.
package demo

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"strings"
	"time"
)

// ChatModel is a model server that answers every request with the text of
// the last user message. It speaks OpenAI's API (/v1/chat/completions,
// /v1/completions, /v1/embeddings, /v1/responses and /v1/models) and
// Anthropic's (/v1/messages), streaming too.
type ChatModel struct {
	// Name is the model id it reports; empty means "demo-chat".
	Name string
	// ChunkDelay is the pause between streamed chunks, so a stream is
	// visibly a stream.
	ChunkDelay time.Duration
	// APIKey, when set, must arrive as "Authorization: Bearer <APIKey>"
	// or, as Anthropic's API takes it, "x-api-key: <APIKey>".
	APIKey string
	// Weak makes the chat completions endpoint a deliberately gullible
	// assistant (see weakReply), for red-team exercises: it leaks its
	// system prompt when asked, calls tools it is told to, and refuses
	// only the famous jailbreaks.
	Weak bool
}

func (m *ChatModel) name() string {
	if m.Name == "" {
		return "demo-chat"
	}
	return m.Name
}

// ServeHTTP implements http.Handler.
func (m *ChatModel) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if m.APIKey != "" && r.Header.Get("Authorization") != "Bearer "+m.APIKey && r.Header.Get("X-Api-Key") != m.APIKey {
		apiError(w, http.StatusUnauthorized, "invalid upstream credentials")
		return
	}
	switch {
	case r.Method == http.MethodPost && r.URL.Path == "/v1/chat/completions":
		m.chat(w, r)
	case r.Method == http.MethodPost && r.URL.Path == "/v1/completions":
		m.completion(w, r)
	case r.Method == http.MethodPost && r.URL.Path == "/v1/embeddings":
		m.embeddings(w, r)
	case r.Method == http.MethodPost && r.URL.Path == "/v1/responses":
		m.responses(w, r)
	case r.Method == http.MethodPost && r.URL.Path == "/v1/messages":
		m.messages(w, r)
	case r.Method == http.MethodGet && r.URL.Path == "/v1/models":
		writeJSON(w, map[string]any{"object": "list", "data": []any{
			map[string]any{"id": m.name(), "object": "model", "created": 0, "owned_by": "modelgate-demo"}}})
	default:
		apiError(w, http.StatusNotFound, "no such endpoint: "+r.Method+" "+r.URL.Path)
	}
}

type chatRequest struct {
	Model    string `json:"model"`
	Messages []struct {
		Role    string          `json:"role"`
		Content json.RawMessage `json:"content"`
	} `json:"messages"`
	Tools []struct {
		Function struct {
			Name string `json:"name"`
		} `json:"function"`
	} `json:"tools"`
	Stream        bool `json:"stream"`
	StreamOptions *struct {
		IncludeUsage bool `json:"include_usage"`
	} `json:"stream_options"`
}

func (m *ChatModel) chat(w http.ResponseWriter, r *http.Request) {
	var req chatRequest
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		apiError(w, http.StatusBadRequest, "invalid JSON: "+err.Error())
		return
	}
	var reply, system, toolResult, call string
	for _, msg := range req.Messages {
		switch msg.Role {
		case "user":
			reply, toolResult = contentText(msg.Content), ""
		case "system", "developer":
			system += contentText(msg.Content)
		case "tool":
			toolResult += contentText(msg.Content)
		}
	}
	if m.Weak {
		var tools []string
		for _, t := range req.Tools {
			tools = append(tools, t.Function.Name)
		}
		reply, call = weakReply(system, reply, toolResult, tools)
	}
	if call != "" && !req.Stream {
		writeJSON(w, map[string]any{
			"id": fmt.Sprintf("chatcmpl-demo-%d", time.Now().UnixNano()), "object": "chat.completion", "created": time.Now().Unix(), "model": req.Model,
			"choices": []any{map[string]any{"index": 0, "finish_reason": "tool_calls",
				"message": map[string]any{"role": "assistant", "content": nil, "tool_calls": []any{map[string]any{
					"id": "call_demo", "type": "function", "function": map[string]any{"name": call, "arguments": "{}"}}}}}},
			"usage": map[string]int{"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
		})
		return
	}
	promptTokens := 0
	for _, msg := range req.Messages {
		promptTokens += countTokens(contentText(msg.Content)) + 4
	}
	id := fmt.Sprintf("chatcmpl-demo-%d", time.Now().UnixNano())
	usage := map[string]int{"prompt_tokens": promptTokens, "completion_tokens": countTokens(reply),
		"total_tokens": promptTokens + countTokens(reply)}
	if !req.Stream {
		writeJSON(w, map[string]any{
			"id": id, "object": "chat.completion", "created": time.Now().Unix(), "model": req.Model,
			"choices": []any{map[string]any{"index": 0, "finish_reason": "stop",
				"message": map[string]any{"role": "assistant", "content": reply}}},
			"usage": usage,
		})
		return
	}
	chunk := func(delta map[string]any, finish any) map[string]any {
		return map[string]any{"id": id, "object": "chat.completion.chunk", "created": time.Now().Unix(), "model": req.Model,
			"choices": []any{map[string]any{"index": 0, "delta": delta, "finish_reason": finish}}}
	}
	events := []typedEvent{{data: chunk(map[string]any{"role": "assistant", "content": ""}, nil)}}
	for _, piece := range splitWords(reply) {
		events = append(events, typedEvent{data: chunk(map[string]any{"content": piece}, nil)})
	}
	events = append(events, typedEvent{data: chunk(map[string]any{}, "stop")})
	if req.StreamOptions != nil && req.StreamOptions.IncludeUsage {
		events = append(events, typedEvent{data: map[string]any{"id": id, "object": "chat.completion.chunk", "created": time.Now().Unix(),
			"model": req.Model, "choices": []any{}, "usage": usage}})
	}
	m.stream(w, r, events, true)
}

// typedEvent is one streamed event: data, and a name for APIs that name
// their events (the Responses and Messages APIs).
type typedEvent struct {
	name string
	data any
}

// stream sends events, paced by ChunkDelay; done ends the stream with
// OpenAI's "data: [DONE]".
func (m *ChatModel) stream(w http.ResponseWriter, r *http.Request, events []typedEvent, done bool) {
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	flusher, _ := w.(http.Flusher)
	for i, ev := range events {
		if i > 0 && m.ChunkDelay > 0 {
			select {
			case <-time.After(m.ChunkDelay):
			case <-r.Context().Done():
				return
			}
		}
		if ev.name != "" {
			fmt.Fprintf(w, "event: %s\n", ev.name)
		}
		b, _ := json.Marshal(ev.data)
		fmt.Fprintf(w, "data: %s\n\n", b)
		if flusher != nil {
			flusher.Flush()
		}
	}
	if done {
		fmt.Fprint(w, "data: [DONE]\n\n")
		if flusher != nil {
			flusher.Flush()
		}
	}
}

func (m *ChatModel) completion(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Model  string          `json:"model"`
		Prompt json.RawMessage `json:"prompt"`
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		apiError(w, http.StatusBadRequest, "invalid JSON: "+err.Error())
		return
	}
	text := contentText(req.Prompt)
	writeJSON(w, map[string]any{
		"id": fmt.Sprintf("cmpl-demo-%d", time.Now().UnixNano()), "object": "text_completion",
		"created": time.Now().Unix(), "model": req.Model,
		"choices": []any{map[string]any{"index": 0, "text": text, "finish_reason": "stop"}},
		"usage":   map[string]int{"prompt_tokens": countTokens(text), "completion_tokens": countTokens(text), "total_tokens": 2 * countTokens(text)},
	})
}

// embeddingDims is the length of the demo's embedding vectors.
const embeddingDims = 16

func (m *ChatModel) embeddings(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Model string          `json:"model"`
		Input json.RawMessage `json:"input"`
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		apiError(w, http.StatusBadRequest, "invalid JSON: "+err.Error())
		return
	}
	var inputs []string
	if json.Unmarshal(req.Input, &inputs) != nil {
		inputs = []string{contentText(req.Input)}
	}
	data := make([]any, len(inputs))
	tokens := 0
	for i, in := range inputs {
		data[i] = map[string]any{"object": "embedding", "index": i, "embedding": embed(in)}
		tokens += countTokens(in)
	}
	writeJSON(w, map[string]any{"object": "list", "data": data, "model": req.Model,
		"usage": map[string]int{"prompt_tokens": tokens, "total_tokens": tokens}})
}

// embed maps text to a deterministic unit vector: equal texts embed
// equally, different ones (almost always) differently.
func embed(s string) []float64 {
	sum := sha256.Sum256([]byte(s))
	v := make([]float64, embeddingDims)
	var norm float64
	for i := range v {
		x := float64(int16(binary.BigEndian.Uint16(sum[2*i:]))) / 32768
		v[i] = x
		norm += x * x
	}
	norm = math.Sqrt(norm)
	for i := range v {
		v[i] /= norm
	}
	return v
}

// contentText returns the text of a content value: a string, or the text
// parts of an array.
func contentText(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var parts []struct {
		Type string `json:"type"`
		Text string `json:"text"`
	}
	if json.Unmarshal(raw, &parts) == nil {
		var b strings.Builder
		for _, p := range parts {
			b.WriteString(p.Text)
		}
		return b.String()
	}
	var ss []string
	if json.Unmarshal(raw, &ss) == nil {
		return strings.Join(ss, "\n")
	}
	return ""
}

func countTokens(s string) int { return len(strings.Fields(s)) }

// splitWords splits text into stream chunks, each word keeping the space
// after it, so that joining the chunks gives back the text.
func splitWords(s string) []string {
	var out []string
	for len(s) > 0 {
		i := strings.IndexByte(s, ' ')
		if i < 0 {
			out = append(out, s)
			break
		}
		out = append(out, s[:i+1])
		s = s[i+1:]
	}
	return out
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(v)
}

func apiError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{"message": msg, "type": "invalid_request_error"}})
}
