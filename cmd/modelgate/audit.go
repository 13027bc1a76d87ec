package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/go-json-experiment/json"

	"github.com/modelgate/modelgate/audit"
	"github.com/modelgate/modelgate/server"
	"github.com/modelgate/modelgate/store"
	"github.com/modelgate/modelgate/store/postgres"
	"github.com/modelgate/modelgate/store/sqlite"
	"github.com/spf13/cobra"
	"golang.org/x/mod/sumdb/note"
)

func newAudit(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "audit",
		Short: "Verify, prove, query and export the tamper-evident audit log",
		Long: `The audit log records every request and every change. These commands work on
the log in the data directory (--data-dir); verify-proof needs only a proof
file and the log's public key.`,
	}
	cmd.AddCommand(auditPubkey(g), auditInstallKeys(g), auditVerify(g), auditCheckpoint(g), auditProof(g), auditVerifyProof(g), auditVerifyBundle(g),
		auditConsistency(g), auditQuery(g), auditShow(g), auditTail(g), auditExport(g), auditErase(g), auditWitness(g))
	return cmd
}

// auditPath returns the data directory's audit database, which must
// exist: the audit commands never create one.
func auditPath(g *globals) (string, error) {
	path := filepath.Join(g.dataDir, sqlite.AuditFileName)
	if _, err := os.Stat(path); err != nil {
		return "", usagef("no audit log at %s: pass --data-dir", path)
	}
	return path, nil
}

// auditFiles opens the audit database read-side: the data directory's, or
// with --postgres-dsn-env the one replicas share. Close it when done.
func auditFiles(ctx context.Context, g *globals) (store.AuditStore, error) {
	if g.postgresEnv != "" {
		dsn, err := postgresDSN(g)
		if err != nil {
			return nil, err
		}
		return postgres.OpenAudit(ctx, dsn, postgres.Options{})
	}
	path, err := auditPath(g)
	if err != nil {
		return nil, err
	}
	// Events a killed server acknowledged may still be in its journal:
	// move them in first, so the reader sees them.
	if n, err := server.CatchUpAudit(ctx, g.dataDir); err != nil {
		return nil, fmt.Errorf("audit: %d events wait in the journal and could not be moved into the log: %w", n, err)
	}
	return sqlite.OpenAudit(ctx, path)
}

// postgresDSN reads the DSN --postgres-dsn-env names.
func postgresDSN(g *globals) (string, error) {
	dsn := os.Getenv(g.postgresEnv)
	if dsn == "" {
		return "", usagef("--postgres-dsn-env: environment variable %s is empty or unset", g.postgresEnv)
	}
	return dsn, nil
}

// verifierFor takes --pubkey (a key or a file holding one) or the key in
// the data directory. An auditor passes the key they hold, not the one
// next to the log they are checking.
func verifierFor(g *globals, pubkey string) (note.Verifier, error) {
	if pubkey == "" {
		pubkey = filepath.Join(g.dataDir, audit.VerifierKeyFile)
		if _, err := os.Stat(pubkey); err != nil {
			return nil, usagef("no audit verifier key at %s: pass --pubkey", pubkey)
		}
	}
	v, err := audit.LoadVerifier(pubkey)
	if err != nil {
		return nil, usageError{err}
	}
	return v, nil
}

// openWriter opens the log for commands that append (erase, checkpoint,
// proof): the same file a running server writes to, safely.
func openWriter(ctx context.Context, g *globals) (*audit.Log, store.AuditStore, error) {
	if g.postgresEnv != "" {
		a, err := auditFiles(ctx, g)
		if err != nil {
			return nil, nil, err
		}
		l, err := server.OpenSharedAudit(ctx, a, g.dataDir, audit.Options{})
		if err != nil {
			a.Close()
			return nil, nil, err
		}
		return l, a, nil
	}
	if _, err := auditPath(g); err != nil {
		return nil, nil, err
	}
	l, db, err := server.OpenAudit(ctx, g.dataDir, audit.Options{})
	if err != nil {
		return nil, nil, err
	}
	// What the journals hold (a running or a killed server's events)
	// joins the log before the command reads it.
	wctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if err := db.WaitSequenced(wctx); err != nil {
		l.Close()
		db.Close()
		return nil, nil, err
	}
	return l, db, nil
}

// cliActor names the person at the terminal for the record.
func cliActor() string {
	name := "unknown"
	if u, err := user.Current(); err == nil {
		name = u.Username
	}
	host, _ := os.Hostname()
	return "cli:" + name + "@" + host
}

