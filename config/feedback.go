package config

import (
	"time"

	"github.com/modelgate/modelgate/store"
)

// Feedback configures the feedback channel (POST /v1/feedback).
type Feedback struct {
	// Disabled turns it off (it is on by default).
	Disabled bool
	// TokenSecret signs feedback tokens; replicas must share one. Without
	// it each process makes its own at start, and a token is accepted only
	// by the process that issued it, until it restarts.
	TokenSecret *store.Credential
	// TokenTTL is how long a token is accepted (default 24h).
	TokenTTL time.Duration
}

type feedbackFile struct {
	Enabled     *bool     `yaml:"enabled"`
	TokenSecret *credFile `yaml:"token_secret"`
	TokenTTL    string    `yaml:"token_ttl"`
}

func (v *validator) buildFeedback(f *file, c *Config) {
	fb := f.Feedback
	if fb == nil {
		return
	}
	c.Feedback.Disabled = fb.Enabled != nil && !*fb.Enabled
	if cred := fb.TokenSecret.credential(); cred != nil {
		if (cred.Env == "") == (cred.File == "") {
			v.fail("feedback.token_secret", "set exactly one of env and file")
		}
		c.Feedback.TokenSecret = cred
	}
	v.duration("feedback.token_ttl", fb.TokenTTL, &c.Feedback.TokenTTL)
}
