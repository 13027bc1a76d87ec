// Command modelgate is the security and governance layer for AI systems:
// an authenticated, rate-limited gateway in front of model servers, and the
// tools that manage it.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/modelgate/modelgate/access"
	"github.com/modelgate/modelgate/admin"
	"github.com/modelgate/modelgate/audit"
	"github.com/modelgate/modelgate/config"
	"github.com/modelgate/modelgate/server"
	"github.com/modelgate/modelgate/store"
)

// Exit codes, the same for every command.
const (
	exitOK       = 0
	exitFindings = 1 // findings or a policy denial
	exitUsage    = 2 // bad input or usage
	exitInternal = 3
	// exitInterrupted is the shell's 128+SIGINT: the command stopped on
	// a signal before it finished.
	exitInterrupted = 130
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run executes the CLI and returns its exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	root := newRoot(stdout, stderr)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return exitOK
	}
	fmt.Fprintln(stderr, "modelgate:", err)
	return exitCode(err)
}

// interrupted marks a command stopped by SIGINT or SIGTERM (exit 130).
type interrupted struct{ err error }

func (e interrupted) Error() string { return "interrupted: " + e.err.Error() }
func (e interrupted) Unwrap() error { return e.err }

// usageError marks an error as the caller's mistake (exit 2).
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

func usagef(format string, args ...any) error { return usageError{fmt.Errorf(format, args...)} }

func exitCode(err error) int {
	var (
		ue  usageError
		ce  *config.Error
		api *admin.APIError
		le  *server.ListenError
	)
	switch {
	case errors.As(err, &interrupted{}):
		return exitInterrupted
	case errors.As(err, &findings{}), errors.Is(err, audit.ErrTruncated), errors.Is(err, audit.ErrWitnessRootConflict),
		errors.Is(err, audit.ErrWitnessProof):
		// A log a witness shows was cut back or rewritten is a finding.
		return exitFindings
	case errors.As(err, &ue), errors.As(err, &ce), errors.Is(err, access.ErrInvalidSpec),
		errors.Is(err, store.ErrNotFound), errors.Is(err, store.ErrConflict), errors.Is(err, os.ErrNotExist),
		errors.Is(err, server.ErrInsecureListener), errors.As(err, &le):
		return exitUsage
	case errors.As(err, &api):
		if api.Status < 500 {
			return exitUsage
		}
	case isCobraUsage(err):
		return exitUsage
	}
	return exitInternal
}
