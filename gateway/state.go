package gateway

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"

	"github.com/modelgate/modelgate/access"
	"github.com/modelgate/modelgate/store"
)

// snapshot is the routing and IP state for one store generation.
type snapshot struct {
	gen       uint64
	upstreams map[string]*upstream // by public model name
	routes    []*store.Route       // ordered by name, for listings
	ip        *access.IPPolicy
	admitted  map[string]Admitted // registry routes' versions, by public model name
}

// state keeps the current snapshot and the key cache in step with the
// store. Every request asks the store for its generation (one indexed read);
// when it has moved, the snapshot is rebuilt and the key cache cleared
// before the request is authenticated, so a revoked key, a removed route or
// a new IP block applies to the very next request, whoever made the change.
type state struct {
	store     store.Store
	keys      *access.KeyCache
	static    []*store.IPRule
	admission Admission
	log       *slog.Logger

	mu  sync.Mutex // serialises rebuilds
	cur atomic.Pointer[snapshot]
}

func (s *state) current(ctx context.Context) (*snapshot, error) {
	gen, err := s.store.Generation(ctx)
	if err != nil {
		return nil, err
	}
	if snap := s.cur.Load(); snap != nil && snap.gen == gen {
		return snap, nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if snap := s.cur.Load(); snap != nil && snap.gen == gen {
		return snap, nil
	}
	snap, err := s.build(ctx, gen)
	if err != nil {
		return nil, err
	}
	s.cur.Store(snap)
	return snap, nil
}

// build reads routes and IP rules. The generation was read first, so a
// change racing the read only causes one more rebuild, never a stale one.
func (s *state) build(ctx context.Context, gen uint64) (*snapshot, error) {
	s.keys.Reset()
	routes, err := s.store.ListRoutes(ctx)
	if err != nil {
		return nil, err
	}
	rules, err := s.store.ListIPRules(ctx)
	if err != nil {
		return nil, err
	}
	ip, err := access.NewIPPolicy(append(append([]*store.IPRule(nil), s.static...), rules...))
	if err != nil {
		return nil, err // a rule that cannot be read fails closed
	}
	old := s.cur.Load()
	snap := &snapshot{gen: gen, upstreams: make(map[string]*upstream, len(routes)), routes: routes, ip: ip, admitted: map[string]Admitted{}}
	if err := s.admit(ctx, snap); err != nil {
		return nil, err
	}
	for _, r := range routes {
		u := compileUpstream(r)
		// Keep the old client, and its warm connections, if nothing changed.
		if old != nil {
			if prev := old.upstreams[r.Model]; prev != nil && prev.spec == u.spec && prev.err == nil {
				u = prev
			}
		}
		if u.err != nil {
			s.log.Error("route unusable", "model", r.Model, "err", u.err)
		}
		snap.upstreams[r.Model] = u
	}
	if old != nil {
		for name, u := range old.upstreams {
			if snap.upstreams[name] != u {
				u.close()
			}
		}
	}
	return snap, nil
}
