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
