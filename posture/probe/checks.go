package probe

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"time"
)

func (p *prober) checkAuth(ctx context.Context) Check {
	body := p.inference()
	r, err := p.do(ctx, "POST", p.opts.Path, jsonHeader(""), strings.NewReader(body), int64(len(body)))
	if err != nil {
		return Check{Status: Inconclusive, Detail: err.Error()}
	}
	switch {
	case r.status == http.StatusUnauthorized || r.status == http.StatusForbidden:
		p.authRequired = true
		return Check{Status: Pass, Detail: fmt.Sprintf("POST %s without credentials: %d", p.opts.Path, r.status)}
	case r.status/100 == 2:
		p.issue("PS-EP-006", "POST %s with no credentials answered %d", p.opts.Path, r.status)
		return Check{Status: Fail, Detail: fmt.Sprintf("a one-token inference without credentials answered %d", r.status)}
	}
	return Check{Status: Inconclusive, Detail: fmt.Sprintf("POST %s without credentials: %d, neither an answer nor a refusal of the caller", p.opts.Path, r.status)}
}

// checkMethods sends the methods an inference path has no use for. With
// a key it sees past authentication; without one, a 401 to everything
// says only that authentication comes first.
func (p *prober) checkMethods(ctx context.Context) Check {
	var accepted []string
	refusedAll := true
	for _, m := range []string{"GET", "PUT", "DELETE", "PATCH", "TRACE"} {
		r, err := p.do(ctx, m, p.opts.Path, jsonHeader(p.opts.Key), nil, 0)
		if err != nil {
			return Check{Status: Inconclusive, Detail: fmt.Sprintf("%s: %v", m, err)}
		}
		if r.status != http.StatusUnauthorized && r.status != http.StatusForbidden {
			refusedAll = false
		}
		if r.status/100 == 2 {
			what := fmt.Sprintf("%s %s answered %d", m, p.opts.Path, r.status)
			if m == "TRACE" && strings.Contains(string(r.body), "TRACE ") {
				what += " and echoed the request (headers included)"
			}
			accepted = append(accepted, what)
			p.issue("PS-EP-007", "%s", what)
		}
	}
	switch {
	case len(accepted) > 0:
		return Check{Status: Fail, Detail: strings.Join(accepted, "; ")}
	case refusedAll && p.opts.Key == "":
		return Check{Status: Inconclusive, Detail: "every method was refused for lack of credentials; give a key to look past authentication"}
	}
	return Check{Status: Pass, Detail: "GET, PUT, DELETE, PATCH and TRACE refused"}
}

const probeOrigin = "https://modelgate-probe.invalid"

func (p *prober) checkCORS(ctx context.Context) Check {
	h := http.Header{"Origin": {probeOrigin}, "Access-Control-Request-Method": {"POST"}, "Access-Control-Request-Headers": {"authorization, content-type"}}
	r, err := p.do(ctx, "OPTIONS", p.opts.Path, h, nil, 0)
	if err != nil {
		return Check{Status: Inconclusive, Detail: err.Error()}
	}
	origin := r.header.Get("Access-Control-Allow-Origin")
	creds := strings.EqualFold(r.header.Get("Access-Control-Allow-Credentials"), "true")
	switch {
	case origin == probeOrigin && creds:
		p.issue("PS-EP-008", "any origin is reflected with Access-Control-Allow-Credentials: true")
		return Check{Status: Fail, Detail: "the origin " + probeOrigin + " is allowed, with credentials"}
	case origin == "*" && !p.authRequired || origin == probeOrigin && !p.authRequired:
		p.issue("PS-EP-008", "Access-Control-Allow-Origin: %s on an endpoint that asks for no credentials: any web page a user opens can call it", origin)
		return Check{Status: Fail, Detail: "any origin may call an unauthenticated endpoint"}
	}
	if origin == "" {
		return Check{Status: Pass, Detail: "no cross-origin access granted"}
	}
	return Check{Status: Pass, Detail: "Access-Control-Allow-Origin: " + origin + " (credentials are still required)"}
}

