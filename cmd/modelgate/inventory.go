package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/modelgate/modelgate/audit"
	"github.com/modelgate/modelgate/finding"
	"github.com/modelgate/modelgate/inventory"
	"github.com/modelgate/modelgate/modelscan"
	"github.com/modelgate/modelgate/registry/bom"
	"github.com/modelgate/modelgate/store"
	"github.com/modelgate/modelgate/store/sqlite"
	"github.com/modelgate/modelgate/supplychain/vulndb"
	"github.com/spf13/cobra"
)

// ActionInventorySnapshot records an inventory snapshot; the snapshot is
// the event's payload.
const actionInventorySnapshot = "inventory.snapshot"

func newInventory(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "inventory", Short: "Find the AI assets of an estate: models, datasets, AI code, servers, MCP configs, AI keys"}
	cmd.AddCommand(inventoryScan(g), inventorySnapshot(g), inventoryList(g), inventoryShow(g), inventoryDiff(g))
	return cmd
}

// scanFlags are what scan and snapshot share.
type scanFlags struct {
	all, gitignore, hash, noScan bool
	workers                      int
	sampleRows                   int64
	auditSince                   time.Duration
}

func (f *scanFlags) register(cmd *cobra.Command) {
	cmd.Flags().BoolVar(&f.all, "all", false, "also walk .git, node_modules, virtualenvs and tool caches")
	cmd.Flags().BoolVar(&f.gitignore, "gitignore", false, "skip what .gitignore files in the tree ignore")
	cmd.Flags().BoolVar(&f.hash, "sha256", false, "compute every model and dataset file's SHA-256 (reads all of each)")
	cmd.Flags().BoolVar(&f.noScan, "no-scan", false, "do not run the model scanner on the models found (they are then reported unscanned unless the registry scanned them)")
	cmd.Flags().IntVar(&f.workers, "workers", 0, "files read in parallel (default: two per CPU)")
	cmd.Flags().Int64Var(&f.sampleRows, "sample-rows", 0, "rows of each dataset classified (default 500)")
	cmd.Flags().DurationVar(&f.auditSince, "audit-window", 30*24*time.Hour, "how far back the audit log is read for calls to the routes that serve an asset")
}

// run walks the paths and assesses what it found against the data
// directory's (or the shared store's) registry, routes and audit log.
func (f *scanFlags) run(ctx context.Context, g *globals, paths []string) (*inventory.Inventory, error) {
	for _, p := range paths {
		if _, err := os.Stat(p); err != nil {
			return nil, usageError{err}
		}
	}
	debug.SetGCPercent(modelscan.GCPercent)
	debug.SetMemoryLimit(modelscan.MemoryLimit)
	progress := &inventory.Progress{}
	s := &inventory.Scanner{All: f.all, GitIgnore: f.gitignore, Hash: f.hash, Workers: f.workers, SampleRows: f.sampleRows, Progress: progress}
	stop := showProgress(g.stderr, progress)
	inv, err := s.Scan(ctx, paths)
	stop()
	if err != nil {
		if ctx.Err() != nil {
			return nil, interrupted{err}
		}
		return nil, err
	}
	ev, err := inventoryEvidence(ctx, g, f.auditSince)
	if err != nil {
		return nil, err
	}
	if !f.noScan {
		ev.Scanner = &modelscan.Scanner{Digest: false}
	}
	// Patch status of declared Python packages, when a vulnerability
	// database has been imported.
	if db, err := vulndb.Open(vulndbPath(g, "")); err == nil {
		defer db.Close()
		ev.VulnDB = db
		ev.Sources = append(ev.Sources, "vulnerability database (OSV "+db.Meta.Ecosystem+", imported "+db.Meta.ImportedAt.Format(time.DateOnly)+")")
	} else if !errors.Is(err, vulndb.ErrNoIndex) {
		return nil, err
	}
	if err := inv.Assess(ctx, ev); err != nil {
		return nil, interrupted{err}
	}
	return inv, nil
}

