package ratelimit

import (
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Applied is one limit applied to a request, for the response headers.
type Applied struct {
	Name   string // policy identifier, e.g. "key-rpm"
	Limit  Limit
	Result Result
}

// SetHeaders writes the IETF RateLimit-Policy and RateLimit fields
// (draft-ietf-httpapi-ratelimit-headers-10) for the applied limits, and
// Retry-After when one of them refused the request.
//
//	RateLimit-Policy: "key-rpm";q=60;w=60, "key-tpm";q=10000;w=60
//	RateLimit: "key-rpm";r=59;t=1, "key-tpm";r=9500;t=3
func SetHeaders(h http.Header, applied []Applied) {
	var policy, state strings.Builder
	var retry time.Duration
	for _, a := range applied {
		if a.Limit.Unlimited() {
			continue
		}
		if policy.Len() > 0 {
			policy.WriteString(", ")
			state.WriteString(", ")
		}
		policy.WriteString(strconv.Quote(a.Name))
		policy.WriteString(";q=")
		policy.WriteString(strconv.FormatInt(a.Limit.Rate, 10))
		policy.WriteString(";w=")
		policy.WriteString(strconv.FormatInt(ceilSeconds(a.Limit.Period), 10))

		state.WriteString(strconv.Quote(a.Name))
		state.WriteString(";r=")
		state.WriteString(strconv.FormatInt(max(a.Result.Remaining, 0), 10))
		state.WriteString(";t=")
		state.WriteString(strconv.FormatInt(ceilSeconds(a.Result.ResetAfter), 10))
		if !a.Result.Allowed {
			retry = max(retry, a.Result.RetryAfter)
		}
	}
	if policy.Len() > 0 {
		h.Set("RateLimit-Policy", policy.String())
		h.Set("RateLimit", state.String())
	}
	if retry > 0 {
		h.Set("Retry-After", strconv.FormatInt(ceilSeconds(retry), 10))
	}
}

// ceilSeconds rounds up so a client that waits the advertised time is
// never refused for having come back a fraction of a second early.
func ceilSeconds(d time.Duration) int64 {
	if d <= 0 {
		return 0
	}
	return int64(math.Ceil(d.Seconds()))
}
