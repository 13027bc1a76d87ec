package gateway

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/modelgate/modelgate/internal/secret"
	"github.com/modelgate/modelgate/internal/tlsconf"
	"github.com/modelgate/modelgate/store"
)

// Upstream defaults, used where a route leaves a setting empty.
const (
	DefaultConnectTimeout   = 5 * time.Second
	DefaultUpstreamTimeout  = 5 * time.Minute
	DefaultMaxResponseBytes = 32 << 20
)

// upstream is a route compiled for use: its parsed URL, an HTTP client with
// the route's TLS and timeouts, and its credential read from the
// environment or a file. A route that cannot be compiled keeps the reason in
// err and answers 502 until it is fixed; the other routes keep working.
type upstream struct {
	route       *store.Route
	spec        string // the route's upstream as JSON, to notice changes
	base        *url.URL
	client      *http.Client
	transport   *http.Transport
	credHeader  string
	credValue   string
	timeout     time.Duration
	maxResponse int64
	err         error
}

func compileUpstream(r *store.Route) *upstream {
	spec, _ := json.Marshal(r.Upstream)
	u := &upstream{route: r, spec: r.Protocol + string(spec)}
	u.err = u.compile()
	return u
}

func (u *upstream) compile() error {
	r := u.route
	if err := ValidateRoute(r); err != nil {
		return err
	}
	base, _ := url.Parse(strings.TrimRight(r.Upstream.URL, "/"))
	u.base = base
	u.timeout = time.Duration(r.Upstream.Timeout)
	if u.timeout <= 0 {
		u.timeout = DefaultUpstreamTimeout
	}
	u.maxResponse = r.Upstream.MaxResponseBytes
	if u.maxResponse <= 0 {
		u.maxResponse = DefaultMaxResponseBytes
	}
	if c := r.Upstream.Credential; c != nil {
		if c.Header == "" && r.Protocol == store.ProtocolAnthropic {
			cc := *c
			cc.Header = "X-Api-Key" // Anthropic's API takes its key there, bare
			c = &cc
		}
		var err error
		if u.credHeader, u.credValue, err = secret.Header(c); err != nil {
			return err
		}
	}
	tlsConf, err := tlsconf.Client(r.Upstream.TLS)
	if err != nil {
		return fmt.Errorf("upstream %w", err)
	}
	connect := time.Duration(r.Upstream.ConnectTimeout)
	if connect <= 0 {
		connect = DefaultConnectTimeout
	}
	u.transport = &http.Transport{
		Proxy:                 nil, // never route model traffic through an ambient proxy
		DialContext:           (&net.Dialer{Timeout: connect, KeepAlive: 30 * time.Second}).DialContext,
		TLSClientConfig:       tlsConf,
		TLSHandshakeTimeout:   connect,
		ResponseHeaderTimeout: time.Duration(r.Upstream.ResponseHeaderTimeout),
		MaxIdleConns:          1024,
		MaxIdleConnsPerHost:   512,
		IdleConnTimeout:       90 * time.Second,
		ForceAttemptHTTP2:     true,
		// The gateway reads response bodies (usage, output guards), so it
		// asks for them uncompressed.
		DisableCompression: true,
	}
	u.client = &http.Client{
		Transport: u.transport,
		// A model API has no business redirecting; following one could
		// send the prompt (and the upstream credential) elsewhere.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	return nil
}

// upstreamModel is the name the upstream knows the model by.
func (u *upstream) upstreamModel() string {
	if u.route.Upstream.Model != "" {
		return u.route.Upstream.Model
	}
	return u.route.Model
}

// target returns the upstream URL for an exchange.
func (u *upstream) target(x *Exchange, suffix string) string {
	switch x.Endpoint {
	case EndpointChat:
		return u.base.String() + "/chat/completions"
	case EndpointCompletions:
		return u.base.String() + "/completions"
	case EndpointEmbeddings:
		return u.base.String() + "/embeddings"
	case EndpointResponses:
		return u.base.String() + "/responses"
	case EndpointMessages:
		return u.base.String() + "/messages"
	}
	p := u.base.String() + "/v2/models/" + url.PathEscape(u.upstreamModel())
	if x.kserveVersion != "" {
		p += "/versions/" + url.PathEscape(x.kserveVersion)
	}
	return p + suffix
}

func (u *upstream) close() {
	if u.transport != nil {
		u.transport.CloseIdleConnections()
	}
}