// showProgress writes a progress line to a terminal every 200 ms (files,
// files per second, assets) and nothing when w is not a terminal. The
// returned function clears the line.
func showProgress(w io.Writer, p *inventory.Progress) func() {
	f, ok := w.(*os.File)
	if !ok {
		return func() {}
	}
	if fi, err := f.Stat(); err != nil || fi.Mode()&os.ModeCharDevice == 0 {
		return func() {}
	}
	done := make(chan struct{})
	finished := make(chan struct{})
	began := time.Now()
	go func() {
		defer close(finished)
		t := time.NewTicker(200 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-done:
				fmt.Fprint(f, "\r\033[K")
				return
			case <-t.C:
				n := p.Files.Load()
				rate := float64(n) / time.Since(began).Seconds()
				fmt.Fprintf(f, "\r\033[K%d files (%.0f/s), %d assets, %.1f MB read", n, rate, p.Assets.Load(), float64(p.Bytes.Load())/1e6)
			}
		}
	}()
	return func() { close(done); <-finished }
}

// inventoryEvidence gathers what the store knows: registered models,
// routes and the audit log's calls per route. Without a data directory
// (and without --postgres-dsn-env) there is none, and every model found
// is unknown to the registry.
func inventoryEvidence(ctx context.Context, g *globals, since time.Duration) (inventory.Evidence, error) {
	var ev inventory.Evidence
	if g.postgresEnv == "" {
		if _, err := os.Stat(filepath.Join(g.dataDir, sqlite.FileName)); err != nil {
			return ev, nil
		}
	}
	st, _, done, err := openLocal(ctx, g)
	if err != nil {
		return ev, err
	}
	defer done()
	if ev.Models, err = st.ListModels(ctx, ""); err != nil {
		return ev, fmt.Errorf("registry: %w", err)
	}
	if ev.Routes, err = st.ListRoutes(ctx); err != nil {
		return ev, fmt.Errorf("routes: %w", err)
	}
	ev.Sources = append(ev.Sources, "registry", "routes")
	db, err := auditFiles(ctx, g)
	if err != nil {
		var ue usageError
		if errors.As(err, &ue) {
			return ev, nil // no audit log yet: no calls
		}
		return ev, err
	}
	defer db.Close()
	ev.Calls = map[string]inventory.Calls{}
	err = audit.Query(ctx, db, audit.Filter{Since: time.Now().Add(-since), Action: "inference."}, func(e *audit.Event, _ *store.AuditLeaf) error {
		if e.Action != audit.ActionInvoke || e.Resource.Route == "" && e.Resource.Model == "" {
			return nil
		}
		route := e.Resource.Model
		c := ev.Calls[route]
		c.N++
		if e.Time.After(c.Last) {
			c.Last = e.Time
		}
		ev.Calls[route] = c
		return nil
	})
	if err != nil {
		return ev, fmt.Errorf("audit log: %w", err)
	}
	ev.Sources = append(ev.Sources, "audit log (since "+time.Now().Add(-since).UTC().Format(time.DateOnly)+")")
	return ev, nil
}

