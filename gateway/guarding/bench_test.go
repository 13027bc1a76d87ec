package guarding

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/modelgate/modelgate/config"
	"github.com/modelgate/modelgate/guard"
)

// prose4K is a 4 KB prompt or answer of ordinary business text with a few
// entities in it: an email, a phone number, an IP address and a date.
var prose4K = func() string {
	base := "Thanks for the update on the quarterly plan. The regional team met on Tuesday and agreed to move the launch to the second week of March, " +
		"once the supplier confirms the new delivery schedule. Please send the revised budget to jordan.lee@example.com or call +44 20 7946 0958 before Friday; " +
		"the staging server at 10.20.30.40 will be rebuilt over the weekend, so expect the dashboard to be unavailable for a few hours. " +
		"We also need a short summary of the customer interviews, the open risks, and a recommendation on whether to extend the pilot to the two new sites. "
	return strings.Repeat(base, 4096/len(base)+1)[:4096]
}()

// code4K is 4 KB of source code dense with the words credential rules
// key on (key, token, secret, password): the worst case for gitleaks.
var code4K = strings.Repeat("func connect(cfg Config) error {\n\tpassword := os.Getenv(\"DB_PASSWORD\")\n\ttoken = compute(cfg.APIKey, secret)\n\treturn dial(cfg.Host, password, token)\n}\n", 40)[:4096]

func standard(b *testing.B) *Profile {
	cfg, err := config.Parse("standard", []byte(config.StandardGuards))
	if err != nil {
		b.Fatal(err)
	}
	p, err := Compile("standard", cfg.Guards.Pipelines["standard"], nil)
	if err != nil {
		b.Fatal(err)
	}
	return p
}

// BenchmarkGuards4KB runs every guard of the standard pipeline on a 4 KB
// prompt (input) and a 4 KB answer (output), as one request does, and
// reports the median time of the pair: for business prose with a few
// entities, and for keyword-dense source code.
func BenchmarkGuards4KB(b *testing.B) {
	b.Run("prose", func(b *testing.B) { benchPair(b, prose4K) })
	b.Run("code", func(b *testing.B) { benchPair(b, code4K) })
}

func benchPair(b *testing.B, text string) {
	p := standard(b)
	ctx := guard.WithCanary(context.Background(), guard.NewCanary())
	times := make([]time.Duration, 0, b.N)
	b.SetBytes(2 * int64(len(text)))
	for b.Loop() {
		start := time.Now()
		var v guard.Vault
		in := guard.NewTexts([]guard.Segment{{Path: "/messages/0/content", Role: "user", Text: text}})
		p.Input.Run(ctx, in, &v)
		out := guard.NewTexts([]guard.Segment{{Path: "/choices/0/message/content", Role: "assistant", Text: text}})
		p.Output.Run(ctx, out, &v)
		times = append(times, time.Since(start))
	}
	slices.Sort(times)
	b.ReportMetric(float64(times[len(times)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(times[len(times)*99/100].Microseconds()), "p99-µs")
}

// BenchmarkGuardEach times each guard of the standard pipeline alone on
// 4 KB, to show where the time goes.
func BenchmarkGuardEach(b *testing.B) {
	p := standard(b)
	ctx := guard.WithCanary(context.Background(), guard.NewCanary())
	for _, st := range []struct {
		stage string
		pl    guard.Pipeline
	}{{"input", p.Input}, {"output", p.Output}} {
		for _, g := range st.pl.Guards {
			b.Run(st.stage+"/"+g.Name(), func(b *testing.B) {
				b.SetBytes(4096)
				for b.Loop() {
					g.Inspect(ctx, guard.NewTexts([]guard.Segment{{Text: prose4K}}))
				}
			})
		}
	}
}

// sizedText returns n bytes of prose, or of real Go source (the standard
// library's net/http server, the shape of a code prompt), cut at a
// character boundary.
func sizedText(b *testing.B, kind string, n int) string {
	var base string
	switch kind {
	case "prose":
		base = prose4K
	case "code":
		src, err := os.ReadFile(filepath.Join(runtime.GOROOT(), "src", "net", "http", "server.go"))
		if err != nil {
			b.Skipf("no Go source to use as code: %v", err)
		}
		base = string(src)
	}
	s := strings.Repeat(base, n/len(base)+1)[:n]
	return strings.ToValidUTF8(s, "")
}

// BenchmarkGuardsBySize runs each guard of the standard pipeline alone on
// 4 KB, 32 KB and 200 KB (the default max_prompt_chars) of prose and of
// source code, and the whole pipeline on each, input then output. The
// p50 and p99 of the whole must stay well inside the default budget.
func BenchmarkGuardsBySize(b *testing.B) {
	p := standard(b)
	ctx := guard.WithCanary(context.Background(), guard.NewCanary())
	for _, kind := range []string{"prose", "code"} {
		for _, size := range []int{4 << 10, 32 << 10, 200_000} {
			text := sizedText(b, kind, size)
			name := fmt.Sprintf("%s/%dKB", kind, size/1000)
			b.Run(name+"/pipeline", func(b *testing.B) { benchPair(b, text) })
			for _, st := range []struct {
				stage string
				pl    guard.Pipeline
			}{{"input", p.Input}, {"output", p.Output}} {
				for _, g := range st.pl.Guards {
					b.Run(name+"/"+st.stage+"/"+g.Name(), func(b *testing.B) {
						b.SetBytes(int64(len(text)))
						for b.Loop() {
							g.Inspect(ctx, guard.NewTexts([]guard.Segment{{Role: "user", Text: text}}))
						}
					})
				}
			}
		}
	}
}
