// Package server assembles a modelgate instance from a validated
// configuration: the store, the data-plane gateway and the control-plane
// admin API, each on its own listener, and runs them until told to stop,
// draining requests in flight.
package server

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/modelgate/modelgate/access"
	"github.com/modelgate/modelgate/access/ratelimit"
	"github.com/modelgate/modelgate/admin"
	"github.com/modelgate/modelgate/audit"
	"github.com/modelgate/modelgate/audit/forward"
	"github.com/modelgate/modelgate/config"
	"github.com/modelgate/modelgate/console"
	"github.com/modelgate/modelgate/datacheck/profile"
	"github.com/modelgate/modelgate/gateway"
	"github.com/modelgate/modelgate/gateway/auditing"
	"github.com/modelgate/modelgate/gateway/guarding"
	"github.com/modelgate/modelgate/internal/secret"
	"github.com/modelgate/modelgate/internal/tlsconf"
	"github.com/modelgate/modelgate/monitor"
	"github.com/modelgate/modelgate/store"
	"github.com/modelgate/modelgate/store/postgres"
	"github.com/modelgate/modelgate/store/sqlite"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// guardHooks puts the configured guards in front of any hooks the caller
// adds: input guards run first on the way in, output guards last on the
// way out, after the caller's filters.
func guardHooks(cfg config.Guards, extra gateway.Hooks) (gateway.Hooks, error) {
	// Installed even with no pipelines, so that a route naming one that
	// does not exist is refused rather than served unguarded.
	g, err := guarding.New(cfg)
	if err != nil {
		return gateway.Hooks{}, fmt.Errorf("guards: %w", err)
	}
	in, out := g.Hooks()
	h := extra
	h.Input = append([]gateway.Middleware{in}, extra.Input...)
	h.Output = append(append([]gateway.ResponseFilter(nil), extra.Output...), out)
	return h, nil
}

// ErrInsecureListener is returned when a listener reachable from other
// machines would serve plaintext.
var ErrInsecureListener = errors.New("plaintext listener reachable from other machines")

// Options add what a configuration file cannot express.
type Options struct {
	Logger *slog.Logger
	// Hooks plug later stages (guards, the audit log) into the data plane.
	Hooks gateway.Hooks
}

// Server is a running modelgate instance.
type Server struct {
	cfg      *config.Config
	log      *slog.Logger
	store    store.Store
	limiter  ratelimit.Limiter
	closeRL  func()
	auditDB  store.AuditStore
	audit    *audit.Log
	data     *http.Server
	control  *http.Server
	dataLn   net.Listener
	adminLn  net.Listener
	fwds     []*forward.Forwarder
	watcher  *monitor.Watcher
	console  *console.Handler
	tls      bool // decided at setup; net/http fills in TLSConfig itself once serving
	draining atomic.Bool
}

// New opens the store, applies the configuration's routes to it and binds
// both listeners. Nothing is served until Run.
func New(ctx context.Context, cfg *config.Config, opts Options) (*Server, error) {
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	if err := checkPlaintext(cfg); err != nil {
		return nil, err
	}
	tlsConf, err := serverTLS(cfg.TLS)
	if err != nil {
		return nil, err
	}
	var certs *access.CertMapper
	if len(cfg.Identities) > 0 {
		if certs, err = access.NewCertMapper(cfg.Identities); err != nil {
			return nil, err
		}
	}
	st, err := openStore(ctx, cfg, log)
	if err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg, log: log, store: st}
	s.limiter, s.closeRL = newLimiter(cfg.Redis, log)
	if err := s.openAudit(ctx); err != nil {
		st.Close()
		s.closeRL()
		return nil, err
	}
	if err := s.setUp(ctx, certs, tlsConf, opts); err != nil {
		s.closeStores()
		return nil, err
	}
	return s, nil
}