func inventoryScan(g *globals) *cobra.Command {
	var f scanFlags
	var format, out, failOn string
	cmd := &cobra.Command{
		Use:   "scan PATH... [--format table|json|cyclonedx|sarif] [--out FILE]",
		Short: "Walk trees and list the AI assets in them, with what modelgate knows of each",
		Long: `Walk directories (in parallel) and classify every file by what it
contains, not by its name: model files of every format the model scanner
knows (pickle, PyTorch, safetensors, GGUF, ONNX, Keras, NumPy, joblib,
TFLite, ...), Hugging Face cache snapshots (repository and revision),
datasets (CSV, TSV, JSON lines, Parquet, Arrow, ...) with the personal
data and credentials in their columns, code and notebooks that call AI
services (client libraries, model names, base URLs), serving and training
configurations (KServe, Triton, TorchServe, BentoML, Ollama Modelfiles,
vLLM/TGI in compose or Kubernetes, GPU jobs), MCP server configurations,
and AI API keys (never printed).

Each model is joined to what modelgate knows: the model scanner's verdict,
its registry version, stage and signature, the routes that serve it and
the calls the audit log shows. Unknown, unsigned, unscanned or changed
models are findings.

.git, node_modules, virtualenvs and tool caches are skipped unless --all.

Exit status: 0 no findings at or above --fail-on, 1 findings (or files that
could not be read), 2 bad usage or a missing path, 130 interrupted.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkFormat(format, "table", "json", "cyclonedx", "sarif"); err != nil {
				return err
			}
			threshold, err := finding.ParseSeverity(failOn)
			if err != nil {
				return usagef("--fail-on: %v", err)
			}
			inv, err := f.run(cmd.Context(), g, args)
			if err != nil {
				return err
			}
			if err := writeInventory(g, inv, format, out); err != nil {
				return err
			}
			if inv.Report().Fails(threshold) {
				return findings{msg: "the inventory found problems"}
			}
			return nil
		},
	}
	f.register(cmd)
	cmd.Flags().StringVar(&format, "format", "table", "table, json, cyclonedx or sarif")
	cmd.Flags().StringVar(&out, "out", "", "file to write (default: standard output)")
	cmd.Flags().StringVar(&failOn, "fail-on", "medium", "fail (exit 1) on findings of this severity or above")
	return cmd
}

// writeInventory writes an inventory in a format, to a file or stdout.
func writeInventory(g *globals, inv *inventory.Inventory, format, out string) error {
	var buf bytes.Buffer
	var err error
	switch format {
	case "json":
		err = writeInventoryJSON(&buf, inv)
	case "cyclonedx":
		err = bom.Write(&buf, inv.BOM(versionString()))
	case "sarif":
		err = finding.WriteSARIF(&buf, inv.Report(), "modelgate", versionString())
	default:
		err = inventory.WriteTable(&buf, inv)
	}
	if err != nil {
		return err
	}
	if out == "" || out == "-" {
		_, err = g.stdout.Write(buf.Bytes())
		return err
	}
	if err := os.WriteFile(out, buf.Bytes(), 0o644); err != nil {
		return usageError{err}
	}
	fmt.Fprintf(g.stdout, "wrote %s: %d assets\n", out, len(inv.Assets))
	return nil
}

func inventorySnapshot(g *globals) *cobra.Command {
	var f scanFlags
	cmd := &cobra.Command{
		Use:   "snapshot PATH...",
		Short: "Scan and keep the inventory in the audit log, dated, for list, show and diff",
		Long: `Scan like "inventory scan" and record the inventory as an
inventory.snapshot event in the audit log (the data directory's, or with
--postgres-dsn-env the shared one): the snapshot itself is the event's
payload, compressed, so that it is signed evidence of what the estate held
and when. "inventory list" shows the snapshots; "inventory diff" compares
two of them.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			inv, err := f.run(cmd.Context(), g, args)
			if err != nil {
				return err
			}
			id, err := recordSnapshot(cmd.Context(), g, inv)
			if err != nil {
				return err
			}
			rep := inv.Report()
			fmt.Fprintf(g.stdout, "snapshot %s: %d assets, %d findings (highest %s)\n", id, len(inv.Assets), rep.Summary.Findings, orDash(rep.Summary.Highest))
			return nil
		},
	}
	f.register(cmd)
	return cmd
}

// recordSnapshot appends the snapshot event and returns its id.
func recordSnapshot(ctx context.Context, g *globals, inv *inventory.Inventory) (string, error) {
	var idb [6]byte
	rand.Read(idb[:])
	inv.ID = inv.TakenAt.UTC().Format("20060102T150405Z") + "-" + hex.EncodeToString(idb[:])
	raw, err := json.Marshal(inv)
	if err != nil {
		return "", err
	}
	details := map[string]string{
		"snapshot": inv.ID, "roots": strings.Join(inv.Roots, ","), "assets": strconv.Itoa(len(inv.Assets)),
		"findings": strconv.Itoa(inv.Report().Summary.Findings),
	}
	for k, n := range inv.Stats.Assets {
		details["assets."+k] = strconv.Itoa(n)
	}
	ev := &audit.Event{Time: inv.TakenAt, Actor: audit.Actor{Kind: audit.ActorAdmin, ID: cliActor()},
		Action: actionInventorySnapshot, Resource: audit.Resource{ID: inv.ID},
		Decision: audit.Decision{Outcome: audit.Allowed}, Details: details}
	if err := appendDocument(ctx, g, ev, raw); err != nil {
		return "", fmt.Errorf("recording the snapshot: %w", err)
	}
	return inv.ID, nil
}

