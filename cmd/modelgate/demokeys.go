package main

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"time"

	"github.com/modelgate/modelgate/access"
	"github.com/modelgate/modelgate/store"
)

// demoKeysFile keeps the demo's keys in its data directory, so that a
// restarted demo shows the same keys (and the commands printed before
// still work) instead of minting new ones each time. It holds usable
// secrets: it is written 0600, and exists only for the demo.
const demoKeysFile = "demo-keys.json"

// demoKeyLife is how long a demo key lasts; one with less than
// demoKeyMargin left is replaced rather than shown.
const (
	demoKeyLife   = 24 * time.Hour
	demoKeyMargin = time.Hour
)

// demoKeys are the demo's two keys: one for every model, and one that may
// use demo-chat only, to show a refusal by model.
type demoKeys struct {
	All      string `json:"all"`
	ChatOnly string `json:"chat_only"`
	// Throttled, in red-team mode only, may call the hardened classifier
	// 600 times a minute: the rate limit a purple-team run measures.
	Throttled string `json:"throttled,omitempty"`
	// RedTeam, in red-team mode only, may call every model without the
	// default rate limits: the attacker with the controls off.
	RedTeam string `json:"red_team,omitempty"`
}

var demoKeySpecs = []struct {
	name   string
	models []string
	limits access.Limits
	weak   bool // created in red-team mode only
	pick   func(*demoKeys) *string
}{
	{"demo", []string{access.AllModels}, access.Limits{}, false, func(k *demoKeys) *string { return &k.All }},
	{"demo-chat-only", []string{"demo-chat"}, access.Limits{}, false, func(k *demoKeys) *string { return &k.ChatOnly }},
	{"demo-red-team", []string{access.AllModels}, access.Limits{RPM: 1_000_000, Burst: 100_000, TPM: 1_000_000_000}, true, func(k *demoKeys) *string { return &k.RedTeam }},
	{"demo-throttled", []string{"demo-classifier-hardened"}, access.Limits{RPM: 600, Burst: 10}, true, func(k *demoKeys) *string { return &k.Throttled }},
}

// ensureDemoKeys returns the demo's keys, reusing those kept in dir while
// they are usable for another hour, and creating (and keeping) the
// others. reused reports whether every key was reused; expires is when
// the first of them expires.
func ensureDemoKeys(ctx context.Context, keys store.KeyStore, dir string, now time.Time, weak bool) (k demoKeys, expires time.Time, reused bool, err error) {
	path := filepath.Join(dir, demoKeysFile)
	if b, err := os.ReadFile(path); err == nil {
		json.Unmarshal(b, &k) // a damaged file only means new keys
	} else if !errors.Is(err, os.ErrNotExist) {
		return k, expires, false, err
	}
	reused, changed := true, false
	for _, spec := range demoKeySpecs {
		if spec.weak && !weak {
			continue
		}
		full := spec.pick(&k)
		stored, err := access.Usable(ctx, keys, *full, now.Add(demoKeyMargin))
		if err != nil {
			stored, *full, err = access.CreateKey(ctx, keys, access.KeySpec{
				Name: spec.name, Scopes: []string{string(access.ScopeInvoke), string(access.ScopeModelsRead)},
				Models: spec.models, Limits: spec.limits, ExpiresIn: demoKeyLife,
			}, now)
			if err != nil {
				return k, expires, false, err
			}
			reused, changed = false, true
		}
		if expires.IsZero() || stored.ExpiresAt.Before(expires) {
			expires = stored.ExpiresAt
		}
	}
	if changed {
		b, _ := json.Marshal(k)
		if err := os.WriteFile(path, b, 0o600); err != nil {
			return k, expires, false, err
		}
	}
	return k, expires, reused, nil
}
