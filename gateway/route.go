package gateway

import (
	"fmt"
	"net/url"
	"regexp"

	"github.com/modelgate/modelgate/registry"
	"github.com/modelgate/modelgate/store"
)

// modelName is what a public model name may contain: OpenAI-style names
// such as "meta-llama/Llama-3.1-8B" or "llama3:8b" pass; spaces, control
// characters and path tricks do not.
var modelName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._:/@+-]{0,255}$`)

// pathName is what a KServe model name or version may contain: one path
// segment.
var pathName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,255}$`)

// FieldError says which field of a route is wrong and why.
type FieldError struct {
	Field   string // e.g. "upstream.url"
	Message string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Message }

func fieldErr(field, format string, args ...any) error {
	return &FieldError{Field: field, Message: fmt.Sprintf(format, args...)}
}

// ValidateRoute checks a route before it is stored or used. Errors are
// *FieldError.
func ValidateRoute(r *store.Route) error {
	if !modelName.MatchString(r.Model) {
		return fieldErr("model", "%q must be 1-256 characters of letters, digits and ._:/@+- starting with a letter or digit", r.Model)
	}
	switch r.Protocol {
	case store.ProtocolOpenAI, store.ProtocolAnthropic:
	case store.ProtocolKServeV2:
		if !pathName.MatchString(r.Model) {
			return fieldErr("model", "%q: a kserve_v2 model name is one path segment (letters, digits, ._-)", r.Model)
		}
	default:
		return fieldErr("protocol", "must be %q, %q or %q, got %q", store.ProtocolOpenAI, store.ProtocolAnthropic, store.ProtocolKServeV2, r.Protocol)
	}
	if r.Registry != "" {
		if err := registry.ValidName("registry model name", r.Registry); err != nil {
			return fieldErr("registry", "%q is not a registry model name: %v", r.Registry, err)
		}
	}
	u, err := url.Parse(r.Upstream.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fieldErr("upstream.url", "must be an absolute http or https URL, got %q", r.Upstream.URL)
	}
	if u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return fieldErr("upstream.url", "must not carry credentials, a query or a fragment (use upstream.credential)")
	}
	if m := r.Upstream.Model; m != "" && r.Protocol == store.ProtocolKServeV2 && !pathName.MatchString(m) {
		return fieldErr("upstream.model", "%q: a kserve_v2 model name is one path segment", m)
	}
	if c := r.Upstream.Credential; c != nil && (c.Env == "") == (c.File == "") {
		return fieldErr("upstream.credential", "set exactly one of env and file")
	}
	if c := r.Capture; c != nil {
		for field, mode := range map[string]string{"capture.input": c.Input, "capture.output": c.Output} {
			if mode != "" && !store.ValidCapture(mode) {
				return fieldErr(field, "must be full, redacted, hash or none, got %q", mode)
			}
		}
	}
	if r.Upstream.MaxResponseBytes < 0 {
		return fieldErr("upstream.max_response_bytes", "must not be negative")
	}
	return nil
}
