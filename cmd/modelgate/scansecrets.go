package main

import (
	"bytes"
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/modelgate/modelgate/access"
	"github.com/modelgate/modelgate/audit"
	"github.com/modelgate/modelgate/finding"
	"github.com/modelgate/modelgate/store"
	"github.com/modelgate/modelgate/store/sqlite"
	"github.com/modelgate/modelgate/supplychain"
	"github.com/modelgate/modelgate/supplychain/deps"
	"github.com/modelgate/modelgate/supplychain/secrets"
	"github.com/modelgate/modelgate/supplychain/vulndb"
	"github.com/spf13/cobra"
)

func scanSecrets(g *globals) *cobra.Command {
	var format, failOn, baseline, writeBaseline, since string
	var history, staged bool
	cmd := &cobra.Command{
		Use:   "secrets PATH... [--git [--since REV]] [--staged] [--baseline F] [--format table|json|sarif]",
		Short: "Find credentials in files and in git history (gitleaks' rules, no git binary)",
		Long: `Find credentials with gitleaks' ~220 rules and one for modelgate API keys:
in the files under each path (text, notebooks, and the printable strings
of binary files such as models), with --git in every blob of the
repository's history (each blob once; no git binary needed), or with
--staged in what the next commit will hold (the pre-commit hook).

A modelgate key found is matched, offline, against the data directory's
key hashes: a live key is critical, with its id and last use. Values are
never printed; a finding shows the first digits of the value's SHA-256.

Accepted findings go in a baseline (--write-baseline F, then --baseline
F), keyed by rule, path and value digest, so moving code does not make
them new. A line with "modelgate:allow" or "gitleaks:allow" is skipped,
and a .gitleaksignore at the root of a path is honoured.

Exit status: 0 nothing at or above --fail-on (default low), 1 findings,
2 bad usage or an unreadable file.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			threshold, err := reportOptions(format, failOn)
			if err != nil {
				return err
			}
			if history && staged {
				return usagef("--git and --staged: choose one")
			}
			if since != "" && !history {
				return usagef("--since goes with --git")
			}
			var base *secrets.Baseline
			if baseline != "" {
				if base, err = secrets.LoadBaseline(baseline); err != nil {
					return usageError{err}
				}
			}
			ctx := cmd.Context()
			var leaks []secrets.Leak
			var staging []string
			for _, root := range args {
				if _, err := os.Stat(root); err != nil {
					return usageError{err}
				}
				var ls []secrets.Leak
				switch {
				case history:
					ls, err = secrets.ScanHistory(ctx, root, since)
				case staged:
					var changed []string
					ls, changed, err = secrets.ScanStaged(ctx, root)
					staging = append(staging, changed...)
				default:
					ls, err = secrets.ScanFiles(ctx, []string{root})
				}
				if err != nil {
					if ctx.Err() != nil {
						return interrupted{err}
					}
					return usageError{err}
				}
				ig, err := secrets.LoadIgnore(filepath.Join(root, ".gitleaksignore"))
				if err != nil {
					return usageError{err}
				}
				for _, l := range ls {
					rel := l.Path
					if r, err := filepath.Rel(root, l.Path); err == nil && !history && !staged {
						rel = filepath.ToSlash(r)
					}
					if !ig.Ignores(&l, rel) {
						leaks = append(leaks, l)
					}
				}
			}
			if writeBaseline != "" {
				if err := secrets.NewBaseline(leaks).Write(writeBaseline); err != nil {
					return usageError{err}
				}
				fmt.Fprintf(g.stdout, "wrote %s: %d accepted findings\n", writeBaseline, len(leaks))
				return nil
			}
			var kept []secrets.Leak
			accepted := 0
			for _, l := range leaks {
				if base.Accepts(&l) {
					accepted++
					continue
				}
				kept = append(kept, l)
			}
			verify, done := keyVerifier(ctx, g)
			defer done()
			rep := secrets.Report(kept, verify)
			switch format {
			case "json":
				err = writeJSON(g.stdout, map[string]any{"leaks": nonNilLeaks(kept), "report": rep, "baselined": accepted})
			case "sarif":
				err = finding.WriteSARIF(g.stdout, rep, "modelgate", versionString())
			default:
				if accepted > 0 {
					fmt.Fprintf(g.stdout, "%d findings accepted by the baseline\n", accepted)
				}
				err = finding.WriteTable(g.stdout, rep)
			}
			if err != nil {
				return err
			}
			if staged {
				if err := stagedDependencies(ctx, g, args[0], staging); err != nil {
					return err
				}
			}
			if rep.Fails(threshold) {
				return findings{msg: "credentials found"}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&format, "format", "table", "table, json or sarif")
	cmd.Flags().StringVar(&failOn, "fail-on", "low", "fail (exit 1) on findings of this severity or above")
	cmd.Flags().BoolVar(&history, "git", false, "scan the repository's history instead of the files")
	cmd.Flags().StringVar(&since, "since", "", "with --git: only commits after this revision")
	cmd.Flags().BoolVar(&staged, "staged", false, "scan what is staged for the next commit")
	cmd.Flags().StringVar(&baseline, "baseline", "", "accept the findings listed in this baseline file")
	cmd.Flags().StringVar(&writeBaseline, "write-baseline", "", "write the findings to this baseline file instead of reporting them")
	return cmd
}

func nonNilLeaks(ls []secrets.Leak) []secrets.Leak {
	if ls == nil {
		return []secrets.Leak{}
	}
	return ls
}

// keyVerifier matches leaked modelgate keys against the data directory's
// key hashes (or the shared store's), offline, and finds their last use
// in the audit log. Without a store it has nothing to say.
func keyVerifier(ctx context.Context, g *globals) (secrets.Verifier, func()) {
	if g.postgresEnv == "" {
		if _, err := os.Stat(filepath.Join(g.dataDir, sqlite.FileName)); err != nil {
			return nil, func() {}
		}
	}
	st, _, done, err := openLocal(ctx, g)
	if err != nil {
		return nil, func() {}
	}
	verify := func(l *secrets.Leak) (secrets.Verdict, bool) {
		if l.Rule != secrets.RuleModelgateKey {
			return secrets.Verdict{}, false
		}
		id, secret, err := access.ParseKey(l.Secret())
		if err != nil {
			return secrets.Verdict{}, false
		}
		k, err := st.GetKey(ctx, id)
		if errors.Is(err, store.ErrNotFound) {
			return secrets.Verdict{Severity: finding.Medium, Note: "a modelgate key unknown to this store (key id " + id + ")"}, true
		}
		if err != nil {
			return secrets.Verdict{}, false
		}
		hash := access.HashSecret(secret)
		matches := subtle.ConstantTimeCompare(hash, k.SecretHash) == 1 ||
			len(k.PrevSecretHash) > 0 && time.Now().Before(k.PrevValidUntil) && bytes.Equal(hash, k.PrevSecretHash)
		switch {
		case !matches:
			return secrets.Verdict{Severity: finding.Low, Note: "key " + id + "'s secret was rotated: this value no longer authenticates"}, true
		case !k.RevokedAt.IsZero():
			return secrets.Verdict{Severity: finding.Low, Note: "key " + id + " is revoked (" + k.RevokedAt.UTC().Format(time.RFC3339) + ")"}, true
		case !k.ExpiresAt.IsZero() && time.Now().After(k.ExpiresAt):
			return secrets.Verdict{Severity: finding.Low, Note: "key " + id + " has expired"}, true
		}
		return secrets.Verdict{Severity: finding.Critical, Note: fmt.Sprintf("this leaked key is LIVE: key %s (%s), %s — revoke it: modelgate keys revoke %s",
			id, k.Name, lastUse(ctx, g, id), id)}, true
	}
	return verify, done
}

// lastUse says when the audit log last saw a key.
func lastUse(ctx context.Context, g *globals, id string) string {
	db, err := auditFiles(ctx, g)
	if err != nil {
		return "last use unknown"
	}
	defer db.Close()
	var last time.Time
	audit.Query(ctx, db, audit.Filter{ActorID: id, Descending: true, Limit: 1}, func(ev *audit.Event, _ *store.AuditLeaf) error {
		last = ev.Time
		return nil
	})
	if last.IsZero() {
		return "never used"
	}
	return "last used " + last.UTC().Format(time.RFC3339)
}

// stagedDependencies checks the staged dependency files, when a
// vulnerability database is present: the hook refuses a commit that
// brings a dependency with a high or critical advisory.
func stagedDependencies(ctx context.Context, g *globals, root string, changed []string) error {
	var paths []string
	for _, name := range changed {
		p := filepath.Join(root, filepath.FromSlash(name))
		if deps.IsDependencyFile(p) {
			paths = append(paths, p)
		}
	}
	if len(paths) == 0 {
		return nil
	}
	d, err := vulndb.Open(vulndbPath(g, ""))
	if errors.Is(err, vulndb.ErrNoIndex) {
		fmt.Fprintf(g.stderr, "note: %d dependency files staged, not checked: no vulnerability database (modelgate vulndb import)\n", len(paths))
		return nil
	}
	if err != nil {
		return err
	}
	defer d.Close()
	files, err := deps.Find(paths)
	if err != nil {
		return usageError{err}
	}
	res, err := supplychain.ScanDeps(d, files)
	if err != nil {
		return err
	}
	rep := res.Report()
	if rep.Summary.Findings == 0 {
		return nil
	}
	fmt.Fprintln(g.stdout, "\nstaged dependency files:")
	if err := finding.WriteTable(g.stdout, rep); err != nil {
		return err
	}
	if rep.Fails(finding.High) {
		return findings{msg: "a staged dependency has a high or critical advisory"}
	}
	return nil
}
