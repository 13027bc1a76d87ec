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
}

var demoKeySpecs = []struct {
	name   string
	models []string
	pick   func(*demoKeys) *string
}{
	{"demo", []string{access.AllModels}, func(k *demoKeys) *string { return &k.All }},
	{"demo-chat-only", []string{"demo-chat"}, func(k *demoKeys) *string { return &k.ChatOnly }},
}

// ensureDemoKeys returns the demo's keys, reusing those kept in dir while
// they are usable for another hour, and creating (and keeping) the
// others. reused reports whether every key was reused; expires is when
// the first of them expires.
func ensureDemoKeys(ctx context.Context, keys store.KeyStore, dir string, now time.Time) (k demoKeys, expires time.Time, reused bool, err error) {
	path := filepath.Join(dir, demoKeysFile)
	if b, err := os.ReadFile(path); err == nil {
		json.Unmarshal(b, &k) // a damaged file only means new keys
	} else if !errors.Is(err, os.ErrNotExist) {
		return k, expires, false, err
	}
	reused, changed := true, false
	for _, spec := range demoKeySpecs {
		full := spec.pick(&k)
		stored, err := access.Usable(ctx, keys, *full, now.Add(demoKeyMargin))
		if err != nil {
			stored, *full, err = access.CreateKey(ctx, keys, access.KeySpec{
				Name: spec.name, Scopes: []string{string(access.ScopeInvoke), string(access.ScopeModelsRead)},
				Models: spec.models, ExpiresIn: demoKeyLife,
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
