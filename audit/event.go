// Package audit is modelgate's tamper-evident audit log. Every data-plane
// request and every control-plane change becomes an Event; events are the
// leaves of an RFC 6962 Merkle tree (golang.org/x/mod/sumdb/tlog) whose
// checkpoints are signed with Ed25519 in the C2SP tlog-checkpoint format,
// so an auditor holding only the public key and a saved checkpoint can
// prove that the log was neither altered nor truncated.
package audit

import "time"

// Event is one entry of the audit log. Its canonical JSON (RFC 8785) is the
// leaf the tree commits to.
type Event struct {
	Index     int64     `json:"index"`
	Time      time.Time `json:"time"`
	RequestID string    `json:"request_id,omitempty"`
	Actor     Actor     `json:"actor"`
	Action    string    `json:"action"`
	Resource  Resource  `json:"resource,omitzero"`
	Decision  Decision  `json:"decision"`

	Guards            []GuardResult `json:"guards,omitempty"`
	HTTP              *HTTP         `json:"http,omitempty"`
	LatencyUS         int64         `json:"latency_us,omitempty"`
	UpstreamLatencyUS int64         `json:"upstream_latency_us,omitempty"`
	Usage             *Usage        `json:"usage,omitempty"`
	Payloads          Payloads      `json:"payloads,omitzero"`
	// Details carries what an action needs beyond the fields above: a
	// created key's name and scopes, the events an erasure covered.
	Details map[string]string `json:"details,omitempty"`
}

// Schema version of the event format, recorded in every leaf.
const schemaVersion = 1

// Actor kinds.
const (
	ActorAPIKey    = "api_key"
	ActorMTLS      = "mtls"
	ActorAdmin     = "admin"
	ActorSystem    = "system"
	ActorAnonymous = "anonymous" // a request that did not authenticate
)

// Actor is who acted.
type Actor struct {
	Kind      string `json:"kind"`
	ID        string `json:"id,omitempty"`
	IP        string `json:"ip,omitempty"`
	UserAgent string `json:"user_agent,omitempty"`
}

// Resource is what was acted on.
type Resource struct {
	Route        string `json:"route,omitempty"`
	Model        string `json:"model,omitempty"`
	ModelVersion string `json:"model_version,omitempty"`
	// ModelDigest is the registry manifest digest of the version served,
	// when the route serves a registry model.
	ModelDigest string `json:"model_digest,omitempty"`
	ID          string `json:"id,omitempty"` // key id, rule id, ...
}

// Outcomes.
const (
	Allowed = "allowed"
	Denied  = "denied"
	Failed  = "failed" // allowed, but the upstream or the gateway failed
)

// Decision records whether the action was allowed, and why not.
type Decision struct {
	Outcome string `json:"outcome"`
	Reason  string `json:"reason,omitempty"` // the error code of a refusal
}

// GuardResult is what one guard decided. Scores are kept to six decimals.
type GuardResult struct {
	Name string `json:"name"`
	// Stage is "input" or "output".
	Stage      string  `json:"stage,omitempty"`
	Verdict    string  `json:"verdict"`
	Score      float64 `json:"score,omitempty"`
	DurationUS int64   `json:"duration_us,omitempty"`
	// Entities counts what the guard acted on by entity type; the values
	// themselves are never recorded.
	Entities map[string]int64 `json:"entities,omitempty"`
	// Error says why a guard could not decide.
	Error string `json:"error,omitempty"`
}

// HTTP is the request's method, path and response status.
type HTTP struct {
	Method string `json:"method"`
	Path   string `json:"path"`
	Status int    `json:"status"`
}

// Usage is token usage.
type Usage struct {
	PromptTokens     int64 `json:"prompt_tokens"`
	CompletionTokens int64 `json:"completion_tokens"`
	Estimated        bool  `json:"estimated,omitempty"`
}

// Payloads are the digests of the captured input and output.
type Payloads struct {
	Input  *PayloadRef `json:"input,omitempty"`
	Output *PayloadRef `json:"output,omitempty"`
}

// PayloadRef commits to one payload: the SHA-256 of a random salt followed
// by the bytes. The salt is stored beside the payload and erased with it.
type PayloadRef struct {
	Mode   string `json:"mode"` // full, redacted or hash
	SHA256 string `json:"sha256"`
	Size   int64  `json:"size"`
}

// Actions.
const (
	ActionInvoke      = "inference.invoke"
	ActionDenied      = "inference.denied"
	ActionModelsRead  = "models.read"
	ActionHealthCheck = "health.check"
	ActionConfigLoad  = "config.load"
	ActionErase       = "audit.erase"
	ActionRetention   = "audit.retention"
	ActionServerStart = "server.start"
	ActionServerStop  = "server.stop"
	// A stream's start is recorded before its first byte reaches the
	// caller; its end is the stream's inference.invoke (or .denied) event
	// with the same request id. A start whose end never came (the
	// process died) is closed by an inference.stream_interrupted event.
	ActionStreamStart       = "inference.stream_start"
	ActionStreamInterrupted = "inference.stream_interrupted"
)
