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

// ValidateRoute checks a route before it is stored or used. The error is
// the first *FieldError RouteProblems finds.
func ValidateRoute(r *store.Route) error {
	if ps := RouteProblems(r); len(ps) > 0 {
		return ps[0]
	}
	return nil
}

// RouteProblems returns every problem of a route, not only the first: a
// bad protocol does not hide a bad URL.
func RouteProblems(r *store.Route) []*FieldError {
	var ps []*FieldError
	fail := func(field, format string, args ...any) {
		ps = append(ps, &FieldError{Field: field, Message: fmt.Sprintf(format, args...)})
	}
	if !modelName.MatchString(r.Model) {
		fail("model", "%q must be 1-256 characters of letters, digits and ._:/@+- starting with a letter or digit", r.Model)
	}
	switch r.Protocol {
	case store.ProtocolOpenAI, store.ProtocolAnthropic:
	case store.ProtocolKServeV2:
		if !pathName.MatchString(r.Model) {
			fail("model", "%q: a kserve_v2 model name is one path segment (letters, digits, ._-)", r.Model)
		}
	default:
		fail("protocol", "must be %q, %q or %q, got %q", store.ProtocolOpenAI, store.ProtocolAnthropic, store.ProtocolKServeV2, r.Protocol)
	}
	if r.Registry != "" {
		if err := registry.ValidName("registry model name", r.Registry); err != nil {
			fail("registry", "%q is not a registry model name: %v", r.Registry, err)
		}
	}
	u, err := url.Parse(r.Upstream.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		fail("upstream.url", "must be an absolute http or https URL, got %q", r.Upstream.URL)
	} else if u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		fail("upstream.url", "must not carry credentials, a query or a fragment (use upstream.credential)")
	}
	if m := r.Upstream.Model; m != "" && r.Protocol == store.ProtocolKServeV2 && !pathName.MatchString(m) {
		fail("upstream.model", "%q: a kserve_v2 model name is one path segment", m)
	}
	if c := r.Upstream.Credential; c != nil && (c.Env == "") == (c.File == "") {
		fail("upstream.credential", "set exactly one of env and file")
	}
	if c := r.Capture; c != nil {
		for _, m := range [...]struct{ field, mode string }{{"capture.input", c.Input}, {"capture.output", c.Output}} {
			if m.mode != "" && !store.ValidCapture(m.mode) {
				fail(m.field, "must be full, redacted, hash or none, got %q", m.mode)
			}
		}
	}
	if o := r.Outputs; o != nil {
		switch {
		case r.Protocol != store.ProtocolKServeV2:
			fail("outputs", "applies to kserve_v2 routes only")
		case o.Decimals != nil && (*o.Decimals < 0 || *o.Decimals > 12):
			fail("outputs.decimals", "must be 0 to 12, got %d", *o.Decimals)
		case o.TopK < 0:
			fail("outputs.top_k", "must not be negative")
		}
		for i, name := range o.Keep {
			if name == "" {
				fail(fmt.Sprintf("outputs.keep[%d]", i), "must name an output")
			}
		}
	}
	if r.MaxBatch != 0 && (r.Protocol != store.ProtocolKServeV2 || r.MaxBatch < 0) {
		fail("max_batch", "applies to kserve_v2 routes only, and must not be negative")
	}
	if r.Upstream.MaxResponseBytes < 0 {
		fail("upstream.max_response_bytes", "must not be negative")
	}
	return ps
}
