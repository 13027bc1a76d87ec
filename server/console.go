package server

import (
	"context"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"

	"github.com/modelgate/modelgate/access"
	"github.com/modelgate/modelgate/admin"
	"github.com/modelgate/modelgate/console"
	"github.com/modelgate/modelgate/policy"
	"github.com/modelgate/modelgate/registry"
)

// newConsole builds the web console for the admin listener: it acts with
// the same store, audit log and registry as the admin API and the CLI.
func (s *Server) newConsole(ctx context.Context, certs *access.CertMapper) (*console.Handler, error) {
	opts := console.Options{Store: s.store, Audit: s.auditDB, Verifier: s.audit.Verifier(), Recorder: &admin.AuditLog{Log: s.audit},
		Auth: &access.Authenticator{Keys: access.DirectKeys(s.store), Certs: certs}, Config: s.cfg, Logger: s.log,
		Checkpoint: func(ctx context.Context) error { _, err := s.audit.Checkpoint(ctx); return err }}
	if rs, ok := s.store.(registry.Store); ok {
		trust, err := registry.LoadTrust(filepath.Join(s.cfg.DataDir, registry.TrustDir))
		if err != nil {
			return nil, fmt.Errorf("console: the registry's trusted keys: %w", err)
		}
		gate, err := policy.New(ctx, "")
		if err != nil {
			return nil, fmt.Errorf("console: the policy gate: %w", err)
		}
		opts.Registry = &registry.Registry{Store: rs, Trust: trust, Gate: gate, Policies: gate.Modules, Recorder: &admin.AuditLog{Log: s.audit}}
	}
	return console.New(opts), nil
}

// withConsole serves /ui/ from the console and the rest from the admin
// API.
func withConsole(ctrl http.Handler, ui http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/ui" {
			http.Redirect(w, r, "/ui/", http.StatusMovedPermanently)
			return
		}
		if strings.HasPrefix(r.URL.Path, "/ui/") {
			ui.ServeHTTP(w, r)
			return
		}
		ctrl.ServeHTTP(w, r)
	})
}
