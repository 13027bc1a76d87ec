// Package guarding runs guard pipelines in the gateway's data plane: input
// guards on each request before it goes upstream, and output guards on
// each answer before the caller sees it, streamed answers included.
package guarding

import (
	"context"
	"fmt"
	"os"

	"github.com/modelgate/modelgate/config"
	"github.com/modelgate/modelgate/gateway"
	"github.com/modelgate/modelgate/guard"
	"github.com/modelgate/modelgate/guard/injection"
	"github.com/modelgate/modelgate/guard/output"
	"github.com/modelgate/modelgate/guard/pii"
	"github.com/modelgate/modelgate/guard/secrets"
)

// Guards holds the compiled pipelines of a configuration.
type Guards struct {
	profiles map[string]*Profile
	def      string
}

// Profile is one compiled pipeline.
type Profile struct {
	Name     string
	Input    guard.Pipeline
	Output   guard.Pipeline
	Restore  bool
	Canary   bool // a canary guard is on output: insert tokens into requests
	HoldBack int
	// OutputBlockError answers a blocked answer with a 502 instead of a
	// 200 in the API's content-filter terms.
	OutputBlockError bool
	hashKey          []byte
}

// New compiles the configured pipelines.
func New(cfg config.Guards) (*Guards, error) {
	g := &Guards{profiles: map[string]*Profile{}, def: cfg.Default}
	for name, pc := range cfg.Pipelines {
		p, err := Compile(name, pc, cfg.HashKey)
		if err != nil {
			return nil, err
		}
		g.profiles[name] = p
	}
	return g, nil
}

// Compile builds one pipeline.
func Compile(name string, pc *config.GuardPipeline, hashKey []byte) (*Profile, error) {
	p := &Profile{Name: name, Restore: pc.Restore, HoldBack: pc.HoldBack, OutputBlockError: pc.OutputBlockError, hashKey: hashKey}
	p.Input = guard.Pipeline{Budget: pc.Budget, FailOpen: pc.FailOpen}
	p.Output = p.Input
	for _, st := range [...]struct {
		stages []config.GuardStage
		into   *guard.Pipeline
	}{{pc.Input, &p.Input}, {pc.Output, &p.Output}} {
		for _, s := range st.stages {
			g, err := build(s)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", s.Key, err)
			}
			if s.Type == config.GuardCanary {
				p.Canary = true
			}
			st.into.Guards = append(st.into.Guards, g)
		}
	}
	return p, nil
}

func build(s config.GuardStage) (guard.Guard, error) {
	pol := guard.Policy{Default: s.Action, Entities: s.Entities, MinScore: s.MinScore, Roles: s.Roles}
	switch s.Type {
	case config.GuardInvisibleText:
		return guard.New(s.Type, guard.InvisibleText{}, pol), nil
	case config.GuardPII:
		return guard.New(s.Type, pii.Detector{}, pol), nil
	case config.GuardSecrets:
		d, err := secrets.New()
		if err != nil {
			return nil, err
		}
		return guard.New(s.Type, d, pol), nil
	case config.GuardSanitize:
		return guard.New(s.Type, &output.Detector{AllowDomains: s.AllowDomains}, pol), nil
	case config.GuardCanary:
		return &output.Canary{Action: s.Action}, nil
	case config.GuardInjection:
		d, err := injection.New()
		if err != nil {
			return nil, err
		}
		if s.Model != "" {
			b, err := os.ReadFile(s.Model)
			if err != nil {
				return nil, err
			}
			m := new(injection.Model)
			if err := m.UnmarshalBinary(b); err != nil {
				return nil, fmt.Errorf("%s: %w", s.Model, err)
			}
			d.Model = m
		}
		return guard.New(s.Type, d, pol), nil
	case config.GuardRemote:
		r := injection.NewRemote(s.URL, s.CacheSize)
		r.Timeout, r.Threshold, r.Action, r.Roles = s.Timeout, s.MinScore, s.Action, s.Roles
		return r, nil
	}
	return nil, fmt.Errorf("unknown guard %q", s.Type)
}

// Lookup returns a route's pipeline by the name the route gives ("" for
// the default), nil for none, and false when no such pipeline exists.
func (g *Guards) Lookup(name string) (*Profile, bool) {
	if name == "" {
		name = g.def
	}
	if name == "" || name == "none" {
		return nil, true
	}
	p, ok := g.profiles[name]
	return p, ok
}

// Hooks returns the gateway hooks that run the guards.
func (g *Guards) Hooks() (gateway.Middleware, gateway.ResponseFilter) {
	return g.input, filter{}
}

type stateKey struct{}

// state is what the input stage leaves for the output filter of the same
// request.
type state struct {
	p      *Profile
	vault  guard.Vault
	canary string
	ctx    context.Context
}

func stateOf(x *gateway.Exchange) *state {
	s, _ := x.Value(stateKey{}).(*state)
	return s
}
