// Package probe checks a live model endpoint from the outside, read-only
// and bounded: the TLS it offers, whether it asks for credentials, which
// methods and body sizes it accepts, whether it rate-limits, what its
// errors reveal, and which model-server admin APIs answer without
// credentials. It talks only to loopback addresses and hosts the caller
// allows by name, checked when each connection is dialled, so that
// neither a redirect nor a DNS answer takes it elsewhere.
package probe

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"sync/atomic"
	"time"
)

// Options bound and direct a probe. The zero value probes with the
// defaults below.
type Options struct {
	// AllowHosts are host names or addresses, other than loopback ones,
	// that may be probed.
	AllowHosts []string
	// Path is the inference path (default /v1/chat/completions) and
	// Model the model named in the one-token request (default "probe").
	Path, Model string
	// Key, when set, is sent as a bearer token by the checks that need
	// an authenticated caller (body size, rate limit); the
	// authentication check never sends it.
	Key string
	// Expect is what the endpoint's configuration says it enforces;
	// checks compare it with what the endpoint does.
	Expect Expectations
	// MaxRequests bounds the requests of one probe (default 400).
	MaxRequests int
	// Burst is how many requests the rate-limit check sends when no
	// rate is expected (default 100).
	Burst int
	// MaxBody is the largest body the size check sends (default 32 MiB).
	MaxBody int64
	// Timeout bounds each request (default 10 s).
	Timeout time.Duration
	// Roots verify the server's certificate (default: the system's).
	Roots *x509.CertPool
	// Skip names checks not to run (see Checks).
	Skip []string
	// AdminPorts also looks for admin APIs on the well-known model-server
	// ports of the target's host.
	AdminPorts bool
	// Now is the clock for certificate expiry (default time.Now), and
	// ExpiryWarning how close an expiry is reported (default 30 days).
	Now           func() time.Time
	ExpiryWarning time.Duration
}

// Expectations are the limits a modelgate configuration sets.
type Expectations struct {
	// RPM is the caller's requests per minute (0: unknown).
	RPM int64
	// MaxBodyBytes is the largest request body accepted (0: unknown).
	MaxBodyBytes int64
}

// Checks are the names of the probe's checks, in the order they run.
// The rate-limit check is last: it spends the key's allowance.
var Checks = []string{"tls", "auth", "methods", "cors", "errors", "body-size", "admin-apis", "rate-limit"}

// Status is a check's outcome.
type Status string

// Outcomes of a check.
const (
	Pass         Status = "pass"
	Fail         Status = "fail"
	Inconclusive Status = "inconclusive"
	Skipped      Status = "skipped"
)

// Check is what one check did and saw.
type Check struct {
	Name   string `json:"name"`
	Status Status `json:"status"`
	Detail string `json:"detail"`
}

// Issue is a problem a check found, by rule id (see Rules).
type Issue struct {
	Rule     string `json:"rule"`
	Evidence string `json:"evidence"`
}

// Result is a probe of one URL.
type Result struct {
	URL      string  `json:"url"`
	Checks   []Check `json:"checks"`
	Issues   []Issue `json:"issues"`
	Requests int     `json:"requests"`
}

// ErrNotAllowed is returned for a target outside loopback and the
// allowed hosts.
var ErrNotAllowed = errors.New("not a loopback address or an allowed host")

// errBudget stops a check when the probe's request budget is spent.
var errBudget = errors.New("request budget spent")

// prober is one probe's state.
type prober struct {
	opts   Options
	base   *url.URL
	client *http.Client
	dial   func(ctx context.Context, network, addr string) (net.Conn, error)
	sent   atomic.Int64
	res    *Result
	// authRequired records that the endpoint refused a caller without
	// credentials.
	authRequired bool
}

// Run probes the endpoint at target (an http or https URL).
func Run(ctx context.Context, target string, opts Options) (*Result, error) {
	u, err := url.Parse(target)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", target, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return nil, fmt.Errorf("%s: want an http:// or https:// URL", target)
	}
	opts = withDefaults(opts)
	if err := opts.allowed(ctx, u.Hostname()); err != nil {
		return nil, fmt.Errorf("%s: %w", target, err)
	}
	p := &prober{opts: opts, base: u, res: &Result{URL: u.String(), Checks: []Check{}, Issues: []Issue{}}}
	p.dial = opts.dialer()
	p.client = opts.httpClient(p.dial)
	run := map[string]func(context.Context) Check{
		"tls": p.checkTLS, "auth": p.checkAuth, "methods": p.checkMethods, "cors": p.checkCORS,
		"errors": p.checkErrors, "body-size": p.checkBodySize, "rate-limit": p.checkRateLimit, "admin-apis": p.checkAdminAPIs,
	}
	for _, name := range Checks {
		if slices.Contains(opts.Skip, name) {
			p.res.Checks = append(p.res.Checks, Check{Name: name, Status: Skipped, Detail: "skipped by request"})
			continue
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		c := run[name](ctx)
		c.Name = name
		p.res.Checks = append(p.res.Checks, c)
	}
	p.res.Requests = int(p.sent.Load())
	return p.res, nil
}

