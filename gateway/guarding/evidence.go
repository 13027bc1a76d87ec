package guarding

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/modelgate/modelgate/gateway"
	"github.com/modelgate/modelgate/guard"
)

// requestBlocked is the refusal for a request an input guard stopped. It
// names the guard and the entity types, never the values.
func requestBlocked(r *guard.Result) *gateway.Refusal {
	if r.Err != nil {
		return guardFailed(r, "request")
	}
	return &gateway.Refusal{Status: http.StatusBadRequest, Type: gateway.TypeInvalidRequest, Code: "request_blocked", Blocked: true,
		Message: fmt.Sprintf("the request was blocked by the %s guard: it contains %s", r.Guard, strings.Join(blockingEntities(r), ", "))}
}

// answerBlocked is the refusal for an answer an output guard stopped.
func (p *Profile) answerBlocked(r *guard.Result) *gateway.Refusal {
	if r.Err != nil {
		return guardFailed(r, "response")
	}
	ents := blockingEntities(r)
	return p.withhold(r.Guard, ents, fmt.Sprintf("the response was blocked by the %s guard: it contains %s", r.Guard, strings.Join(ents, ", ")))
}

// withhold is the refusal for an answer the pipeline will not pass. By
// default the caller gets it in its API's content-filter terms (a 200 that
// SDKs do not retry); a pipeline with output_block: error gets a 502, which
// says x-should-retry: false.
func (p *Profile) withhold(guardName string, entities []string, msg string) *gateway.Refusal {
	r := &gateway.Refusal{Status: http.StatusBadGateway, Type: gateway.TypeUpstream, Code: "response_blocked", Blocked: true, Message: msg}
	if !p.OutputBlockError {
		r.Filter = &gateway.ContentFilter{Guard: guardName, Entities: entities}
	}
	return r
}

// guardFailed is the refusal for a message a guard could not check: a
// failure, which a retry may get past, not a decision.
func guardFailed(r *guard.Result, what string) *gateway.Refusal {
	return &gateway.Refusal{Status: http.StatusServiceUnavailable, Type: gateway.TypeServer, Code: "guard_failed",
		Message: fmt.Sprintf("the %s guard could not check the %s (%v), so it was not served", r.Guard, what, r.Err)}
}

// blockingEntities lists the entity types a guard blocked for.
func blockingEntities(r *guard.Result) []string {
	names := []string{}
	seen := map[string]bool{}
	for _, f := range r.Findings {
		if f.Action == guard.BlockIt && !seen[f.Entity] {
			seen[f.Entity] = true
			names = append(names, f.Entity)
		}
	}
	if len(names) == 0 {
		return []string{"content it does not allow"}
	}
	return names
}

// record adds results to the exchange's evidence.
func record(x *gateway.Exchange, stage string, rs []guard.Result) {
	for i := range rs {
		r := &rs[i]
		gr := gateway.GuardResult{Name: r.Guard, Stage: stage, Verdict: r.Verdict.String(), Score: r.Score, Duration: r.Duration}
		if r.Err != nil {
			gr.Error = r.Err.Error()
		}
		if len(r.Findings) > 0 {
			gr.Entities = map[string]int64{}
			for _, f := range r.Findings {
				gr.Entities[f.Entity]++
			}
		}
		x.Guards = append(x.Guards, gr)
	}
}