func auditPubkey(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "pubkey",
		Short: "Print the key that verifies this log's checkpoints (give it to auditors)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			path := filepath.Join(g.dataDir, audit.VerifierKeyFile)
			b, err := os.ReadFile(path)
			if err != nil {
				return usagef("no audit verifier key at %s: the key pair is created when the server first starts", path)
			}
			fmt.Fprint(g.stdout, string(b))
			return nil
		},
	}
}

func auditInstallKeys(g *globals) *cobra.Command {
	var from string
	cmd := &cobra.Command{
		Use:   "install-keys --from DIR",
		Short: "Copy the shared audit key pair (a mounted secret) into the data directory",
		Long: `Replicas must sign checkpoints with the same key pair. A secret mount
cannot give the files the owner and mode the server demands (0600, its
own), so an init container runs this to copy audit-signing.key and
audit-verifier.pub from the mount into --data-dir, checking that they
belong together and that the directory holds no other pair.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if from == "" {
				return usagef("--from DIR is required")
			}
			if err := audit.InstallKeys(from, g.dataDir); err != nil {
				return usageError{err}
			}
			fmt.Fprintf(g.stdout, "installed the audit key pair from %s in %s\n", from, g.dataDir)
			return nil
		},
	}
	cmd.Flags().StringVar(&from, "from", "", "directory holding audit-signing.key and audit-verifier.pub")
	return cmd
}

func auditVerify(g *globals) *cobra.Command {
	var (
		pubkey     string
		witnesses  []string
		witnessKey string
	)
	cmd := &cobra.Command{
		Use:   "verify [--pubkey KEY] [--witness DIR|URL|FILE]...",
		Short: "Check the whole log: every event, hash, checkpoint and payload",
		Long: `Recompute every leaf from the stored events, rebuild the Merkle tree, compare
it with every stored hash and every signed checkpoint, check each checkpoint's
signature, and check captured payloads against their committed digests.

A log checks itself for alteration, not for truncation: deleting the newest
events together with the checkpoints that cover them leaves a log that
verifies. --witness compares the log with a checkpoint kept outside it: a
directory witness (DIR), a tlog-witness (URL; --witness-key checks its
cosignatures), or a file holding a checkpoint or a forwarder's JSON-lines
export. The log must hold every event the witness saw, with the same tree.
Exits 0 when everything holds, 1 naming the first problem otherwise.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			v, err := verifierFor(g, pubkey)
			if err != nil {
				return err
			}
			db, err := auditFiles(cmd.Context(), g)
			if err != nil {
				return err
			}
			defer db.Close()
			audit.TuneForVerify()
			start := time.Now()
			r, err := audit.Verify(cmd.Context(), db, v)
			var ve *audit.VerifyError
			if errors.As(err, &ve) {
				fmt.Fprintf(g.stdout, "FAILED: %v\n", ve)
				return findings{}
			}
			if err != nil {
				return err
			}
			took := time.Since(start)
			var witnessed []string
			for _, spec := range witnesses {
				w, err := witnessFor(spec, witnessKey, v)
				if err != nil {
					return err
				}
				tr, err := audit.NewTreeReader(cmd.Context(), db, v)
				if err != nil {
					return err
				}
				st, err := audit.CheckWitness(cmd.Context(), tr, w)
				switch {
				case errors.Is(err, audit.ErrTruncated), errors.Is(err, audit.ErrWitnessRootConflict), errors.Is(err, audit.ErrWitnessProof):
					fmt.Fprintf(g.stdout, "FAILED: %v\n", err)
					return findings{}
				case err != nil:
					return fmt.Errorf("witness %s: %w", spec, err)
				}
				witnessed = append(witnessed, fmt.Sprintf("%s (%d events)", spec, st.Size))
			}
			fmt.Fprintf(g.stdout, "OK: %d events, %d signed checkpoints (latest at %d), verified in %s (%.0f events/s)\n",
				r.Events, r.Checkpoints, r.LatestSigned, took.Round(time.Millisecond), float64(r.Events)/took.Seconds())
			if len(witnessed) > 0 {
				fmt.Fprintf(g.stdout, "witnessed: the log extends the checkpoints held by %s\n", strings.Join(witnessed, ", "))
			}
			fmt.Fprintf(g.stdout, "payloads: %d checked against their digests, %d kept as digests only, %d erased by recorded erasures\n",
				r.PayloadsChecked, r.DigestsOnly, r.Erased)
			if r.Unsigned > 0 {
				fmt.Fprintf(g.stdout, "note: the last %d events are not yet covered by a signed checkpoint (one is signed within checkpoint_interval, or run `modelgate audit checkpoint`)\n", r.Unsigned)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&pubkey, "pubkey", "", "verifier key, or a file holding it (default: the data directory's)")
	cmd.Flags().StringArrayVar(&witnesses, "witness", nil, "a witness to check the log against: a directory, an http(s) URL or a checkpoint file (repeatable)")
	cmd.Flags().StringVar(&witnessKey, "witness-key", "", "the verifier key of a URL witness, to check its cosignatures")
	return cmd
}

// witnessFor reads a --witness: a URL, a directory or a file.
func witnessFor(spec, key string, v note.Verifier) (audit.Witness, error) {
	if strings.HasPrefix(spec, "http://") || strings.HasPrefix(spec, "https://") {
		hw := &audit.HTTPWitness{URL: spec}
		if key != "" {
			k, err := audit.NewCosignatureVerifier(key)
			if err != nil {
				return nil, usagef("--witness-key: %v", err)
			}
			hw.Key = k
		}
		return hw, nil
	}
	fi, err := os.Stat(spec)
	if err != nil {
		return nil, usagef("--witness %s: %v", spec, err)
	}
	if fi.IsDir() {
		return &audit.DirWitness{Dir: spec, Logs: note.VerifierList(v)}, nil
	}
	return audit.CheckpointFile{Path: spec}, nil
}

// findings makes the command exit 1 after it has printed why.
type findings struct{ msg string }

func (f findings) Error() string {
	if f.msg == "" {
		return "verification failed"
	}
	return f.msg
}

func auditCheckpoint(g *globals) *cobra.Command {
	var out string
	cmd := &cobra.Command{
		Use:   "checkpoint [--out FILE]",
		Short: "Sign a checkpoint of the log now and print it (save it to prove consistency later)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			l, db, err := openWriter(cmd.Context(), g)
			if err != nil {
				return err
			}
			defer db.Close()
			defer l.Close()
			cp, err := l.Checkpoint(cmd.Context())
			if errors.Is(err, store.ErrNotFound) {
				return usagef("the audit log is empty")
			}
			if err != nil {
				return err
			}
			return writeOut(g, out, cp.Note)
		},
	}
	cmd.Flags().StringVar(&out, "out", "", "write to this file instead of standard output")
	return cmd
}