// openAudit opens the audit log as the configuration says.
func (s *Server) openAudit(ctx context.Context) error {
	a := s.cfg.Audit
	wait := a.BatchWait
	if wait == 0 {
		wait = -1 // the config's 0 means no wait; audit.Options' means its default
	}
	maxStream := s.cfg.Limits.RequestTimeout
	if maxStream <= 0 {
		maxStream = 10 * time.Minute
	}
	opts := audit.Options{
		Mode: audit.Mode(a.Mode), BatchMax: a.BatchMax, BatchWait: wait,
		CheckpointEvery: a.CheckpointEvery, CheckpointInterval: a.CheckpointInterval, Logger: s.log,
		// The server owns the log: it closes the streams a crash cut off.
		SweepStreams: true, MaxStream: maxStream + time.Minute,
		RequireWitnesses: a.RequireWitnesses,
	}
	for _, w := range a.Witnesses {
		if w.Dir != "" {
			opts.Witnesses = append(opts.Witnesses, &audit.DirWitness{Dir: w.Dir})
			continue
		}
		hw := &audit.HTTPWitness{URL: w.URL}
		if w.Key != "" {
			k, err := audit.NewCosignatureVerifier(w.Key)
			if err != nil {
				return fmt.Errorf("audit witness %s: %w", w.URL, err)
			}
			hw.Key = k
		}
		opts.Witnesses = append(opts.Witnesses, hw)
	}
	if pg, ok := s.store.(*postgres.DB); ok {
		// Every replica appends to the one log in PostgreSQL, signing
		// checkpoints with the key pair in its data directory, which
		// must be the same on every replica (docs/deploy.md).
		l, err := OpenSharedAudit(ctx, pg.Audit(), s.cfg.DataDir, opts)
		if err != nil {
			return err
		}
		s.auditDB, s.audit = pg.Audit(), l
		return nil
	}
	l, db, err := OpenAudit(ctx, s.cfg.DataDir, opts)
	if err != nil {
		return err
	}
	s.auditDB, s.audit = db, l
	return nil
}

// OpenAudit opens the audit log of a data directory: its database, its
// journals and its key pair, all created on first use. The server, the CLI
// and the benchmarks all open it this way. Close the log, then the
// database.
func OpenAudit(ctx context.Context, dir string, opts audit.Options) (*audit.Log, *sqlite.JournaledAudit, error) {
	db, err := sqlite.OpenJournaledAuditDir(ctx, dir)
	if err != nil {
		return nil, nil, err
	}
	logger := opts.Logger
	if logger == nil {
		logger = slog.Default()
	}
	db.OnCut(func(path string, n int64) {
		logger.Warn("audit journal: cut the torn end of a write interrupted by a crash (never acknowledged)", "file", path, "bytes", n)
	})
	signer, verifier, err := audit.LoadOrCreateKeys(dir)
	if err == nil {
		var l *audit.Log
		if l, err = audit.Open(ctx, db, signer, verifier, opts); err == nil {
			return l, db, nil
		}
	}
	db.Close()
	return nil, nil, err
}

// CatchUpAudit moves what the audit journals of a data directory hold
// into its log, as a server does when it starts, so that a reader of the
// database sees every acknowledged event: those of a server killed before
// it moved them, too. With a server running it waits for the server to
// move them. It returns how many events it found waiting.
func CatchUpAudit(ctx context.Context, dir string) (int64, error) {
	db, err := sqlite.OpenJournaledAuditDir(ctx, dir)
	if err != nil {
		return 0, err
	}
	n, err := db.QueueLen(ctx)
	db.Close()
	if err != nil || n == 0 {
		return 0, err
	}
	l, db, err := OpenAudit(ctx, dir, audit.Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		return n, err
	}
	defer db.Close()
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	err = db.WaitSequenced(ctx)
	return n, errors.Join(err, l.Close())
}

func (s *Server) closeStores() {
	if s.audit != nil {
		s.audit.Close()
		s.auditDB.Close()
	}
	s.store.Close()
	s.closeRL()
}

