package gateway

import (
	"strings"
	"testing"
)

// answer1KB is a 1 KB chat completion with usage, as bench/gateway's
// upstream sends.
var answer1KB = []byte(`{"id":"chatcmpl-1","object":"chat.completion","created":1700000000,"model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"` +
	strings.Repeat("lorem ipsum ", 76) + `"},"finish_reason":"stop"}],"usage":{"prompt_tokens":250,"completion_tokens":230,"total_tokens":480}}`)

var chunk = []byte(`data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1700000000,"model":"m","choices":[{"index":0,"delta":{"content":"lorem "},"finish_reason":null}]}`)

// BenchmarkAnswerUsage is the accounting of a complete chat answer, on
// every non-streamed request.
func BenchmarkAnswerUsage(b *testing.B) {
	b.ReportAllocs()
	b.SetBytes(int64(len(answer1KB)))
	for b.Loop() {
		if u := answerUsage(chatFormat{}, answer1KB, Usage{}); u.CompletionTokens != 230 {
			b.Fatal(u)
		}
	}
}

// BenchmarkStreamFollow is the per-event work of following a chat stream.
func BenchmarkStreamFollow(b *testing.B) {
	b.ReportAllocs()
	f := chatFormat{}.follow()
	for b.Loop() {
		f.observe(EventData(chunk))
		f.outgoing(chunk)
	}
}