func auditProof(g *globals) *cobra.Command {
	var (
		index int64
		out   string
	)
	cmd := &cobra.Command{
		Use:   "proof INDEX [--out FILE]",
		Short: "Write a proof that event INDEX is in the log: the event, its inclusion proof and a signed checkpoint",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			switch {
			case len(args) == 1 && cmd.Flags().Changed("index"):
				return usagef("give the index once: as an argument or with --index")
			case len(args) == 1:
				n, err := strconv.ParseInt(args[0], 10, 64)
				if err != nil || n < 0 {
					return usagef("INDEX must be an event index (0, 1, 2, ...), got %q", args[0])
				}
				index = n
			case !cmd.Flags().Changed("index"):
				return usagef("which event? give its index: modelgate audit proof INDEX")
			}
			l, db, err := openWriter(cmd.Context(), g)
			if err != nil {
				return err
			}
			defer db.Close()
			defer l.Close()
			cp, err := l.Checkpoint(cmd.Context())
			if errors.Is(err, store.ErrNotFound) {
				return usagef("the audit log is empty")
			}
			if err != nil {
				return err
			}
			p, err := audit.BuildProof(cmd.Context(), db, l.Verifier(), index)
			if errors.Is(err, store.ErrNotFound) {
				return usagef("event %d does not exist: the log has events 0 to %d", index, cp.Tree.N-1)
			}
			if err != nil {
				return err
			}
			b, err := audit.MarshalProof(p)
			if err != nil {
				return err
			}
			return writeOut(g, out, b)
		},
	}
	cmd.Flags().Int64Var(&index, "index", 0, "event index (or give it as the argument)")
	cmd.Flags().StringVar(&out, "out", "", "write to this file instead of standard output")
	return cmd
}