// appendDocument records an event with a document as its payload,
// gzipped, and the document's SHA-256 in its details.
func appendDocument(ctx context.Context, g *globals, ev *audit.Event, doc []byte) error {
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(doc)
	if err := zw.Close(); err != nil {
		return err
	}
	sum := sha256.Sum256(doc)
	ev.Details["sha256"] = hex.EncodeToString(sum[:])
	_, l, done, err := openLocal(ctx, g)
	if err != nil {
		return err
	}
	defer done()
	return l.Append(ctx, ev, audit.Payload{Kind: audit.PayloadOutput, Mode: audit.CaptureFull, Data: gz.Bytes()})
}

// snapshotInfo is one snapshot as the log lists it.
type snapshotInfo struct {
	ID       string            `json:"id"`
	Index    int64             `json:"audit_index"`
	TakenAt  time.Time         `json:"taken_at"`
	By       string            `json:"by"`
	Details  map[string]string `json:"details"`
	Erased   bool              `json:"erased,omitempty"`
	contents []byte
}

// snapshots lists the snapshots in the audit log, oldest first, with
// their contents when withData.
func snapshots(ctx context.Context, g *globals, withData bool) ([]snapshotInfo, error) {
	db, err := auditFiles(ctx, g)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	var out []snapshotInfo
	err = audit.Query(ctx, db, audit.Filter{Action: actionInventorySnapshot, WithPayloads: withData}, func(e *audit.Event, l *store.AuditLeaf) error {
		s := snapshotInfo{ID: e.Resource.ID, Index: l.Index, TakenAt: e.Time, By: e.Actor.ID, Details: e.Details}
		if withData {
			data, err := audit.StoredOutput(e, l)
			if err != nil {
				return fmt.Errorf("snapshot %s: %w", s.ID, err)
			}
			s.contents, s.Erased = data, data == nil
		}
		out = append(out, s)
		return nil
	})
	return out, err
}

// loadSnapshot finds a snapshot by id, unique id prefix, "latest" or
// "latest~N", and decodes it.
func loadSnapshot(ctx context.Context, g *globals, ref string) (*inventory.Inventory, error) {
	all, err := snapshots(ctx, g, true)
	if err != nil {
		return nil, err
	}
	var pick *snapshotInfo
	if back, ok := strings.CutPrefix(ref, "latest"); ok {
		n := 0
		if back != "" {
			if n, err = strconv.Atoi(strings.TrimPrefix(back, "~")); err != nil || !strings.HasPrefix(back, "~") || n < 0 {
				return nil, usagef("%q: write latest or latest~N", ref)
			}
		}
		if n >= len(all) {
			return nil, usagef("%q: there are %d snapshots", ref, len(all))
		}
		pick = &all[len(all)-1-n]
	} else {
		for i := range all {
			if strings.HasPrefix(all[i].ID, ref) {
				if pick != nil {
					return nil, usagef("%q names more than one snapshot: %s and %s", ref, pick.ID, all[i].ID)
				}
				pick = &all[i]
			}
		}
	}
	if pick == nil {
		return nil, usagef("no snapshot %q (modelgate inventory list shows them)", ref)
	}
	if pick.Erased {
		return nil, usagef("snapshot %s was erased from the audit log (its digest remains)", pick.ID)
	}
	inv, err := inventory.DecodeSnapshot(pick.contents)
	if err != nil {
		return nil, fmt.Errorf("snapshot %s: %w", pick.ID, err)
	}
	return inv, nil
}

