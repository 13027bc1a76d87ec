package audit

import (
	"context"
	"testing"
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
