package server

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/modelgate/modelgate/audit"
	"github.com/modelgate/modelgate/audit/forward"
	"github.com/modelgate/modelgate/config"
	"github.com/modelgate/modelgate/internal/secret"
	"github.com/modelgate/modelgate/internal/tlsconf"
	"github.com/modelgate/modelgate/monitor"
	"github.com/modelgate/modelgate/store"
	"golang.org/x/mod/sumdb/note"
)

// forwarders builds the configured SIEM forwarders; a forwarder that
// cannot be built (an unreadable CA file, a missing credential) stops the
// start rather than silently not forwarding.
func (s *Server) forwarders() ([]*forward.Forwarder, error) {
	var out []*forward.Forwarder
	for _, f := range s.cfg.Audit.Forwarders {
		fw := &forward.Forwarder{Name: f.Name, Store: s.auditDB, Batch: f.BatchSize, Logger: s.log, Durable: s.audit.DurableSize}
		if _, shared := s.auditDB.(store.AuditQueue); shared {
			if _, local := s.auditDB.(store.AuditJournal); !local {
				// Replicas forward in turn; a journaled log's
				// server forwards alone.
				fw.Active = s.audit.Leading
			}
		}
		switch f.Type {
		case "syslog":
			fw.Formatter.Format = audit.FormatSyslog
			if f.Format == "cef" {
				fw.Formatter.Format = audit.FormatCEF
			}
			sink := &forward.Syslog{Address: f.Address}
			if f.TLS != nil {
				conf, err := tlsconf.Client(f.TLS)
				if err != nil {
					return nil, fmt.Errorf("audit forwarder %s: %w", f.Name, err)
				}
				sink.TLS = conf
			}
			fw.Sink = sink
		case "webhook":
			fw.Formatter.Format = orDefault(f.Format, audit.FormatJSONL)
			sink := &forward.Webhook{URL: f.URL, Header: http.Header{}}
			if f.Credential != nil {
				name, value, err := secret.Header(f.Credential)
				if err != nil {
					return nil, fmt.Errorf("audit forwarder %s: %w", f.Name, err)
				}
				sink.Header.Set(name, value)
			}
			fw.Sink = sink
		case "file":
			fw.Formatter.Format = orDefault(f.Format, audit.FormatJSONL)
			fw.Sink = &forward.File{Path: f.Path, MaxBytes: f.MaxBytes, MaxFiles: f.MaxFiles}
		default:
			return nil, fmt.Errorf("audit forwarder %s: unknown type %q", f.Name, f.Type)
		}
		out = append(out, fw)
	}
	return out, nil
}

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}

// runBackground starts the forwarders and the retention job; the returned
// function stops them and waits.
func (s *Server) runBackground(fws []*forward.Forwarder) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for _, fw := range fws {
		wg.Go(func() {
			if err := fw.Run(ctx); err != nil {
				s.log.Error("audit forwarder stopped", "forwarder", fw.Name, "err", err)
			}
		})
	}
	if s.cfg.Audit.PayloadRetention > 0 {
		wg.Go(func() { s.retain(ctx, s.cfg.Audit.PayloadRetention) })
	}
	if s.watcher != nil {
		wg.Go(func() { s.watcher.Run(ctx) })
	}
	if s.console != nil {
		wg.Go(func() { s.console.Run(ctx) })
	}
	return func() {
		cancel()
		wg.Wait()
	}
}

// retain erases captured payloads older than the retention period, every
// hour, recording each erasure in the log.
func (s *Server) retain(ctx context.Context, period time.Duration) {
	var done int64 // payloads below this index are already erased
	for {
		before, err := retentionBoundary(ctx, s.auditDB, done, time.Now().Add(-period))
		if err != nil {
			s.log.Error("audit retention", "err", err)
		} else if before > done {
			ev := &audit.Event{Time: time.Now(), Actor: audit.Actor{Kind: audit.ActorSystem, ID: "modelgate"},
				Action: audit.ActionRetention, Decision: audit.Decision{Outcome: audit.Allowed},
				Details: map[string]string{"retention": period.String()}}
			if erased, err := s.audit.Erase(ctx, ev, nil, before); err != nil {
				s.log.Error("audit retention", "err", err)
			} else {
				done = before
				s.log.Info("audit retention: payloads erased", "events", len(erased), "before_index", before)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Hour):
		}
	}
}

