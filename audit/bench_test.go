package audit

import (
	"context"
	"testing"
	"time"
)

// BenchmarkAppendDurable measures durable events per second: many
// goroutines appending at once, each waiting until its event is committed
// (fsync included), as the gateway does in fail-closed mode.
func BenchmarkAppendDurable(b *testing.B) {
	tl := openBenchLog(b)
	payloads := []Payload{{Kind: PayloadInput, Mode: CaptureHash, Data: make([]byte, 1024)},
		{Kind: PayloadOutput, Mode: CaptureHash, Data: make([]byte, 1024)}}
	b.SetParallelism(32) // 64 appenders on 2 CPUs
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			if err := tl.log.Append(context.Background(), testEvent(i), payloads...); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

func openBenchLog(b *testing.B) *testLog { return openTestLogTB(b, b.TempDir(), Options{}) }

// BenchmarkVerify measures `audit verify` in events per second, on a log
// of realistic events (hash-mode payloads, as the gateway writes them).
func BenchmarkVerify(b *testing.B) {
	const n = 100_000
	tl := openTestLogTB(b, b.TempDir(), Options{})
	payloads := []Payload{{Kind: PayloadInput, Mode: CaptureHash, Data: make([]byte, 1024)},
		{Kind: PayloadOutput, Mode: CaptureHash, Data: make([]byte, 1024)}}
	for i := range n {
		ev := testEvent(i)
		ev.Usage = &Usage{PromptTokens: 200, CompletionTokens: 200}
		ev.LatencyUS, ev.UpstreamLatencyUS = 1234, 1000
		if err := tl.log.Submit(ev, payloads...); err != nil {
			b.Fatal(err)
		}
	}
	if _, err := tl.log.Checkpoint(context.Background()); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for range b.N {
		r, err := Verify(context.Background(), tl.store, tl.verifier)
		if err != nil || r.Events != n {
			b.Fatal(r, err)
		}
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkParseEvent reads back an inference event as the gateway
// records it, the way the monitor's watcher reads every event.
func BenchmarkParseEvent(b *testing.B) {
	ev := &Event{Index: 123456, Time: time.Now().UTC(), RequestID: "req_01HZX3Q8W9K2M4N6P8R0S2T4V6",
		Actor:  Actor{Kind: ActorAPIKey, ID: "key_7f3a9c", IP: "10.1.2.3", UserAgent: "openai-python/1.55.0"},
		Action: "inference.chat", Resource: Resource{Model: "gpt-4o-mini", ModelVersion: "3", Route: "chat"},
		Decision: Decision{Outcome: Allowed},
		Guards: []GuardResult{{Name: "injection", Stage: "input", Verdict: "allow", Score: 0.02, DurationUS: 180},
			{Name: "pii", Stage: "output", Verdict: "allow", DurationUS: 95}},
		HTTP:      &HTTP{Method: "POST", Path: "/v1/chat/completions", Status: 200},
		LatencyUS: 5230, UpstreamLatencyUS: 4900, Usage: &Usage{PromptTokens: 250, CompletionTokens: 120},
		Payloads: Payloads{Input: &PayloadRef{Mode: "hash", SHA256: "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08", Size: 1019},
			Output: &PayloadRef{Mode: "hash", SHA256: "60303ae22b998861bce3b28f33eec1be758a213c86c93c076dbe9f558c11c752", Size: 1016}},
		Details: map[string]string{"prompt_fp": "5e1f0c2a9b7d4e61"}}
	data := ev.Canonical()
	b.Run("ParseEvent", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		b.ReportAllocs()
		for b.Loop() {
			if _, err := ParseEvent(data); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("Decoder", func(b *testing.B) {
		var dec Decoder
		b.SetBytes(int64(len(data)))
		b.ReportAllocs()
		for b.Loop() {
			if _, err := dec.Decode(data); err != nil {
				b.Fatal(err)
			}
		}
	})
}
