package inventory

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Scanner walks trees and classifies what it finds. The zero value scans
// with sensible defaults.
type Scanner struct {
	// Workers read directories and files in parallel; 0 means two per
	// CPU (the work is mostly waiting on system calls).
	Workers int
	// All descends into what is skipped by default: version-control
	// metadata, node_modules, virtualenvs and caches of tools.
	All bool
	// GitIgnore skips what .gitignore files in the tree ignore.
	GitIgnore bool
	// Hash computes the SHA-256 of every model and dataset file (reading
	// all of it); without it, a file's digest is known only where its
	// name is its digest (Hugging Face blobs).
	Hash bool
	// SampleRows bounds the rows of a dataset classified; 0 means 1,000.
	SampleRows int64
	// Progress, when set, is kept current as the walk goes.
	Progress *Progress
	// Now stamps the inventory; nil means time.Now.
	Now func() time.Time
}

// Progress counts a walk as it goes; safe to read from another goroutine.
type Progress struct {
	Files  atomic.Int64
	Assets atomic.Int64
	Bytes  atomic.Int64
}

// skippedDirs are not descended into unless Scanner.All: they hold other
// people's code and tools' state, not the estate's assets. A virtualenv
// is recognised by its pyvenv.cfg whatever its name.
var skippedDirs = map[string]bool{
	".git": true, ".hg": true, ".svn": true, "node_modules": true, "__pycache__": true,
	".tox": true, ".nox": true, ".mypy_cache": true, ".pytest_cache": true, ".ruff_cache": true,
	".ipynb_checkpoints": true, ".gradle": true, ".terraform": true,
}

// A walk is one Scan in progress.
type walk struct {
	s       *Scanner
	ctx     context.Context
	mu      sync.Mutex
	cond    *sync.Cond
	queue   []dirJob
	pending int // directories queued or being read
	stats   Stats
	assets  []Asset
	errs    []PathError
}

type dirJob struct {
	path    string
	ignores []*ignoreFile
}

// Scan walks the roots (directories or files) and returns what it found.
// A root that does not exist is an error; a file or directory inside
// that cannot be read is recorded in the inventory's errors.
func (s *Scanner) Scan(ctx context.Context, roots []string) (*Inventory, error) {
	now := time.Now
	if s.Now != nil {
		now = s.Now
	}
	began := time.Now()
	w := &walk{s: s, ctx: ctx}
	w.cond = sync.NewCond(&w.mu)
	var files []string
	abs := make([]string, len(roots))
	for i, r := range roots {
		// Paths are absolute, so that an asset's id does not depend on
		// where the scan ran from, and match the registry's.
		r, err := filepath.Abs(r)
		if err != nil {
			return nil, fmt.Errorf("inventory: %w", err)
		}
		abs[i] = r
		fi, err := os.Stat(r)
		if err != nil {
			return nil, fmt.Errorf("inventory: %w", err)
		}
		if fi.IsDir() {
			w.queue = append(w.queue, dirJob{path: filepath.Clean(r)})
			w.pending++
		} else {
			files = append(files, filepath.Clean(r))
		}
	}
	workers := s.Workers
	if workers <= 0 {
		workers = 2 * runtime.GOMAXPROCS(0)
	}
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w.work()
		}()
	}
	if len(files) > 0 {
		sn := newSniffer(w)
		for _, f := range files {
			sn.file(filepath.Dir(f), -1, filepath.Base(f))
		}
		w.collect(sn)
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	inv := &Inventory{FormatVersion: FormatVersion, TakenAt: now().UTC(), Roots: abs, Assets: w.assets, Stats: w.stats}
	inv.finish()
	inv.Stats.Errors = w.errs
	slices.SortFunc(inv.Stats.Errors, func(a, b PathError) int { return strings.Compare(a.Path, b.Path) })
	inv.Stats.Duration = Millis(time.Since(began).Milliseconds())
	return inv, nil
}

// finish links assets to each other (a model card's licence to the models
// beside it), orders them, and counts them.
func (inv *Inventory) finish() {
	linkCards(inv.Assets)
	slices.SortFunc(inv.Assets, func(a, b Asset) int {
		return cmp.Or(strings.Compare(a.Path, b.Path), cmp.Compare(a.Line, b.Line),
			strings.Compare(string(a.Kind), string(b.Kind)), strings.Compare(a.Name, b.Name))
	})
	// Overlapping roots (a directory and one inside it) find the same
	// assets twice.
	inv.Assets = slices.CompactFunc(inv.Assets, func(a, b Asset) bool { return a.ID == b.ID })
	inv.Stats.Assets = map[string]int{}
	for _, a := range inv.Assets {
		inv.Stats.Assets[string(a.Kind)]++
	}
}

