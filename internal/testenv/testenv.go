// Package testenv tells whoever runs `go test ./...` which integration
// tests did not run and why. go test shows a passing package's output only
// with -v, so a PostgreSQL or Redis test that skips for want of its
// service would otherwise pass unseen.
package testenv

import (
	"fmt"
	"io"
	"os"
	"sync"
)

// Service is something integration tests need, named by an environment
// variable.
type Service struct {
	Env     string // the variable that names it
	Name    string // for people
	Example string // a value that works with a local default install
}

// The services modelgate's integration tests use.
var (
	Postgres = Service{"MODELGATE_TEST_POSTGRES_DSN", "PostgreSQL", "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"}
	Redis    = Service{"MODELGATE_TEST_REDIS_ADDR", "Redis", "127.0.0.1:6379"}
)

// Set reports whether the service's variable is set.
func (s Service) Set() bool { return os.Getenv(s.Env) != "" }

// SkipMessage is what a test that needs the service says when it skips.
func (s Service) SkipMessage() string {
	return fmt.Sprintf("%s tests skipped: set %s (e.g. %s)", s.Name, s.Env, s.Example)
}

var announce sync.Once

// Announce writes one line per unset service, for the package named pkg,
// to the terminal when there is one (where go test's own output does not
// hide it) or else to standard error. Call it from TestMain.
func Announce(pkg string, services ...Service) {
	announce.Do(func() {
		var w io.Writer = os.Stderr
		if tty, err := os.OpenFile("/dev/tty", os.O_WRONLY, 0); err == nil {
			defer tty.Close()
			w = tty
		}
		announceTo(w, pkg, services)
	})
}

func announceTo(w io.Writer, pkg string, services []Service) {
	for _, s := range services {
		if !s.Set() {
			fmt.Fprintf(w, "%s: %s integration tests skipped: %s is not set (e.g. %s; see the README's Testing section)\n",
				pkg, s.Name, s.Env, s.Example)
		}
	}
}