func (s *Server) setUp(ctx context.Context, certs *access.CertMapper, tlsConf *tls.Config, opts Options) error {
	cfg := s.cfg
	now := time.Now().UTC()
	for _, r := range cfg.Routes {
		if r.CreatedAt.IsZero() {
			r.CreatedAt, r.UpdatedAt = now, now
		}
	}
	if err := s.store.ReplaceRoutes(ctx, store.SourceConfig, cfg.Routes); err != nil {
		return fmt.Errorf("apply configured routes: %w", err)
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	registerAuditMetrics(reg, s.audit)
	hooks, err := guardHooks(cfg.Guards, opts.Hooks)
	if err != nil {
		return err
	}
	feedback, err := feedbackOptions(cfg.Feedback)
	if err != nil {
		return err
	}
	signals, err := signalOptions(cfg.Monitoring)
	if err != nil {
		return err
	}
	gw, err := gateway.New(gateway.Options{
		Store: s.store, Logger: s.log, Metrics: gateway.NewMetrics(reg), Certs: certs, Feedback: feedback, Signals: signals,
		Limits: cfg.Limits, RateLimits: cfg.RateLimits, TrustedProxies: cfg.TrustedProxies,
		StaticIPRules: cfg.IPRules, Hooks: hooks, LogRequests: cfg.Log.Requests, Admission: newAdmission(s.store), Limiter: s.limiter,
		Recorder: &auditing.Recorder{Log: s.audit, Capture: cfg.Audit.Capture},
	})
	if err != nil {
		return err
	}
	var ctrl http.Handler = admin.New(admin.Options{Store: s.store, Certs: certs, Gatherer: reg, Logger: s.log, Ready: s.ready,
		Recorder: &admin.AuditLog{Log: s.audit}})
	if s.console, err = s.newConsole(ctx, certs); err != nil {
		return err
	}
	ctrl = withConsole(ctrl, s.console)
	if ws := cfg.Audit.WitnessServer; ws != nil {
		if ctrl, err = withWitnessServer(ctrl, ws); err != nil {
			return err
		}
	}

	if s.fwds, err = s.forwarders(); err != nil {
		return err
	}
	if s.watcher, err = s.newWatcher(); err != nil {
		return err
	}
	errLog := slog.NewLogLogger(s.log.Handler(), slog.LevelWarn)
	maxHeader := cfg.Limits.MaxHeaderBytes
	if maxHeader <= 0 {
		maxHeader = 32 << 10
	}
	s.data = &http.Server{
		Handler:           gw,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		// The gateway answers oversized headers with a JSON 431; the
		// server's own, plain-text, cap sits well above it.
		MaxHeaderBytes: 2 * maxHeader,
		TLSConfig:      tlsConf,
		ErrorLog:       errLog,
	}
	s.control = &http.Server{Handler: ctrl, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute,
		MaxHeaderBytes: 64 << 10, ErrorLog: errLog}
	s.tls = tlsConf != nil
	if s.tls {
		// net/http edits a server's TLS config when it starts serving
		// (adding HTTP/2), so the two servers must not share one.
		s.control.TLSConfig = tlsConf.Clone()
	}

	if s.dataLn, err = listen("listen", cfg.Listen); err != nil {
		return err
	}
	if s.adminLn, err = listen("admin_listen", cfg.AdminListen); err != nil {
		s.dataLn.Close()
		return err
	}
	return nil
}

// ListenError is a listener that could not be opened: the address is in
// use, not this machine's, or a privileged port. It is the configuration's
// or the machine's problem, not the program's.
type ListenError struct {
	Key, Addr string // the setting and its value
	Err       error
}

func (e *ListenError) Error() string {
	hint := ""
	if errors.Is(e.Err, syscall.EADDRINUSE) {
		hint = ": another process is listening there; stop it or set " + e.Key + " to another address"
	}
	return fmt.Sprintf("%s %s: cannot listen: %v%s", e.Key, e.Addr, e.Err, hint)
}

func (e *ListenError) Unwrap() error { return e.Err }

func listen(key, addr string) (net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, &ListenError{Key: key, Addr: addr, Err: err}
	}
	return ln, nil
}

// Addr is the data plane's address, AdminAddr the control plane's.
func (s *Server) Addr() net.Addr      { return s.dataLn.Addr() }
func (s *Server) AdminAddr() net.Addr { return s.adminLn.Addr() }

// Store returns the server's store.
func (s *Server) Store() store.Store { return s.store }

