// Package postgres implements store.Store on PostgreSQL (pgx v5), for
// gateways that run as several replicas sharing one database. Changes made
// through any replica reach the others through LISTEN/NOTIFY at once, and
// a periodic read of the change counter covers notifications missed while
// a listener reconnects.
package postgres

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/modelgate/modelgate/store"
)

// Channel is the notification channel the schema's triggers notify on
// every change.
const Channel = "modelgate_changes"

// DefaultResync is how often a replica reads the change counter even
// without notifications: the bound on how stale it can be if one is lost.
const DefaultResync = 250 * time.Millisecond

// DB is a store.Store backed by a PostgreSQL database.
type DB struct {
	pool   *pgxpool.Pool
	log    *slog.Logger
	resync time.Duration

	// gen caches the change counter, kept current by the listener; live
	// says whether the listener is connected (otherwise Generation reads
	// the database itself).
	gen         atomic.Uint64
	live        atomic.Bool
	lost        atomic.Int64  // times the listener lost its connection
	listenerPID atomic.Uint32 // the listener's backend, for tests

	stop context.CancelFunc
	done sync.WaitGroup
}

var _ store.Store = (*DB)(nil)

// Options tune Open.
type Options struct {
	Logger *slog.Logger
	// Resync is how often the change counter is read without a
	// notification; default DefaultResync.
	Resync time.Duration
	// MaxConns caps the pool; default pgx's (4 or the number of CPUs).
	MaxConns int32
}

// Open connects to the database at dsn, migrates it, and starts listening
// for changes.
func Open(ctx context.Context, dsn string, o Options) (*DB, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	if o.MaxConns > 0 {
		cfg.MaxConns = o.MaxConns
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("postgres: %w", err)
	}
	if err := migrate(ctx, pool); err != nil {
		pool.Close()
		return nil, fmt.Errorf("postgres: migrate: %w", err)
	}
	s := &DB{pool: pool, log: o.Logger, resync: o.Resync}
	if s.log == nil {
		s.log = slog.Default()
	}
	if s.resync <= 0 {
		s.resync = DefaultResync
	}
	if _, err := s.refresh(ctx); err != nil {
		pool.Close()
		return nil, err
	}
	lctx, cancel := context.WithCancel(context.Background())
	s.stop = cancel
	s.done.Go(func() { s.listen(lctx) })
	return s, nil
}

// Close stops listening and closes the pool.
func (s *DB) Close() error {
	s.stop()
	s.done.Wait()
	s.pool.Close()
	return nil
}

// Ping reports whether the database answers.
func (s *DB) Ping(ctx context.Context) error {
	if err := s.pool.Ping(ctx); err != nil {
		return fmt.Errorf("postgres: %w", err)
	}
	return nil
}

// Generation returns the change counter: from the listener's cache while
// it is connected, else from the database.
func (s *DB) Generation(ctx context.Context) (uint64, error) {
	if s.live.Load() {
		return s.gen.Load(), nil
	}
	return s.refresh(ctx)
}

// refresh reads the change counter and raises the cache to it. The
// counter only grows, so a slow read never moves the cache back.
func (s *DB) refresh(ctx context.Context) (uint64, error) {
	var v int64
	if err := s.pool.QueryRow(ctx, `SELECT value FROM generation WHERE id = 1`).Scan(&v); err != nil {
		return 0, fmt.Errorf("postgres: read generation: %w", err)
	}
	return s.raise(uint64(v)), nil
}

func (s *DB) raise(v uint64) uint64 {
	for {
		cur := s.gen.Load()
		if v <= cur || s.gen.CompareAndSwap(cur, v) {
			return max(v, cur)
		}
	}
}

// changed refreshes the cache after a write through this replica, so
// that its own changes apply to its next request without waiting for the
// notification.
func (s *DB) changed(ctx context.Context) {
	if _, err := s.refresh(ctx); err != nil {
		s.live.Store(false) // read from the database until the listener is back
	}
}

// listen keeps a connection LISTENing on Channel, refreshing the cache on
// each notification and every resync interval, and reconnects when the
// connection fails. While it is down, Generation reads the database.
func (s *DB) listen(ctx context.Context) {
	backoff := 50 * time.Millisecond
	for ctx.Err() == nil {
		err := s.listenOnce(ctx)
		s.live.Store(false)
		if ctx.Err() != nil {
			return
		}
		s.lost.Add(1)
		s.log.Warn("postgres change listener lost its connection; reading changes directly until it is back", "err", err)
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 2*time.Second)
	}
}

func (s *DB) listenOnce(ctx context.Context) error {
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return err
	}
	// The connection ends up LISTENing: take it out of the pool, and close
	// it rather than hand it back.
	pc := conn.Hijack()
	defer pc.Close(context.Background())
	if _, err := pc.Exec(ctx, "LISTEN "+Channel); err != nil {
		return err
	}
	s.listenerPID.Store(pc.PgConn().PID())
	for {
		var v int64
		if err := pc.QueryRow(ctx, `SELECT value FROM generation WHERE id = 1`).Scan(&v); err != nil {
			return err
		}
		s.raise(uint64(v))
		s.live.Store(true)
		wctx, cancel := context.WithTimeout(ctx, s.resync)
		_, err := pc.WaitForNotification(wctx)
		cancel()
		if err != nil && ctx.Err() != nil {
			return ctx.Err()
		}
		if err != nil && !errors.Is(err, context.DeadlineExceeded) && !pgconn.Timeout(err) {
			return err
		}
		if err != nil && pc.IsClosed() {
			return err
		}
	}
}

// isUniqueViolation reports a primary-key or unique constraint failure.
func isUniqueViolation(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "23505"
}

// notFound maps pgx.ErrNoRows to store.ErrNotFound with context.
func notFound(err error, what, id string) error {
	if errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("%s %q: %w", what, id, store.ErrNotFound)
	}
	return err
}

// Times are stored as Unix nanoseconds; the zero time is NULL.

func nullTime(t time.Time) *int64 {
	if t.IsZero() {
		return nil
	}
	n := t.UnixNano()
	return &n
}

func fromNull(n *int64) time.Time {
	if n == nil {
		return time.Time{}
	}
	return time.Unix(0, *n).UTC()
}

func fromNanos(n int64) time.Time { return time.Unix(0, n).UTC() }
