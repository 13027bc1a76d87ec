// Package servertest starts a modelgate server for tests in other
// packages: the red team, the monitor, probes and commands that need a
// real gateway in front of them.
package servertest

import (
	"context"
	"io"
	"log/slog"
	"testing"

	"github.com/modelgate/modelgate/config"
	"github.com/modelgate/modelgate/server"
)

// Start runs a server on cfg, with loopback listeners on free ports and a
// data directory of the test's own unless cfg sets them, until the test
// ends. Stop, when called, stops it earlier and waits.
func Start(t testing.TB, cfg *config.Config) (s *server.Server, stop func()) {
	t.Helper()
	if cfg.Listen == "" || cfg.Listen == config.DefaultListen {
		cfg.Listen = "127.0.0.1:0"
	}
	if cfg.AdminListen == "" || cfg.AdminListen == config.DefaultAdminListen {
		cfg.AdminListen = "127.0.0.1:0"
	}
	if cfg.DataDir == "" || cfg.DataDir == config.DefaultDataDir {
		cfg.DataDir = t.TempDir()
	}
	s, err := server.New(context.Background(), cfg, server.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	stopped := false
	stop = func() {
		if !stopped {
			stopped = true
			cancel()
			<-done
		}
	}
	t.Cleanup(stop)
	return s, stop
}
