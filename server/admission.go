package server

import (
	"context"

	"github.com/modelgate/modelgate/gateway"
	"github.com/modelgate/modelgate/registry"
)

// newAdmission returns the registry admission of a store that keeps a
// model registry, else nil (registry routes then refuse every request).
func newAdmission(st any) gateway.Admission {
	if rs, ok := st.(registry.Store); ok {
		return admission{rs}
	}
	return nil
}

// admission answers the gateway from the model registry in the store.
type admission struct{ store registry.Store }

func (a admission) Serving(ctx context.Context, name string) (gateway.Admitted, error) {
	m, refusal, err := registry.ServingVersion(ctx, a.store, name)
	if err != nil || m == nil {
		return gateway.Admitted{Refusal: refusal}, err
	}
	return gateway.Admitted{Version: m.Version, Digest: m.Manifest.Digest}, nil
}