// TLS reports whether the listeners use TLS.
func (s *Server) TLS() bool { return s.tls }

func (s *Server) ready() error {
	if s.draining.Load() {
		return errors.New("shutting down")
	}
	if s.audit.Mode() == audit.FailClosed {
		if err := s.audit.Healthy(); err != nil {
			return fmt.Errorf("audit log: %w", err)
		}
	}
	return nil
}

// Run serves until ctx ends, then stops accepting, waits up to the
// configured grace period for requests in flight (streams included) to
// finish, and closes the store.
func (s *Server) Run(ctx context.Context) error {
	// The start is on record before the first request is served, whatever
	// happens to ctx meanwhile: a stop that arrives now is a normal
	// shutdown, not a reason to cut connections.
	if err := s.audit.System(context.WithoutCancel(ctx), audit.ActionServerStart, map[string]string{
		"gateway": s.Addr().String(), "admin": s.AdminAddr().String(), "audit_mode": s.cfg.Audit.Mode,
		"config_routes": strconv.Itoa(len(s.cfg.Routes)),
	}); err != nil && s.audit.Mode() == audit.FailClosed {
		s.Close()
		return fmt.Errorf("audit log: cannot record the start: %w", err)
	}
	errc := make(chan error, 2)
	serve := func(srv *http.Server, ln net.Listener) {
		var err error
		if s.tls {
			err = srv.ServeTLS(ln, "", "")
		} else {
			err = srv.Serve(ln)
		}
		if !errors.Is(err, http.ErrServerClosed) {
			errc <- err
		}
	}
	go serve(s.data, s.dataLn)
	go serve(s.control, s.adminLn)
	scheme := "http"
	if s.TLS() {
		scheme = "https"
	}
	stopBackground := s.runBackground(s.fwds)
	s.log.Info("modelgate serving", "gateway", scheme+"://"+s.Addr().String(), "admin", scheme+"://"+s.AdminAddr().String(), "data_dir", s.cfg.DataDir)

	var runErr error
	select {
	case <-ctx.Done():
	case runErr = <-errc:
	}
	s.draining.Store(true)
	s.log.Info("shutting down: draining requests in flight", "grace", s.cfg.ShutdownGrace)
	grace, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.cfg.ShutdownGrace)
	defer cancel()
	if err := s.data.Shutdown(grace); err != nil {
		s.log.Warn("grace period over; closing remaining connections", "err", err)
		s.data.Close()
	}
	s.control.Shutdown(grace)
	// Every request has finished: record the stop, then the log writes
	// what is queued and signs a final checkpoint. Forwarders stop after
	// it and resume from their saved positions on the next start.
	s.audit.System(context.WithoutCancel(ctx), audit.ActionServerStop, nil)
	if err := s.audit.Close(); err != nil && runErr == nil {
		runErr = fmt.Errorf("audit log: %w", err)
	}
	stopBackground()
	s.auditDB.Close()
	if err := s.store.Close(); err != nil && runErr == nil {
		runErr = err
	}
	s.log.Info("stopped")
	return runErr
}

// Close releases the listeners and stores of a server that was never Run.
func (s *Server) Close() error {
	s.dataLn.Close()
	s.adminLn.Close()
	s.closeStores()
	return nil
}

// Audit returns the server's audit log.
func (s *Server) Audit() *audit.Log { return s.audit }

func registerAuditMetrics(reg prometheus.Registerer, l *audit.Log) {
	reg.MustRegister(
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "modelgate_audit_events_written_total",
			Help: "Audit events durably written."}, func() float64 { return float64(l.Stats().Written) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "modelgate_audit_events_failed_total",
			Help: "Audit events that could not be written."}, func() float64 { return float64(l.Stats().Failed) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "modelgate_audit_commits_total",
			Help: "Audit group commits (events written divided by this is the mean batch)."}, func() float64 { return float64(l.Stats().Commits) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "modelgate_audit_commit_seconds_total",
			Help: "Time spent in audit group commits."}, func() float64 { return l.Stats().CommitTime.Seconds() }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "modelgate_audit_healthy",
			Help: "1 when the last audit write succeeded."}, func() float64 {
			if l.Healthy() != nil {
				return 0
			}
			return 1
		}),
	)
	for i, w := range l.WitnessStatus() {
		labels := prometheus.Labels{"witness": w.Name}
		reg.MustRegister(
			prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "modelgate_audit_witness_size", ConstLabels: labels,
				Help: "Size of the newest checkpoint the witness accepted."}, func() float64 { return float64(l.WitnessStatus()[i].Size) }),
			prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "modelgate_audit_witness_healthy", ConstLabels: labels,
				Help: "1 when the witness accepted the last checkpoint pushed to it."}, func() float64 {
				if l.WitnessStatus()[i].LastError != "" {
					return 0
				}
				return 1
			}),
		)
	}
}

