package access

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/modelgate/modelgate/store"
)

// KeySpec describes a key to create.
type KeySpec struct {
	Name      string
	Scopes    []string
	Models    []string
	Limits    Limits
	ExpiresIn time.Duration // zero: never expires
}

// ErrInvalidSpec wraps every validation failure of a KeySpec.
var ErrInvalidSpec = errors.New("invalid key")

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalidSpec, fmt.Sprintf(format, args...))
}

// Validate checks a spec, naming the first problem.
func (s KeySpec) Validate() error {
	if strings.TrimSpace(s.Name) == "" || utf8.RuneCountInString(s.Name) > 128 {
		return invalid("name is required (at most 128 characters)")
	}
	if len(s.Scopes) == 0 {
		return invalid("at least one scope is required (known: %s)", scopeList())
	}
	if _, err := ParseScopes(s.Scopes); err != nil {
		return invalid("%v", err)
	}
	if len(s.Models) == 0 {
		return invalid("models is required: list model names, or \"*\" for every model")
	}
	for _, m := range s.Models {
		if strings.TrimSpace(m) == "" {
			return invalid("empty model name")
		}
	}
	for name, v := range map[string]int64{"rpm": s.Limits.RPM, "tpm": s.Limits.TPM, "burst": s.Limits.Burst, "max_concurrent": s.Limits.MaxConcurrent} {
		if v < 0 {
			return invalid("%s must not be negative", name)
		}
	}
	if s.ExpiresIn < 0 {
		return invalid("expiry must be in the future")
	}
	return nil
}

// CreateKey stores a new key and returns it with the full secret, which is
// never available again.
func CreateKey(ctx context.Context, keys store.KeyStore, spec KeySpec, now time.Time) (*store.Key, string, error) {
	k, secret, err := PrepareKey(spec, now)
	if err != nil {
		return nil, "", err
	}
	if err := keys.CreateKey(ctx, k); err != nil {
		return nil, "", err
	}
	return k, secret, nil
}

// PrepareKey validates a spec and makes the key and its secret without
// storing them, for callers that must record the key before it exists.
func PrepareKey(spec KeySpec, now time.Time) (*store.Key, string, error) {
	if err := spec.Validate(); err != nil {
		return nil, "", err
	}
	id, full, hash := NewKey()
	k := &store.Key{
		ID: id, Name: strings.TrimSpace(spec.Name), SecretHash: hash,
		Scopes: trimAll(spec.Scopes), Models: trimAll(spec.Models),
		RPM: spec.Limits.RPM, TPM: spec.Limits.TPM, Burst: spec.Limits.Burst, MaxConcurrent: spec.Limits.MaxConcurrent,
		CreatedAt: now.UTC(),
	}
	if spec.ExpiresIn > 0 {
		k.ExpiresAt = now.Add(spec.ExpiresIn).UTC()
	}
	return k, full, nil
}

// RotateKey gives a key a new secret. The old one keeps working for grace
// (zero: stops at once).
func RotateKey(ctx context.Context, keys store.KeyStore, id string, grace time.Duration, now time.Time) (*store.Key, string, error) {
	if grace < 0 {
		return nil, "", invalid("grace must not be negative")
	}
	full, hash := NewSecret(id)
	var until time.Time
	if grace > 0 {
		until = now.Add(grace).UTC()
	}
	k, err := keys.RotateKey(ctx, id, hash, now.UTC(), until)
	if err != nil {
		return nil, "", err
	}
	return k, full, nil
}

func trimAll(ss []string) []string {
	out := make([]string, 0, len(ss))
	for _, s := range ss {
		out = append(out, strings.TrimSpace(s))
	}
	return out
}

// ParseTTL parses a lifetime such as "30d", "2w", "12h" or "90m": Go
// durations plus days (d) and weeks (w).
func ParseTTL(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	for suffix, unit := range map[string]time.Duration{"d": 24 * time.Hour, "w": 7 * 24 * time.Hour} {
		if n, ok := strings.CutSuffix(s, suffix); ok {
			v, err := strconv.ParseFloat(n, 64)
			if err != nil || v <= 0 || v > 36500 {
				return 0, fmt.Errorf("%q is not a lifetime such as 30d, 2w or 12h", s)
			}
			return time.Duration(v * float64(unit)), nil
		}
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("%q is not a lifetime such as 30d, 2w or 12h", s)
	}
	return d, nil
}

// KeyStatus is "active", "revoked" or "expired".
func KeyStatus(k *store.Key, now time.Time) string {
	switch {
	case k.Revoked():
		return "revoked"
	case k.Expired(now):
		return "expired"
	}
	return "active"
}

// Usable returns the stored key a full API key names when its secret is
// the current one and the key is neither revoked nor expired by at. A
// program that keeps a key it made (the demo) checks it so before showing
// it again.
func Usable(ctx context.Context, keys store.KeyStore, key string, at time.Time) (*store.Key, error) {
	id, secret, err := ParseKey(key)
	if err != nil {
		return nil, err
	}
	k, err := keys.GetKey(ctx, id)
	if err != nil {
		return nil, err
	}
	switch {
	case !secretMatches(secret, k.SecretHash):
		return nil, errors.New("the key's secret is not its current one")
	case !k.RevokedAt.IsZero():
		return nil, errors.New("the key is revoked")
	case !k.ExpiresAt.IsZero() && !at.Before(k.ExpiresAt):
		return nil, errors.New("the key has expired")
	}
	return k, nil
}