func auditVerifyProof(g *globals) *cobra.Command {
	var pubkey string
	cmd := &cobra.Command{
		Use:   "verify-proof FILE --pubkey KEY",
		Short: "Check a proof offline, with nothing but the log's public key",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			v, err := trustedVerifier(pubkey)
			if err != nil {
				return err
			}
			b, err := os.ReadFile(args[0])
			if err != nil {
				return usageError{err}
			}
			p, err := audit.ParseProof(b)
			if err != nil {
				return usagef("%s: %v", args[0], err)
			}
			ev, err := audit.VerifyProof(p, v)
			if err != nil {
				fmt.Fprintf(g.stdout, "FAILED: %v\n", err)
				return findings{}
			}
			fmt.Fprintf(g.stdout, "OK: event %d is in the log %s (signed tree of %d events)\n%s\n", ev.Index, v.Name(), p.TreeSize, ev)
			return nil
		},
	}
	cmd.Flags().StringVar(&pubkey, "pubkey", "", "verifier key, or a file holding it")
	return cmd
}

func auditConsistency(g *globals) *cobra.Command {
	var (
		pubkey string
		quick  bool
	)
	cmd := &cobra.Command{
		Use:   "consistency OLD_CHECKPOINT_FILE [--pubkey KEY] [--quick]",
		Short: "Prove the log today extends a checkpoint saved earlier: nothing removed or rewritten",
		Long: `Prove that the latest signed checkpoint extends one saved earlier (an RFC 6962
consistency proof), then verify every stored event against the log's
checkpoints, as audit verify does: the proof alone shows the signed trees
agree, not that the events in the file are still the ones signed.
--quick skips the second part.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			v, err := verifierFor(g, pubkey)
			if err != nil {
				return err
			}
			old, err := os.ReadFile(args[0])
			if err != nil {
				return usageError{err}
			}
			db, err := auditFiles(cmd.Context(), g)
			if err != nil {
				return err
			}
			defer db.Close()
			o, n, err := audit.Consistency(cmd.Context(), db, v, old)
			if errors.Is(err, audit.ErrBadCheckpoint) && o == nil {
				return usageError{err}
			}
			if err != nil {
				fmt.Fprintf(g.stdout, "FAILED: %v\n", err)
				return findings{}
			}
			if quick {
				fmt.Fprintf(g.stdout, "OK: the checkpoint at %d events extends the saved checkpoint at %d events (stored events not checked)\n", n.Tree.N, o.Tree.N)
				return nil
			}
			audit.TuneForVerify()
			r, err := audit.Verify(cmd.Context(), db, v)
			var ve *audit.VerifyError
			if errors.As(err, &ve) {
				fmt.Fprintf(g.stdout, "FAILED: the checkpoints are consistent, but the stored log is not: %v\n", ve)
				return findings{}
			}
			if err != nil {
				return err
			}
			fmt.Fprintf(g.stdout, "OK: the log at %d events extends the saved checkpoint at %d events, and all %d stored events verify\n", n.Tree.N, o.Tree.N, r.Events)
			return nil
		},
	}
	cmd.Flags().StringVar(&pubkey, "pubkey", "", "verifier key, or a file holding it (default: the data directory's)")
	cmd.Flags().BoolVar(&quick, "quick", false, "check only the consistency proof between the signed checkpoints")
	return cmd
}

// queryFlags are the filters query, tail and export share.
type queryFlags struct {
	since, until, actor, action, model, decision, requestID string
	limit                                                   int
	format                                                  string
}

func (q *queryFlags) add(cmd *cobra.Command, formats string) {
	fl := cmd.Flags()
	fl.StringVar(&q.since, "since", "", "from this time: RFC 3339, a date (2026-11-20), or an age (1h, 7d)")
	fl.StringVar(&q.until, "until", "", "before this time (same forms as --since)")
	fl.StringVar(&q.actor, "actor", "", "actor id (key id, identity, cli:user@host)")
	fl.StringVar(&q.action, "action", "", `action, or a family ending in "." ("inference.")`)
	fl.StringVar(&q.model, "model", "", "model name")
	fl.StringVar(&q.decision, "decision", "", "allowed, denied or failed")
	fl.StringVar(&q.requestID, "request-id", "", "request id")
	fl.StringVar(&q.format, "format", strings.SplitN(formats, "|", 2)[0], "output format: "+formats)
}

func (q *queryFlags) filter() (audit.Filter, error) {
	f := audit.Filter{ActorID: q.actor, Action: q.action, Model: q.model, Outcome: q.decision, RequestID: q.requestID, Limit: q.limit}
	now := time.Now()
	var err error
	if f.Since, err = audit.ParseTime(q.since, now); err != nil {
		return f, usagef("--since: %v", err)
	}
	if f.Until, err = audit.ParseTime(q.until, now); err != nil {
		return f, usagef("--until: %v", err)
	}
	if d := q.decision; d != "" && !audit.ValidOutcome(d) {
		return f, usagef("--decision must be allowed, denied or failed")
	}
	return f, nil
}

func auditQuery(g *globals) *cobra.Command {
	var (
		q       queryFlags
		latest  int
		reverse bool
	)
	cmd := &cobra.Command{
		Use:   "query [filters] [--latest N] [--reverse]",
		Short: "List events by time, actor, action, model or decision",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			f, err := q.filter()
			if err != nil {
				return err
			}
			if latest < 0 || q.limit < 0 {
				return usagef("--latest and --limit must not be negative")
			}
			if latest > 0 && q.limit > 0 {
				return usagef("give --latest (the newest N) or --limit (the oldest N), not both")
			}
			db, err := auditFiles(cmd.Context(), g)
			if err != nil {
				return err
			}
			defer db.Close()
			w, err := audit.NewEventWriter(g.stdout, q.format)
			if err != nil {
				return usagef("--format: %v", err)
			}
			if latest == 0 {
				f.Descending = reverse
				if err := audit.Query(cmd.Context(), db, f, func(ev *audit.Event, l *store.AuditLeaf) error { return w.Write(ev, l.Data) }); err != nil {
					return err
				}
				return w.Flush()
			}
			// The newest N, shown oldest first unless --reverse.
			f.Descending, f.Limit = true, latest
			var evs []*audit.Event
			var data [][]byte
			if err := audit.Query(cmd.Context(), db, f, func(ev *audit.Event, l *store.AuditLeaf) error {
				evs, data = append(evs, ev), append(data, bytes.Clone(l.Data))
				return nil
			}); err != nil {
				return err
			}
			for k := range evs {
				i := len(evs) - 1 - k
				if reverse {
					i = k
				}
				if err := w.Write(evs[i], data[i]); err != nil {
					return err
				}
			}
			return w.Flush()
		},
	}
	q.add(cmd, "table|jsonl")
	cmd.Flags().IntVar(&q.limit, "limit", 0, "at most this many events, the oldest first")
	cmd.Flags().IntVar(&latest, "latest", 0, "the newest N events")
	cmd.Flags().BoolVar(&reverse, "reverse", false, "newest first")
	return cmd
}

func auditShow(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "show INDEX|REQUEST_ID",
		Short: "Show one event in full, with the request and response bodies when capture kept them",
		Long: `Show an event: by its index, or by request id (a stream has two events,
its start and its end; both are shown). Captured bodies are printed as kept
(full, or redacted by the guards); bodies kept as digests only, or erased,
are said to be so.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			db, err := auditFiles(cmd.Context(), g)
			if err != nil {
				return err
			}
			defer db.Close()
			f := audit.Filter{RequestID: args[0], WithPayloads: true}
			if n, err := strconv.ParseInt(args[0], 10, 64); err == nil && n >= 0 {
				f = audit.Filter{FromIndex: n, Limit: 1, WithPayloads: true}
			}
			found := 0
			err = audit.Query(cmd.Context(), db, f, func(ev *audit.Event, l *store.AuditLeaf) error {
				if f.FromIndex > 0 && l.Index != f.FromIndex {
					return nil
				}
				if found++; found > 1 {
					fmt.Fprintln(g.stdout)
				}
				return audit.WriteDetail(g.stdout, ev, l)
			})
			if err != nil {
				return err
			}
			if found == 0 {
				return usagef("no event %s: give an event index or a request id (audit query lists them)", args[0])
			}
			return nil
		},
	}
}