func inventoryList(g *globals) *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:   "list [--format table|json]",
		Short: "List the inventory snapshots in the audit log",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkFormat(format, "table", "json"); err != nil {
				return err
			}
			all, err := snapshots(cmd.Context(), g, false)
			if err != nil {
				return err
			}
			if format == "json" {
				if all == nil {
					all = []snapshotInfo{}
				}
				return writeInventoryJSON(g.stdout, all)
			}
			if len(all) == 0 {
				fmt.Fprintln(g.stdout, "no snapshots (modelgate inventory snapshot PATH... takes one)")
				return nil
			}
			fmt.Fprintf(g.stdout, "%-31s  %-20s  %7s  %8s  %s\n", "ID", "TAKEN", "ASSETS", "FINDINGS", "ROOTS")
			for _, s := range all {
				fmt.Fprintf(g.stdout, "%-31s  %-20s  %7s  %8s  %s\n", s.ID, s.TakenAt.UTC().Format(time.RFC3339), s.Details["assets"], s.Details["findings"], s.Details["roots"])
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&format, "format", "table", "table or json")
	return cmd
}

func inventoryShow(g *globals) *cobra.Command {
	var format, out string
	cmd := &cobra.Command{
		Use:   "show SNAPSHOT [--format table|json|cyclonedx|sarif]",
		Short: "Show a snapshot (by id, id prefix, latest or latest~N)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkFormat(format, "table", "json", "cyclonedx", "sarif"); err != nil {
				return err
			}
			inv, err := loadSnapshot(cmd.Context(), g, args[0])
			if err != nil {
				return err
			}
			return writeInventory(g, inv, format, out)
		},
	}
	cmd.Flags().StringVar(&format, "format", "table", "table, json, cyclonedx or sarif")
	cmd.Flags().StringVar(&out, "out", "", "file to write (default: standard output)")
	return cmd
}

func inventoryDiff(g *globals) *cobra.Command {
	var format, failOn string
	cmd := &cobra.Command{
		Use:   "diff OLD NEW [--format table|json] [--fail-on SEV]",
		Short: "Compare two inventories: JSON files (inventory scan --format json) or snapshots",
		Long: `Compare two inventories, each a JSON file written by "inventory scan
--format json" or a snapshot (id, id prefix, latest, latest~N): the
assets added, removed and changed (content, attributes, registry status,
routes), and the findings that came with them (a new unsigned or
unscanned model, a new AI key).

Exit status: 0 no new finding at or above --fail-on (default medium;
"none" never fails), 1 new findings, 2 bad usage or an unreadable input.`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkFormat(format, "table", "json"); err != nil {
				return err
			}
			threshold := finding.Severity(255)
			if failOn != "none" {
				var err error
				if threshold, err = finding.ParseSeverity(failOn); err != nil {
					return usagef("--fail-on: %v (or none)", err)
				}
			}
			var invs [2]*inventory.Inventory
			for i, a := range args {
				inv, err := readInventory(cmd.Context(), g, a)
				if err != nil {
					return err
				}
				invs[i] = inv
			}
			d := inventory.Compare(invs[0], invs[1])
			var err error
			if format == "json" {
				err = writeInventoryJSON(g.stdout, d)
			} else {
				err = inventory.WriteDiffTable(g.stdout, d)
			}
			if err != nil {
				return err
			}
			if d.Fails(threshold) {
				return findings{msg: "the inventory gained findings"}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&format, "format", "table", "table or json")
	cmd.Flags().StringVar(&failOn, "fail-on", "medium", "fail (exit 1) when a new finding is this severe or more: info, low, medium, high, critical, or none")
	return cmd
}

// writeInventoryJSON writes indented JSON with encoding/json, not the
// JSON v2 writeJSON uses: file names need not be UTF-8, and encoding/json
// writes such a name with replacement characters where JSON v2 refuses
// the whole document. An asset's id is computed from the real name.
func writeInventoryJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// readInventory reads an inventory from a JSON file, or a snapshot when
// no such file exists.
func readInventory(ctx context.Context, g *globals, ref string) (*inventory.Inventory, error) {
	b, err := os.ReadFile(ref)
	if errors.Is(err, os.ErrNotExist) {
		return loadSnapshot(ctx, g, ref)
	}
	if err != nil {
		return nil, usageError{err}
	}
	var inv inventory.Inventory
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(&inv); err != nil {
		return nil, usagef("%s: not an inventory (write one with inventory scan --format json): %v", ref, err)
	}
	if inv.FormatVersion != inventory.FormatVersion {
		return nil, usagef("%s: inventory format version %d, this modelgate reads %d", ref, inv.FormatVersion, inventory.FormatVersion)
	}
	return &inv, nil
}