// work takes directories off the queue until none is left anywhere.
func (w *walk) work() {
	sn := newSniffer(w)
	defer w.collect(sn)
	for {
		w.mu.Lock()
		for len(w.queue) == 0 && w.pending > 0 {
			w.cond.Wait()
		}
		if w.pending == 0 {
			w.mu.Unlock()
			w.cond.Broadcast()
			return
		}
		job := w.queue[len(w.queue)-1]
		w.queue = w.queue[:len(w.queue)-1]
		w.mu.Unlock()

		var sub []dirJob
		if w.ctx.Err() == nil {
			sub = w.readDir(sn, job)
		}
		w.mu.Lock()
		w.queue = append(w.queue, sub...)
		w.pending += len(sub) - 1
		w.mu.Unlock()
		w.cond.Broadcast()
	}
}

func (w *walk) collect(sn *sniffer) {
	w.mu.Lock()
	w.assets = append(w.assets, sn.assets...)
	w.errs = append(w.errs, sn.errs...)
	w.stats.Files += sn.files
	w.stats.Dirs += sn.dirs
	w.stats.SkippedDirs += sn.skipped
	w.stats.BytesRead += sn.bytes
	sn.assets, sn.errs = nil, nil
	w.mu.Unlock()
}

// readDir classifies a directory's files and returns its subdirectories
// to walk.
func (w *walk) readDir(sn *sniffer, job dirJob) []dirJob {
	dirfd, ents, err := openDir(job.path)
	if dirfd >= 0 {
		defer closeDir(dirfd)
	}
	if err != nil {
		sn.fail(job.path, err)
		if dirfd < 0 {
			return nil
		}
	}
	sn.dirs++
	ignores := job.ignores
	if w.s.GitIgnore {
		for _, e := range ents {
			if e.name == ".gitignore" && e.typ.IsRegular() {
				if ig, err := readIgnoreFile(job.path); err != nil {
					sn.fail(filepath.Join(job.path, ".gitignore"), err)
				} else {
					ignores = append(slices.Clip(ignores), ig)
				}
			}
		}
	}
	if !w.s.All && isVirtualenv(ents) {
		sn.skipped++
		return nil
	}
	hfCacheRepo := isHFCacheRepo(filepath.Base(job.path))
	var sub []dirJob
	for _, e := range ents {
		name := e.name
		full := filepath.Join(job.path, name)
		typ := e.typ
		if typ&fs.ModeSymlink != 0 || typ&fs.ModeType == fs.ModeIrregular {
			// Follow links to files (a Hugging Face snapshot is made of
			// them), never to directories: a link cannot make a loop.
			fi, err := os.Stat(full)
			if err != nil {
				if !errors.Is(err, fs.ErrNotExist) {
					sn.fail(full, err)
				}
				continue
			}
			if !fi.Mode().IsRegular() {
				continue
			}
			typ = 0
		}
		switch {
		case typ.IsDir():
			if ignored(ignores, full, true) {
				sn.skipped++
				continue
			}
			// A cache's blobs are read through its snapshots' links.
			if hfCacheRepo && name == "blobs" || !w.s.All && skippedDirs[name] {
				sn.skipped++
				continue
			}
			sub = append(sub, dirJob{path: full, ignores: ignores})
		case typ.IsRegular():
			if ignored(ignores, full, false) {
				continue
			}
			sn.file(job.path, dirfd, name)
		}
	}
	return sub
}

// dirEntry is a name in a directory and its type (fs.ModeDir,
// fs.ModeSymlink, 0 for a regular file, fs.ModeIrregular otherwise).
type dirEntry struct {
	name string
	typ  fs.FileMode
}

// isVirtualenv reports whether a directory is a Python virtualenv (its
// pyvenv.cfg says so) or a conda environment (conda-meta).
func isVirtualenv(ents []dirEntry) bool {
	for _, e := range ents {
		if n := e.name; n == "pyvenv.cfg" || n == "conda-meta" && e.typ.IsDir() {
			return true
		}
	}
	return false
}
