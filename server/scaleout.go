package server

import (
	"context"
	"log/slog"
	"os"

	"github.com/modelgate/modelgate/access/ratelimit"
	"github.com/modelgate/modelgate/access/ratelimit/redislimit"
	"github.com/modelgate/modelgate/audit"
	"github.com/modelgate/modelgate/config"
	"github.com/modelgate/modelgate/store"
	"github.com/modelgate/modelgate/store/postgres"
	"github.com/modelgate/modelgate/store/sqlite"
	"github.com/redis/go-redis/v9"
)

// openStore opens the configured store: the data directory's SQLite
// database, or PostgreSQL shared by every replica.
func openStore(ctx context.Context, cfg *config.Config, log *slog.Logger) (store.Store, error) {
	if cfg.Store.Driver == "postgres" {
		return postgres.Open(ctx, cfg.Store.DSN, postgres.Options{Logger: log})
	}
	return sqlite.OpenDir(ctx, cfg.DataDir)
}

// OpenSharedAudit opens the audit log shared by every replica, with the
// key pair of the data directory.
func OpenSharedAudit(ctx context.Context, st store.AuditStore, dir string, opts audit.Options) (*audit.Log, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	signer, verifier, err := audit.LoadOrCreateKeys(dir)
	if err != nil {
		return nil, err
	}
	return audit.Open(ctx, st, signer, verifier, opts)
}

// newLimiter returns the rate limiter the configuration asks for: nil (the
// gateway's in-process one) without Redis, else one on Redis, failing
// closed unless on_error is fail_open.
func newLimiter(cfg config.Redis, log *slog.Logger) (ratelimit.Limiter, func()) {
	if cfg.Addr == "" {
		return nil, func() {}
	}
	client := redis.NewClient(&redis.Options{Addr: cfg.Addr, Password: cfg.Password, DB: cfg.DB})
	var l ratelimit.Limiter = redislimit.New(client)
	if cfg.OnError == config.RedisFailOpen {
		l = &redislimit.FailOpen{Redis: l, Fallback: ratelimit.NewMemory(nil), OnError: func(err error) {
			log.Warn("Redis rate limiter unavailable; limiting in this process", "err", err)
		}}
	}
	return l, func() { client.Close() }
}