func auditTail(g *globals) *cobra.Command {
	var (
		q      queryFlags
		n      int
		follow bool
	)
	cmd := &cobra.Command{
		Use:   "tail [-n N] [-f]",
		Short: "Show the newest events, and with -f keep showing new ones",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			f, err := q.filter()
			if err != nil {
				return err
			}
			db, err := auditFiles(cmd.Context(), g)
			if err != nil {
				return err
			}
			defer db.Close()
			// The last n, oldest first.
			type shown struct {
				ev   *audit.Event
				leaf store.AuditLeaf
			}
			var last []shown
			back := f
			back.Descending, back.Limit = true, n
			if err := audit.Query(cmd.Context(), db, back, func(ev *audit.Event, l *store.AuditLeaf) error {
				last = append(last, shown{ev, store.AuditLeaf{Index: l.Index, Data: bytes.Clone(l.Data)}})
				return nil
			}); err != nil {
				return err
			}
			p, err := audit.NewEventWriter(g.stdout, q.format)
			if err != nil {
				return usagef("--format: %v", err)
			}
			next := f.FromIndex
			for i := len(last) - 1; i >= 0; i-- {
				if err := p.Write(last[i].ev, last[i].leaf.Data); err != nil {
					return err
				}
				next = last[i].leaf.Index + 1
			}
			if err := p.Flush(); err != nil || !follow {
				return err
			}
			if len(last) == 0 {
				if next, err = db.AuditSize(cmd.Context()); err != nil {
					return err
				}
			}
			for {
				select {
				case <-cmd.Context().Done():
					return nil
				case <-time.After(500 * time.Millisecond):
				}
				f.FromIndex = next
				err := audit.Query(cmd.Context(), db, f, func(ev *audit.Event, l *store.AuditLeaf) error {
					next = l.Index + 1
					return p.Write(ev, l.Data)
				})
				if err != nil {
					if cmd.Context().Err() != nil {
						return nil
					}
					return err
				}
				if err := p.Flush(); err != nil {
					return err
				}
			}
		},
	}
	q.add(cmd, "table|jsonl")
	cmd.Flags().IntVarP(&n, "lines", "n", 20, "how many of the newest events to show")
	cmd.Flags().BoolVarP(&follow, "follow", "f", false, "keep printing new events until interrupted")
	return cmd
}