// Stack traces and internal paths in error bodies, by language.
var traceRE = regexp.MustCompile(`Traceback \(most recent call last\)|File "[^"]+\.py", line \d+|goroutine \d+ \[|panic: |\bat [\w$.]+\([\w$]+\.(java|kt|scala):\d+\)|\bat .+ \(/?[\w./-]+\.[cm]?js:\d+:\d+\)|System\.[\w.]+Exception|[\w/]+\.(go|py|rb|php):\d+\b`)

// A product name with a version in Server or X-Powered-By.
var versionRE = regexp.MustCompile(`[A-Za-z][\w.-]*/\d+(\.\d+)+`)

func (p *prober) checkErrors(ctx context.Context) Check {
	var seen []string
	trace := func(what string, r *response) {
		if m := traceRE.Find(r.body); m != nil {
			p.issue("PS-EP-012", "%s: the error answer (%d) shows %q", what, r.status, m)
			seen = append(seen, what)
		}
		for _, h := range []string{"Server", "X-Powered-By"} {
			if v := r.header.Get(h); versionRE.MatchString(v) {
				p.issue("PS-EP-013", "%s: %s", h, v)
				seen = append(seen, h)
			}
		}
	}
	bad := `{"model": "probe", "messages": [{"role": "user", "content": "`
	r, err := p.do(ctx, "POST", p.opts.Path, jsonHeader(p.opts.Key), strings.NewReader(bad), int64(len(bad)))
	if err != nil {
		return Check{Status: Inconclusive, Detail: err.Error()}
	}
	trace("malformed JSON", r)
	wrong := `{"model": 7, "messages": {"role": []}, "max_tokens": "x"}`
	if r, err = p.do(ctx, "POST", p.opts.Path, jsonHeader(p.opts.Key), strings.NewReader(wrong), int64(len(wrong))); err == nil {
		trace("ill-typed JSON", r)
	}
	if len(seen) > 0 {
		return Check{Status: Fail, Detail: "errors reveal internals: " + strings.Join(dedupe(seen), ", ")}
	}
	return Check{Status: Pass, Detail: fmt.Sprintf("malformed and ill-typed requests answered without internals (%d)", r.status)}
}

func dedupe(s []string) []string {
	seen := map[string]bool{}
	out := s[:0]
	for _, x := range s {
		if !seen[x] {
			seen[x] = true
			out = append(out, x)
		}
	}
	return out
}

// checkBodySize sends growing bodies and stops at the first 413. Each is
// a well-formed one-token request whose prompt is the padding, streamed
// rather than held in memory.
func (p *prober) checkBodySize(ctx context.Context) Check {
	if p.authRequired && p.opts.Key == "" {
		return Check{Status: Inconclusive, Detail: "authentication comes first; give a key to test the body limit"}
	}
	var sizes []int64
	for _, n := range []int64{1 << 20, 4 << 20, 16 << 20} {
		if n < p.opts.MaxBody {
			sizes = append(sizes, n)
		}
	}
	sizes = append(sizes, p.opts.MaxBody)
	if m := p.opts.Expect.MaxBodyBytes; m > 0 {
		sizes = []int64{m + 1}
	}
	last := 0
	for _, n := range sizes {
		r, err := p.do(ctx, "POST", p.opts.Path, jsonHeader(p.opts.Key), paddedRequest(p.opts.Model, n), n)
		if err != nil {
			if err == errBudget || ctx.Err() != nil {
				return Check{Status: Inconclusive, Detail: err.Error()}
			}
			// The server closed the connection rather than read on:
			// a limit, if not a polite one.
			return Check{Status: Pass, Detail: fmt.Sprintf("the connection was closed at %d bytes (%v)", n, err)}
		}
		last = r.status
		switch {
		case r.status == http.StatusRequestEntityTooLarge:
			return Check{Status: Pass, Detail: fmt.Sprintf("413 at %d bytes", n)}
		case r.status == http.StatusUnauthorized || r.status == http.StatusForbidden:
			return Check{Status: Inconclusive, Detail: fmt.Sprintf("%d: the key was not accepted", r.status)}
		}
	}
	if m := p.opts.Expect.MaxBodyBytes; m > 0 {
		p.issue("PS-EP-015", "the configuration sets max_body_bytes %d; a body of %d bytes got %d, not 413", m, m+1, last)
		return Check{Status: Fail, Detail: fmt.Sprintf("a body over the configured limit got %d", last)}
	}
	p.issue("PS-EP-009", "a body of %d bytes got %d, not 413", sizes[len(sizes)-1], last)
	return Check{Status: Fail, Detail: fmt.Sprintf("no 413 up to %d bytes", sizes[len(sizes)-1])}
}