func withDefaults(o Options) Options {
	if o.Path == "" {
		o.Path = "/v1/chat/completions"
	}
	if o.Model == "" {
		o.Model = "probe"
	}
	if o.MaxRequests <= 0 {
		o.MaxRequests = 400
	}
	if o.Burst <= 0 {
		o.Burst = 100
	}
	if o.MaxBody <= 0 {
		o.MaxBody = 32 << 20
	}
	if o.Timeout <= 0 {
		o.Timeout = 10 * time.Second
	}
	if o.ExpiryWarning <= 0 {
		o.ExpiryWarning = 30 * 24 * time.Hour
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return o
}

// allowed says whether host may be probed: a name or address in
// AllowHosts, or one whose every address is loopback.
func (o Options) allowed(ctx context.Context, host string) error {
	if o.hostAllowed(host) {
		return nil
	}
	addrs, err := net.DefaultResolver.LookupNetIP(ctx, "ip", host)
	if err != nil {
		return err
	}
	for _, a := range addrs {
		if !a.Unmap().IsLoopback() {
			return fmt.Errorf("%s resolves to %s: %w (--allow-host %s to probe it)", host, a, ErrNotAllowed, host)
		}
	}
	return nil
}

func (o Options) hostAllowed(host string) bool {
	for _, h := range o.AllowHosts {
		if strings.EqualFold(strings.Trim(h, "[]"), strings.Trim(host, "[]")) {
			return true
		}
	}
	return false
}

// dialer dials only what allowed admits, at the moment of dialling.
func (o Options) dialer() func(ctx context.Context, network, addr string) (net.Conn, error) {
	d := &net.Dialer{Timeout: o.Timeout}
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		host, port, err := net.SplitHostPort(addr)
		if err != nil {
			return nil, err
		}
		if o.hostAllowed(host) {
			return d.DialContext(ctx, network, addr)
		}
		ips, err := net.DefaultResolver.LookupNetIP(ctx, "ip", host)
		if err != nil {
			return nil, err
		}
		for _, ip := range ips {
			if !ip.Unmap().IsLoopback() {
				return nil, fmt.Errorf("%s resolves to %s: %w", host, ip, ErrNotAllowed)
			}
		}
		if len(ips) == 0 {
			return nil, fmt.Errorf("%s: no address", host)
		}
		return d.DialContext(ctx, network, netip.AddrPortFrom(ips[0], parsePort(port)).String())
	}
}

// httpClient never follows a redirect.
func (o Options) httpClient(dial func(ctx context.Context, network, addr string) (net.Conn, error)) *http.Client {
	tr := &http.Transport{
		DialContext:           dial,
		TLSClientConfig:       o.tlsConfig(),
		MaxIdleConnsPerHost:   8,
		ResponseHeaderTimeout: o.Timeout,
	}
	return &http.Client{
		Transport:     tr,
		Timeout:       o.Timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

func parsePort(s string) uint16 {
	var n uint16
	fmt.Sscan(s, &n)
	return n
}

// response is what a check reads of an answer: bounded.
type response struct {
	status int
	header http.Header
	body   []byte
}

const maxRead = 64 << 10

// do sends one request within the budget. body may be nil.
func (p *prober) do(ctx context.Context, method, path string, hdr http.Header, body io.Reader, size int64) (*response, error) {
	return p.doURL(ctx, method, p.url(path), hdr, body, size)
}

func (p *prober) doURL(ctx context.Context, method, u string, hdr http.Header, body io.Reader, size int64) (*response, error) {
	if !p.take() {
		return nil, errBudget
	}
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return nil, err
	}
	if body != nil {
		req.ContentLength = size
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	req.Header.Set("User-Agent", "modelgate-posture-probe")
	resp, err := p.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, maxRead))
	io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20)) // let the connection be reused
	return &response{status: resp.StatusCode, header: resp.Header, body: b}, nil
}

// take spends one request of the budget, or says it is spent.
func (p *prober) take() bool {
	for {
		n := p.sent.Load()
		if n >= int64(p.opts.MaxRequests) {
			return false
		}
		if p.sent.CompareAndSwap(n, n+1) {
			return true
		}
	}
}

func (p *prober) url(path string) string {
	u := *p.base
	u.Path, u.RawQuery = "", ""
	base := strings.TrimSuffix(u.String(), "/")
	prefix := strings.TrimSuffix(p.base.Path, "/")
	return base + prefix + path
}

func (p *prober) issue(rule, format string, args ...any) {
	is := Issue{Rule: rule, Evidence: fmt.Sprintf(format, args...)}
	if !slices.Contains(p.res.Issues, is) {
		p.res.Issues = append(p.res.Issues, is)
	}
}

// inference returns a one-token chat request.
func (p *prober) inference() string {
	return fmt.Sprintf(`{"model":%q,"messages":[{"role":"user","content":"hi"}],"max_tokens":1}`, p.opts.Model)
}

func jsonHeader(key string) http.Header {
	h := http.Header{"Content-Type": {"application/json"}}
	if key != "" {
		h.Set("Authorization", "Bearer "+key)
	}
	return h
}