func auditExport(g *globals) *cobra.Command {
	var (
		q   queryFlags
		out string
	)
	cmd := &cobra.Command{
		Use:   "export --format jsonl|ocsf|cef|syslog [--since T] [--until T] [--out FILE]",
		Short: "Export events for a SIEM, one per line",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if !audit.ValidFormat(q.format) {
				return usagef("--format must be jsonl, ocsf, cef or syslog")
			}
			f, err := q.filter()
			if err != nil {
				return err
			}
			w := g.stdout
			if out != "" {
				file, err := os.OpenFile(out, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
				if err != nil {
					return err
				}
				defer file.Close()
				w = file
			}
			db, err := auditFiles(cmd.Context(), g)
			if err != nil {
				return err
			}
			defer db.Close()
			bw := bufio.NewWriter(w)
			fm := audit.Formatter{Format: q.format}
			n := 0
			err = audit.Query(cmd.Context(), db, f, func(ev *audit.Event, l *store.AuditLeaf) error {
				rec, err := fm.Record(ev, l.Data)
				if err != nil {
					return err
				}
				n++
				bw.Write(rec)
				return bw.WriteByte('\n')
			})
			if err != nil {
				return err
			}
			if err := bw.Flush(); err != nil {
				return err
			}
			if out != "" {
				fmt.Fprintf(g.stdout, "wrote %s: %d events (%s)\n", out, n, q.format)
			}
			return nil
		},
	}
	q.add(cmd, "jsonl|ocsf|cef|syslog")
	cmd.Flags().StringVar(&out, "out", "", "write to this file instead of standard output")
	return cmd
}

