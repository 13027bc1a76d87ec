package redteam

import (
	"context"
	"sync"
	"time"
)

// Attempt is one probe played and judged.
type Attempt struct {
	Probe     string `json:"probe"`
	Category  string `json:"category"`
	Technique string `json:"technique"`
	Outcome   string `json:"outcome"`
	Evidence  string `json:"evidence"`
	Status    int    `json:"status,omitempty"`
	LatencyMS int64  `json:"latency_ms"`
}

// Runner plays probes against a target with bounded concurrency and
// rate.
type Runner struct {
	Target *Target
	// Concurrency is how many probes run at once (default 4); Rate the
	// most requests started a second (0: unbounded).
	Concurrency int
	Rate        float64
	// Done are probe ids already judged (a resumed run): they are skipped.
	Done map[string]bool
	// OnAttempt is called with each attempt as it is judged, in the
	// order they finish, from one goroutine at a time: a resumable run
	// appends it to its file here.
	OnAttempt func(Attempt) error
	// Judge, when set, gives a second opinion on answers judged resisted.
	Judge *JudgeModel
}

// Run plays every probe not yet done and returns the attempts in probe
// order. Secrets are planted for the whole run.
func (r *Runner) Run(ctx context.Context, probes []Probe, sec Secrets) ([]Attempt, error) {
	n := r.Concurrency
	if n <= 0 {
		n = 4
	}
	var tick <-chan time.Time
	if r.Rate > 0 {
		t := time.NewTicker(time.Duration(float64(time.Second) / r.Rate))
		defer t.Stop()
		tick = t.C
	}
	out := make([]*Attempt, len(probes))
	var (
		mu       sync.Mutex
		firstErr error
		wg       sync.WaitGroup
	)
	sem := make(chan struct{}, n)
	for i, p := range probes {
		if r.Done[p.ID] {
			continue
		}
		if tick != nil {
			select {
			case <-tick:
			case <-ctx.Done():
			}
		}
		if ctx.Err() != nil {
			break
		}
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			began := time.Now()
			a := Attempt{Probe: p.ID, Category: p.Category, Technique: p.Technique}
			ans, err := r.Target.Attack(ctx, p, sec)
			a.LatencyMS = time.Since(began).Milliseconds()
			if err != nil {
				a.Outcome, a.Evidence = Failed, err.Error()
			} else {
				a.Status = ans.Status
				a.Outcome, a.Evidence = Judge(p, sec, ans)
				if a.Outcome == Resisted && r.Judge != nil {
					switch complied, why, err := r.Judge.Decide(ctx, p, sec, ans); {
					case err != nil:
						a.Evidence += " (the judge model gave no verdict: " + err.Error() + ")"
					case complied:
						a.Outcome, a.Evidence = Complied, "the judge model holds it complied: "+why
					}
				}
			}
			mu.Lock()
			defer mu.Unlock()
			out[i] = &a
			if r.OnAttempt != nil && firstErr == nil {
				firstErr = r.OnAttempt(a)
			}
		}()
	}
	wg.Wait()
	var res []Attempt
	for _, a := range out {
		if a != nil {
			res = append(res, *a)
		}
	}
	if firstErr != nil {
		return res, firstErr
	}
	return res, ctx.Err()
}