// checkPlaintext refuses to serve plaintext on a listener that other
// machines can reach, unless told to.
func checkPlaintext(cfg *config.Config) error {
	if cfg.TLS != nil || cfg.InsecurePlaintext {
		return nil
	}
	for _, l := range []struct{ key, addr string }{{"listen", cfg.Listen}, {"admin_listen", cfg.AdminListen}} {
		if !config.IsLoopback(l.addr) {
			return fmt.Errorf("%w: %s %s has no TLS: set tls.cert_file and tls.key_file, listen on 127.0.0.1, or pass --insecure-plaintext if something in front terminates TLS",
				ErrInsecureListener, l.key, l.addr)
		}
	}
	return nil
}

func serverTLS(t *config.TLS) (*tls.Config, error) {
	if t == nil {
		return nil, nil
	}
	cert, err := tls.LoadX509KeyPair(t.CertFile, t.KeyFile)
	if err != nil {
		return nil, fmt.Errorf("tls: %w", err)
	}
	conf := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: t.MinVersion}
	if t.ClientCA != "" {
		pool, err := tlsconf.CertPool(t.ClientCA)
		if err != nil {
			return nil, fmt.Errorf("tls.client_ca: %w", err)
		}
		conf.ClientCAs = pool
		conf.ClientAuth = tls.VerifyClientCertIfGiven
		if t.RequireClientCert {
			conf.ClientAuth = tls.RequireAndVerifyClientCert
		}
	}
	return conf, nil
}

// feedbackOptions prepares the feedback channel: its token secret, from
// the configuration or made for this process.
func feedbackOptions(c config.Feedback) (*gateway.Feedback, error) {
	if c.Disabled {
		return nil, nil
	}
	s, err := secretOrRandom("feedback.token_secret", c.TokenSecret)
	return &gateway.Feedback{Secret: s, TTL: c.TokenTTL}, err
}

// signalOptions prepares what the gateway notes for the monitor, when it
// runs: the prompt fingerprints' key, from the configuration or made for
// this process.
func signalOptions(c config.Monitoring) (*gateway.Signals, error) {
	if c.Disabled {
		return nil, nil
	}
	s, err := secretOrRandom("monitoring.fingerprint_secret", c.FingerprintSecret)
	if err != nil {
		return nil, err
	}
	sig := &gateway.Signals{Secret: s, Inputs: map[string]gateway.InputObserver{}, Texts: map[string]gateway.TextObserver{}}
	for _, d := range c.Drift {
		base, err := profile.Load(d.Baseline)
		if err != nil {
			return nil, fmt.Errorf("monitoring.drift %s: %w", d.Route, err)
		}
		w, err := monitor.NewDrift(d.Route, base, d.Columns, d.Window, d.P)
		if err != nil {
			return nil, err
		}
		if w.Text {
			sig.Texts[d.Route] = w
		} else {
			sig.Inputs[d.Route] = w
		}
	}
	return sig, nil
}

// secretOrRandom reads a configured secret of 16 characters or more, or
// makes 32 random bytes.
func secretOrRandom(field string, c *store.Credential) ([]byte, error) {
	if c == nil {
		b := make([]byte, 32)
		rand.Read(b)
		return b, nil
	}
	s, err := secret.Read(c)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", field, err)
	}
	if len(s) < 16 {
		return nil, fmt.Errorf("%s: at least 16 characters are needed", field)
	}
	return []byte(s), nil
}
