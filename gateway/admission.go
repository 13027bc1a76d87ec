package gateway

import (
	"context"
	"net/http"
)

// Admission says which version of a registry model may serve. A route
// that names a registry model (store.Route.Registry) is served only while
// Admission admits a version; the answer is read again whenever the
// store's generation moves, so a rollback or quarantine applies to the
// next request.
type Admission interface {
	// Serving returns the version to serve, or a refusal saying why none
	// may (quarantined, nothing in production). An error means the
	// registry could not be read.
	Serving(ctx context.Context, name string) (Admitted, error)
}

// Admitted is Admission's answer.
type Admitted struct {
	Version string
	Digest  string // the version's manifest digest, for the audit log
	Refusal string // non-empty: no version may serve, and why
}

// admit resolves every registry route of a snapshot. Without an
// Admission no registry model is served: the gateway cannot tell which
// version passed the gate, so it fails closed.
func (s *state) admit(ctx context.Context, snap *snapshot) error {
	for _, r := range snap.routes {
		if r.Registry == "" {
			continue
		}
		if s.admission == nil {
			snap.admitted[r.Model] = Admitted{Refusal: "this gateway has no model registry to check " + r.Registry + " against"}
			continue
		}
		a, err := s.admission.Serving(ctx, r.Registry)
		if err != nil {
			return err
		}
		snap.admitted[r.Model] = a
	}
	return nil
}

// admitted checks a registry route's version and labels the exchange with
// it.
func admitted(x *Exchange, snap *snapshot) bool {
	if x.Route.Registry == "" {
		return true
	}
	a, ok := snap.admitted[x.Model]
	if !ok || a.Refusal != "" || a.Version == "" {
		why := a.Refusal
		if why == "" {
			why = "no version of " + x.Route.Registry + " is admitted"
		}
		x.Refuse(refusal(http.StatusServiceUnavailable, TypeServer, "model_unavailable", "model %q is unavailable: %s", x.Model, why))
		return false
	}
	if x.kserveVersion != "" && x.kserveVersion != a.Version {
		x.Refuse(refusal(http.StatusNotFound, TypeNotFound, "model_version_not_served",
			"model %q serves version %s, not %s", x.Model, a.Version, x.kserveVersion))
		return false
	}
	x.ModelVersion, x.ModelDigest = a.Version, a.Digest
	return true
}
