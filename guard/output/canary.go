package output

import (
	"context"
	"strings"
	"time"

	"github.com/modelgate/modelgate/guard"
)

// Canary is the guard that blocks an answer containing its request's
// canary token (see guard.WithCanary). It reads the normalised text with
// separators dropped, so a token echoed with spaces, zero-width
// characters or in another case is still caught.
type Canary struct {
	Action guard.Action // BlockIt unless set
}

// Name identifies the guard.
func (c *Canary) Name() string { return "canary" }

// Inspect looks for the request's canary in texts.
func (c *Canary) Inspect(ctx context.Context, texts []*guard.Text) (guard.Result, error) {
	start := time.Now()
	res := guard.Result{Guard: c.Name()}
	token := squeeze(guard.CanaryFrom(ctx))
	if token == "" {
		return res, nil
	}
	action := c.Action
	if action == guard.Ignore {
		action = guard.BlockIt
	}
	for i, t := range texts {
		if strings.Contains(squeeze(t.Norm().Text), token) {
			res.Findings = append(res.Findings, guard.Finding{Entity: CanaryLeak, Segment: i, Start: 0, End: len(t.Text), Score: 1, Action: action})
			res.Score, res.Verdict = 1, action.Verdict()
		}
	}
	res.Duration = time.Since(start)
	return res, nil
}

// squeeze lower-cases s and drops everything but letters and digits.
func squeeze(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			return r
		case r >= 'A' && r <= 'Z':
			return r + 'a' - 'A'
		}
		return -1
	}, s)
}
