package guarding

import (
	"encoding/json"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/modelgate/modelgate/config"
	"github.com/modelgate/modelgate/internal/testenv"
)

// TestLargeCodePromptPassesTheStandardPipeline is the red team's case: a
// 100 KB prompt of source code, well inside max_prompt_chars, failed with
// 503 guard_failed because the secrets guard overran its budget. The
// budget now covers each 32 KiB, and the guards read long texts only
// around what they look for.
func TestLargeCodePromptPassesTheStandardPipeline(t *testing.T) {
	if testenv.RaceEnabled {
		t.Skip("skipped under the race detector, which slows the guards tenfold: the budget is about real time")
	}
	src, err := os.ReadFile(filepath.Join(runtime.GOROOT(), "src", "net", "http", "transport.go"))
	if err != nil {
		t.Skipf("no Go source to use as the prompt: %v", err)
	}
	code := strings.ToValidUTF8(string(src[:min(len(src), 100_000)]), "")
	c := newCoverage(t, "guards:\n  default: standard\n"+strings.SplitN(config.StandardGuards, "  default: standard\n", 2)[1])
	body, _ := json.Marshal(map[string]any{"model": "llm", "messages": []map[string]string{{"role": "user", "content": "Review this file:\n" + code}}})
	status, out := c.post("/v1/chat/completions", string(body))
	if status != 200 {
		t.Fatalf("%d %.300s", status, out)
	}
}
