package store

import "time"

// Key is an API key. The secret itself is shown to its owner once and never
// stored: SecretHash is the SHA-256 digest of the secret part.
type Key struct {
	ID         string
	Name       string
	SecretHash []byte

	// PrevSecretHash is the hash of the secret replaced by the last rotation,
	// accepted until PrevValidUntil.
	PrevSecretHash []byte
	PrevValidUntil time.Time

	Scopes []string
	// Models is the allow-list of public model names; "*" allows every model.
	Models []string

	// Limits; zero means the gateway's configured default.
	RPM           int64
	TPM           int64
	Burst         int64
	MaxConcurrent int64

	CreatedAt time.Time
	ExpiresAt time.Time // zero: never expires
	RevokedAt time.Time // zero: not revoked
	RotatedAt time.Time // zero: never rotated
}

// Revoked reports whether the key has been revoked.
func (k *Key) Revoked() bool { return !k.RevokedAt.IsZero() }

// Expired reports whether the key has expired at now.
func (k *Key) Expired(now time.Time) bool {
	return !k.ExpiresAt.IsZero() && !now.Before(k.ExpiresAt)
}

// Route sources.
const (
	SourceConfig = "config" // declared in the configuration file
	SourceAPI    = "api"    // created through the admin API
)

// Upstream protocols.
const (
	ProtocolOpenAI    = "openai"    // OpenAI chat, completions, embeddings and Responses APIs
	ProtocolKServeV2  = "kserve_v2" // KServe / Open Inference Protocol v2
	ProtocolAnthropic = "anthropic" // Anthropic Messages API
)

// Route maps a public model name to an upstream model server.
type Route struct {
	Model    string   `json:"model"`
	Protocol string   `json:"protocol"`
	Upstream Upstream `json:"upstream"`
	// Capture says what the audit log keeps of this route's bodies; nil
	// means the configured default.
	Capture *Capture `json:"capture,omitempty"`
	// Guards names the guard pipeline of this route: "" for the configured
	// default, "none" for no guards.
	Guards string `json:"guards,omitempty"`
	// Registry names a registry model this route serves: the gateway
	// serves only its version in production that passed the gate, and
	// refuses (503) while there is none.
	Registry string `json:"registry,omitempty"`
	// Outputs limits what a kserve_v2 route's inference answers reveal;
	// nil returns them as the model server sent them.
	Outputs *OutputControls `json:"outputs,omitempty"`
	// MaxBatch caps the inputs of one kserve_v2 request (the first
	// dimension of each input's shape); 0 leaves it to the body limit.
	MaxBatch int    `json:"max_batch,omitempty"`
	Source   string `json:"source"`

	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// OutputControls limit what a classifier's answers give away. Scores to
// full precision let an attacker follow the decision boundary in a few
// queries (score-based evasion) and copy the model with few samples
// (extraction); labels alone, or coarse scores, make both cost more.
type OutputControls struct {
	// Keep names the outputs returned; the others are dropped. Empty
	// keeps all.
	Keep []string `json:"keep,omitempty"`
	// Decimals rounds every floating-point output to this many decimals;
	// nil leaves them as sent.
	Decimals *int `json:"decimals,omitempty"`
	// TopK keeps the k highest values of each row of a floating-point
	// output with more than one column and zeroes the rest; 0 keeps all.
	TopK int `json:"top_k,omitempty"`
}

// Capture modes: what the audit log keeps of a request or response body.
const (
	CaptureFull     = "full"     // the bytes as received (or as the upstream sent them)
	CaptureRedacted = "redacted" // the bytes after guards rewrote them
	CaptureHash     = "hash"     // only a salted digest (the default)
	CaptureNone     = "none"     // nothing
)

// ValidCapture reports whether s is a capture mode.
func ValidCapture(s string) bool {
	return s == CaptureFull || s == CaptureRedacted || s == CaptureHash || s == CaptureNone
}

// Capture sets the capture mode of a route's input and output; an empty
// field takes the default.
type Capture struct {
	Input  string `json:"input,omitempty"`
	Output string `json:"output,omitempty"`
}

// Upstream says where and how a route's model is served.
type Upstream struct {
	// URL is the upstream's API base: for openai, the URL that
	// "/chat/completions" is appended to (usually ending in /v1); for
	// kserve_v2, the server root that "/v2/..." is appended to.
	URL string `json:"url"`
	// Model is the model name the upstream knows; empty means the public name.
	Model string `json:"model,omitempty"`
	// ModelVersion labels the model version served (a tag or a digest); it
	// is recorded with every request.
	ModelVersion string `json:"model_version,omitempty"`

	Credential *Credential  `json:"credential,omitempty"`
	TLS        *UpstreamTLS `json:"tls,omitempty"`

	ConnectTimeout        Duration `json:"connect_timeout,omitempty"`
	ResponseHeaderTimeout Duration `json:"response_header_timeout,omitempty"`
	Timeout               Duration `json:"timeout,omitempty"`
	MaxResponseBytes      int64    `json:"max_response_bytes,omitempty"`
}

// Credential says where the gateway reads the secret it sends upstream. The
// secret itself is never stored.
type Credential struct {
	Env    string `json:"env,omitempty"`
	File   string `json:"file,omitempty"`
	Header string `json:"header,omitempty"` // default Authorization
	Prefix string `json:"prefix,omitempty"` // default "Bearer " for Authorization
}

// UpstreamTLS configures TLS to an upstream, including a client certificate
// for mutual TLS.
type UpstreamTLS struct {
	CAFile     string `json:"ca_file,omitempty"`
	CertFile   string `json:"cert_file,omitempty"`
	KeyFile    string `json:"key_file,omitempty"`
	ServerName string `json:"server_name,omitempty"`
}

// IP rule actions.
const (
	IPAllow = "allow"
	IPDeny  = "deny"
)

// IPRule allows or denies a CIDR range, for every caller or for one key.
type IPRule struct {
	ID        string    `json:"id"`
	CIDR      string    `json:"cidr"`
	Action    string    `json:"action"`
	KeyID     string    `json:"key_id,omitempty"` // empty: applies to every caller
	Comment   string    `json:"comment,omitempty"`
	CreatedAt time.Time `json:"created_at"`
}