// paddedRequest streams a one-token request of exactly n bytes (at least
// its frame's length).
func paddedRequest(model string, n int64) io.Reader {
	head := fmt.Sprintf(`{"model":%q,"max_tokens":1,"messages":[{"role":"user","content":"`, model)
	tail := `"}]}`
	pad := max(n-int64(len(head)+len(tail)), 0)
	return io.MultiReader(strings.NewReader(head), io.LimitReader(repeatReader('a'), pad), strings.NewReader(tail))
}

type repeatReader byte

func (r repeatReader) Read(b []byte) (int, error) {
	for i := range b {
		b[i] = byte(r)
	}
	return len(b), nil
}

// checkRateLimit sends one-token requests one after another until the
// first 429. With an expected rate R a minute, a limiter that lets R
// through at once and refills at R a minute (GCRA, a token bucket) must
// refuse by request R + 1 + R×(minutes elapsed); the earlier checks'
// requests with the key can only bring the 429 sooner. Without an
// expected rate it sends Burst.
func (p *prober) checkRateLimit(ctx context.Context) Check {
	if p.authRequired && p.opts.Key == "" {
		return Check{Status: Inconclusive, Detail: "authentication comes first; give a key to test the caller's rate limit"}
	}
	expect := p.opts.Expect.RPM
	if left := int64(p.opts.MaxRequests) - p.sent.Load(); expect > 0 && expect+1 > left {
		return Check{Status: Inconclusive, Detail: fmt.Sprintf("testing %d requests a minute needs more than %d requests; raise --max-requests", expect, left)}
	}
	// allowed is how many requests the limit may let through by now.
	began := time.Now()
	allowed := func() int64 {
		if expect <= 0 {
			return int64(p.opts.Burst) - 1
		}
		return expect + int64(time.Since(began).Minutes()*float64(expect))
	}
	body := p.inference()
	statuses := map[int]int{}
	var i int64
	for i = 1; i <= allowed()+1; i++ {
		r, err := p.do(ctx, "POST", p.opts.Path, jsonHeader(p.opts.Key), strings.NewReader(body), int64(len(body)))
		if err != nil {
			return Check{Status: Inconclusive, Detail: fmt.Sprintf("request %d: %v", i, err)}
		}
		statuses[r.status]++
		if r.status != http.StatusTooManyRequests {
			continue
		}
		detail := fmt.Sprintf("429 at request %d of the burst", i)
		if ra := r.header.Get("Retry-After"); ra == "" {
			p.issue("PS-EP-011", "429 without Retry-After")
			return Check{Status: Fail, Detail: detail + ", without Retry-After"}
		} else {
			detail += ", Retry-After: " + ra
		}
		return Check{Status: Pass, Detail: detail}
	}
	n, took := i-1, time.Since(began).Round(time.Millisecond)
	if expect > 0 {
		p.issue("PS-EP-015", "the configuration allows %d requests a minute; %d requests in %s got no 429 (%v), where at most %d could pass", expect, n, took, statuses, n-1)
		return Check{Status: Fail, Detail: fmt.Sprintf("no 429 after %d requests in %s", n, took)}
	}
	p.issue("PS-EP-010", "%d requests in %s (%.0f a minute) got no 429 (%v): no limit, or one that allows this burst; --expect-rpm or --config test a known rate", n, took, float64(n)/took.Minutes(), statuses)
	return Check{Status: Fail, Detail: fmt.Sprintf("no 429 in %d requests in %s", n, took)}
}
