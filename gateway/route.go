package gateway

import (
	"fmt"
	"net/url"
	"regexp"

	"github.com/modelgate/modelgate/store"
)

// modelName is what a public model name may contain: OpenAI-style names
// such as "meta-llama/Llama-3.1-8B" or "llama3:8b" pass; spaces, control
// characters and path tricks do not.
var modelName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._:/@+-]{0,255}$`)

// pathName is what a KServe model name or version may contain: one path
// segment.
var pathName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,255}$`)

// ValidateRoute checks a route before it is stored or used. Errors name the
// field.
func ValidateRoute(r *store.Route) error {
	if !modelName.MatchString(r.Model) {
		return fmt.Errorf("model %q: must be 1-256 characters of letters, digits and ._:/@+- starting with a letter or digit", r.Model)
	}
	switch r.Protocol {
	case store.ProtocolOpenAI:
	case store.ProtocolKServeV2:
		if !pathName.MatchString(r.Model) {
			return fmt.Errorf("model %q: a kserve_v2 model name is one path segment (letters, digits, ._-)", r.Model)
		}
	default:
		return fmt.Errorf("protocol: must be %q or %q, got %q", store.ProtocolOpenAI, store.ProtocolKServeV2, r.Protocol)
	}
	u, err := url.Parse(r.Upstream.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("upstream.url: must be an absolute http or https URL, got %q", r.Upstream.URL)
	}
	if u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return fmt.Errorf("upstream.url: must not carry credentials, a query or a fragment (use upstream.credential)")
	}
	if m := r.Upstream.Model; m != "" && r.Protocol == store.ProtocolKServeV2 && !pathName.MatchString(m) {
		return fmt.Errorf("upstream.model %q: a kserve_v2 model name is one path segment", m)
	}
	if c := r.Upstream.Credential; c != nil && (c.Env == "") == (c.File == "") {
		return fmt.Errorf("upstream.credential: set exactly one of env and file")
	}
	if r.Upstream.MaxResponseBytes < 0 {
		return fmt.Errorf("upstream.max_response_bytes: must not be negative")
	}
	return nil
}