// retentionBoundary returns the first index from which an event is not
// older than cutoff: every event before it is. Events are in time order
// only roughly (a long request is recorded when it ends), so this stops at
// the first younger one rather than trusting the order. The scan starts at
// from, where the previous run stopped, so each run reads about an hour
// of the log.
func retentionBoundary(ctx context.Context, st store.AuditStore, from int64, cutoff time.Time) (int64, error) {
	size, err := st.AuditSize(ctx)
	if err != nil {
		return 0, err
	}
	before := size
	err = audit.Query(ctx, st, audit.Filter{FromIndex: from, Since: cutoff, Limit: 1}, func(_ *audit.Event, l *store.AuditLeaf) error {
		before = l.Index
		return nil
	})
	return min(before, size), err
}

// witnessPrefix is where the admin listener serves a witness for other
// logs (C2SP tlog-witness: POST /witness/v1/add-checkpoint).
const witnessPrefix = "/witness/v1"

// withWitnessServer serves a witness for other logs beside the admin API.
// The protocol carries no credentials: the witness trusts what the logs'
// keys sign, nothing else.
func withWitnessServer(ctrl http.Handler, ws *config.WitnessServer) (http.Handler, error) {
	skey, err := os.ReadFile(ws.KeyFile)
	if err != nil {
		return nil, fmt.Errorf("audit.witness_server.key_file: %w", err)
	}
	cos, err := audit.NewCosigner(string(skey))
	if err != nil {
		return nil, fmt.Errorf("audit.witness_server.key_file %s: %w", ws.KeyFile, err)
	}
	var logs []note.Verifier
	for _, k := range ws.Logs {
		v, err := note.NewVerifier(k)
		if err != nil {
			return nil, fmt.Errorf("audit.witness_server.logs: %w", err)
		}
		logs = append(logs, v)
	}
	w := audit.WitnessHandler(witnessPrefix, &audit.DirWitness{Dir: ws.Dir, Logs: note.VerifierList(logs...), Cosigner: cos})
	mux := http.NewServeMux()
	mux.Handle(witnessPrefix+"/", w)
	mux.Handle("/", ctrl)
	return mux, nil
}

// newWatcher builds the monitor over the audit log, with the configured
// rules and alert sinks; nil when monitoring is off.
func (s *Server) newWatcher() (*monitor.Watcher, error) {
	m := s.cfg.Monitoring
	if m.Disabled {
		return nil, nil
	}
	rules := m.Rules
	if rules == nil {
		var err error
		if rules, err = monitor.DefaultRules(); err != nil {
			return nil, err
		}
	}
	w := &monitor.Watcher{Engine: monitor.NewEngine(rules), Store: s.auditDB, Log: s.audit, Logger: s.log, Durable: s.audit.DurableSize}
	if _, shared := s.auditDB.(store.AuditQueue); shared {
		if _, local := s.auditDB.(store.AuditJournal); !local {
			w.Active = s.audit.Leading // replicas watch in turn, like forwarders
		}
	}
	for _, a := range m.Alerts {
		if a.Type == "email" {
			e := &monitor.Email{SinkName: a.Name, Address: a.SMTP, From: a.From, To: a.To, Username: a.Username}
			if a.Credential != nil {
				password, err := secret.Read(a.Credential)
				if err != nil {
					return nil, fmt.Errorf("monitoring alert sink %s: %w", a.Name, err)
				}
				e.Password = password
			}
			w.Sinks = append(w.Sinks, e)
			continue
		}
		sink := &monitor.Webhook{SinkName: a.Name, URL: a.URL, Slack: a.Type == "slack", Header: http.Header{}}
		if a.Credential != nil {
			name, value, err := secret.Header(a.Credential)
			if err != nil {
				return nil, fmt.Errorf("monitoring alert sink %s: %w", a.Name, err)
			}
			sink.Header.Set(name, value)
		}
		w.Sinks = append(w.Sinks, sink)
	}
	return w, nil
}
