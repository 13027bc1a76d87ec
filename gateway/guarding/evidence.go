package guarding

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/modelgate/modelgate/gateway"
	"github.com/modelgate/modelgate/guard"
)

// blocked is the refusal for a message a guard stopped. It names the
// guard and the entity types, never the values.
func blocked(r *guard.Result, what string, status int, typ string) *gateway.Refusal {
	if r.Err != nil {
		return &gateway.Refusal{Status: http.StatusServiceUnavailable, Type: gateway.TypeServer, Code: "guard_failed",
			Message: fmt.Sprintf("the %s guard could not check the %s (%v), so it was not served", r.Guard, what, r.Err)}
	}
	code := "request_blocked"
	if what != "request" {
		code = "response_blocked"
	}
	return &gateway.Refusal{Status: status, Type: typ, Code: code,
		Message: fmt.Sprintf("the %s was blocked by the %s guard: it contains %s", what, r.Guard, entityList(r))}
}

func entityList(r *guard.Result) string {
	var names []string
	seen := map[string]bool{}
	for _, f := range r.Findings {
		if f.Action == guard.BlockIt && !seen[f.Entity] {
			seen[f.Entity] = true
			names = append(names, f.Entity)
		}
	}
	if len(names) == 0 {
		return "content it does not allow"
	}
	return strings.Join(names, ", ")
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
