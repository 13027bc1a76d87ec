package registry

import (
	"context"
	"fmt"
)

// ServingVersion returns the version of a model that may serve: the one
// in production that passed the gate. When there is none, refusal says
// why, in words fit for a caller: the quarantine and its reason, a
// production version the gate did not pass, or nothing in production.
func ServingVersion(ctx context.Context, st Store, name string) (m *Model, refusal string, err error) {
	all, err := st.ListModels(ctx, name)
	if err != nil {
		return nil, "", err
	}
	var quarantined *Model
	for _, v := range all {
		switch {
		case v.Stage == Production && v.Serving():
			return v, "", nil
		case v.Stage == Production:
			return nil, fmt.Sprintf("version %s of %s is in production but has not passed the gate", v.Version, name), nil
		case v.Stage == Quarantined && (quarantined == nil || v.UpdatedAt.After(quarantined.UpdatedAt)):
			quarantined = v
		}
	}
	if quarantined != nil {
		return nil, fmt.Sprintf("version %s of %s is quarantined: %s", quarantined.Version, name, quarantined.Reason), nil
	}
	if len(all) == 0 {
		return nil, fmt.Sprintf("%s is not in the model registry", name), nil
	}
	return nil, fmt.Sprintf("no version of %s is in production", name), nil
}