func auditErase(g *globals) *cobra.Command {
	var (
		indexes string
		actor   string
		reason  string
	)
	cmd := &cobra.Command{
		Use:   "erase (--index N[,M,...] | --actor ID) --reason TEXT",
		Short: "Erase captured payloads (an erasure request); the log stays verifiable",
		Long: `Delete the captured request and response bodies, and the salts of their
digests, of the given events or of every event by an actor. The events stay
in the log, their digests can no longer be linked to any content, and the
erasure itself is recorded (who, why, which events), so that audit verify can
tell it apart from tampering.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if (indexes == "") == (actor == "") {
				return usagef("give exactly one of --index and --actor")
			}
			if strings.TrimSpace(reason) == "" {
				return usagef("--reason is required: it is recorded with the erasure")
			}
			l, db, err := openWriter(cmd.Context(), g)
			if err != nil {
				return err
			}
			defer db.Close()
			defer l.Close()
			var idx []int64
			if indexes != "" {
				if idx, err = audit.ParseRanges(indexes); err != nil {
					return usagef("--index: %v", err)
				}
			} else if err := audit.Query(cmd.Context(), db, audit.Filter{ActorID: actor}, func(_ *audit.Event, leaf *store.AuditLeaf) error {
				idx = append(idx, leaf.Index)
				return nil
			}); err != nil {
				return err
			}
			if len(idx) == 0 {
				return usagef("no events match")
			}
			ev := &audit.Event{Time: time.Now(), Actor: audit.Actor{Kind: audit.ActorAdmin, ID: cliActor()}, Action: audit.ActionErase,
				Decision: audit.Decision{Outcome: audit.Allowed}, Details: map[string]string{"reason": reason}}
			if actor != "" {
				ev.Details["of_actor"] = actor
			}
			erased, err := l.Erase(cmd.Context(), ev, idx, 0)
			if err != nil {
				return err
			}
			fmt.Fprintf(g.stdout, "Erased the payloads of %d event(s); the erasure is event %d.\n", len(erased), ev.Index)
			return nil
		},
	}
	cmd.Flags().StringVar(&indexes, "index", "", "event indexes: 12, 12,15 or 10-20")
	cmd.Flags().StringVar(&actor, "actor", "", "erase the payloads of every event by this actor")
	cmd.Flags().StringVar(&reason, "reason", "", "why (recorded)")
	return cmd
}

// writeOut writes b to path, or to standard output when path is empty,
// and says where it went.
func writeOut(g *globals, path string, b []byte) error {
	if path == "" {
		_, err := g.stdout.Write(b)
		return err
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		return err
	}
	fmt.Fprintf(g.stdout, "wrote %s (%d bytes)\n", path, len(b))
	return nil
}

func auditVerifyBundle(g *globals) *cobra.Command {
	var pubkey string
	cmd := &cobra.Command{
		Use:   "verify-bundle FILE --pubkey KEY",
		Short: "Check an evidence bundle offline, with nothing but the log's public key",
		Long: `Check every event of an evidence bundle (modelgate incident evidence) against
the signed checkpoint it carries, and that checkpoint against the earlier
one it carries (the log was not rewritten between them), with the verifier
key you trust for the log. The bundle's context (configuration and model
digests) is printed but is covered by no proof.

Exit status: 0 verified, 1 it does not verify, 2 bad usage.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			v, err := trustedVerifier(pubkey)
			if err != nil {
				return err
			}
			raw, err := os.ReadFile(args[0])
			if err != nil {
				return usageError{err}
			}
			var b audit.Bundle
			if err := json.Unmarshal(raw, &b); err != nil {
				return usagef("%s: not an evidence bundle: %v", args[0], err)
			}
			events, err := audit.VerifyBundle(&b, v)
			if err != nil {
				fmt.Fprintf(g.stdout, "FAILED: %v\n", err)
				return findings{msg: "the bundle does not verify"}
			}
			fmt.Fprintf(g.stdout, "OK: %d events of %s are in the log %s", len(events), b.Subject, v.Name())
			if b.Earlier != "" {
				fmt.Fprint(g.stdout, ", whose later checkpoint extends the earlier one")
			}
			fmt.Fprintln(g.stdout)
			for _, ev := range events {
				fmt.Fprintf(g.stdout, "  %d %s %s %s:%s %s %s\n", ev.Index, ev.Time.UTC().Format(time.RFC3339), ev.Action, ev.Actor.Kind, ev.Actor.ID, ev.Resource.ID+ev.Resource.Model, ev.Decision.Outcome)
			}
			keys := make([]string, 0, len(b.Context))
			for k := range b.Context {
				keys = append(keys, k)
			}
			slices.Sort(keys)
			for _, k := range keys {
				fmt.Fprintf(g.stdout, "context (not proved): %s = %s\n", k, b.Context[k])
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&pubkey, "pubkey", "", "verifier key, or a file holding it")
	return cmd
}

// trustedVerifier loads the verifier key given by --pubkey, which the
// offline checks require: a key taken from what is checked proves nothing.
func trustedVerifier(pubkey string) (note.Verifier, error) {
	if pubkey == "" {
		return nil, usagef("--pubkey is required: the verifier key (or a file holding it) you trust for this log")
	}
	v, err := audit.LoadVerifier(pubkey)
	if err != nil {
		return nil, usageError{err}
	}
	return v, nil
}
