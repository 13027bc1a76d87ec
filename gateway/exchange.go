package gateway

import (
	"context"
	"net/http"
	"net/netip"
	"time"

	"github.com/modelgate/modelgate/access"
	"github.com/modelgate/modelgate/access/ratelimit"
	"github.com/modelgate/modelgate/store"
)

// Endpoint identifies which data-plane API a request addresses.
type Endpoint uint8

// Endpoints.
const (
	EndpointUnknown       Endpoint = iota
	EndpointChat                   // POST /v1/chat/completions
	EndpointCompletions            // POST /v1/completions
	EndpointEmbeddings             // POST /v1/embeddings
	EndpointModels                 // GET /v1/models, GET /v1/models/{model}
	EndpointInfer                  // POST /v2/models/{name}[/versions/{v}]/infer
	EndpointModelMetadata          // GET /v2/models/{name}[/versions/{v}][/ready]
	EndpointHealth                 // GET /v2/health/live|ready
	EndpointResponses              // POST /v1/responses (OpenAI Responses API)
	EndpointMessages               // POST /v1/messages (Anthropic Messages API)
	EndpointFeedback               // POST /v1/feedback
)

var endpointNames = [...]string{"unknown", "chat", "completions", "embeddings", "models", "infer", "model_metadata", "health", "responses", "messages", "feedback"}

func (e Endpoint) String() string { return endpointNames[e] }

// Inference reports whether the endpoint runs a model (and so consumes
// tokens and passes through guards).
func (e Endpoint) Inference() bool {
	switch e {
	case EndpointChat, EndpointCompletions, EndpointEmbeddings, EndpointInfer, EndpointResponses, EndpointMessages:
		return true
	}
	return false
}

// Generates reports whether the endpoint answers with generated text,
// which output guards read.
func (e Endpoint) Generates() bool {
	switch e {
	case EndpointChat, EndpointCompletions, EndpointResponses, EndpointMessages:
		return true
	}
	return false
}

// Protocol returns the upstream protocol a route must speak to serve the
// endpoint.
func (e Endpoint) Protocol() string {
	switch e {
	case EndpointInfer, EndpointModelMetadata:
		return store.ProtocolKServeV2
	case EndpointMessages:
		return store.ProtocolAnthropic
	}
	return store.ProtocolOpenAI
}

// Exchange is the record of one data-plane request that every stage reads
// and adds to: the middleware chain passes it along, and observers (metrics,
// the access log, the audit log) read it when the request is over.
type Exchange struct {
	W http.ResponseWriter
	R *http.Request

	ID       string
	Received time.Time
	ClientIP netip.Addr

	Endpoint  Endpoint
	Principal *access.Principal // nil until authenticated
	Route     *store.Route      // nil until the model is resolved
	// Model is the public model name requested; ModelVersion the version
	// asked for (KServe path) or configured on the route.
	Model        string
	ModelVersion string
	// ModelDigest is the registry manifest digest of the version served,
	// for a route that serves a registry model.
	ModelDigest string
	Stream      bool

	// RawBody is the request body as the caller sent it; Body is what the
	// upstream will receive (input stages may replace it). Segments is the
	// text the body carries, for guards.
	RawBody  []byte
	Body     []byte
	Segments []Segment
	// UpstreamBody is the response as the upstream sent it; ResponseBody
	// as the caller received it, after output filters. Streams fill them
	// only when the recorder asks to capture them.
	UpstreamBody []byte
	ResponseBody []byte
	// CaptureTruncated is set when a captured stream outgrew the route's
	// response limit; the captures hold its beginning.
	CaptureTruncated bool
	// Guards lists what each guard decided.
	Guards []GuardResult
	// Signals are what the gateway noticed for the monitor (see Signals):
	// they go into the audit event's details.
	Signals map[string]string

	Usage Usage
	// Status is the HTTP status sent to the client; Denial says why when
	// the gateway itself refused the request.
	Status int
	Denial *Denial

	// UpstreamLatency is the time from sending the upstream request to
	// reading its full response (zero if it was never sent).
	UpstreamLatency time.Duration
	cleanups        []func()
	values          map[any]any
	upstream        *upstream
	kserveVersion   string // version segment of a KServe path
	kserveSuffix    string // "/infer", "/ready" or "" after the model path
	request         *request
	rateApplied     []ratelimit.Applied
	upstreamOK      bool // the upstream answered with a 2xx
	recorded        bool // the Recorder has this exchange
}

// Segment is a piece of text in a request or response that guards inspect.
// Path is a JSON Pointer (RFC 6901) to the string that holds it.
type Segment struct {
	Path string
	Role string // chat role when known
	Text string
}

// Usage is the token count of one request.
type Usage struct {
	PromptTokens     int64
	CompletionTokens int64
	// Estimated is true when any part is the gateway's estimate rather
	// than the upstream's own count.
	Estimated bool
}

// Total returns prompt plus completion tokens.
func (u Usage) Total() int64 { return u.PromptTokens + u.CompletionTokens }

// Denial records why the gateway refused a request.
type Denial struct {
	Status  int
	Type    string
	Code    string
	Message string
	// Blocked is set when a guard decided, rather than something failed.
	Blocked bool
}

// SetSignal notes a signal for the monitor.
func (x *Exchange) SetSignal(name, value string) {
	if x.Signals == nil {
		x.Signals = map[string]string{}
	}
	x.Signals[name] = value
}

// Context returns the request's context.
func (x *Exchange) Context() context.Context { return x.R.Context() }

// SetValue attaches a value to the exchange under key, for a later stage:
// state an input guard leaves for the output filter of the same request.
func (x *Exchange) SetValue(key, v any) {
	if x.values == nil {
		x.values = make(map[any]any, 1)
	}
	x.values[key] = v
}

// Value returns the value attached under key, or nil.
func (x *Exchange) Value(key any) any { return x.values[key] }

// OnDone registers a function to run when the request is over, after the
// response is complete (release a concurrency slot, charge tokens).
func (x *Exchange) OnDone(f func()) { x.cleanups = append(x.cleanups, f) }

func (x *Exchange) finish() {
	for i := len(x.cleanups) - 1; i >= 0; i-- {
		x.cleanups[i]()
	}
	x.cleanups = nil
}
