// Package modelscan finds code execution and tampering in model files:
// pickles (and the PyTorch, NumPy and joblib files built on them),
// safetensors, and the archives they travel in. Formats are detected by
// content, not by name. Pickles are judged default-deny: every callable
// they import is allowed, graded dangerous, or reported as not allowed.
package modelscan

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"sync"

	"github.com/modelgate/modelgate/finding"
	"github.com/modelgate/modelgate/modelscan/pickle"
)

// GCPercent and MemoryLimit are the garbage collector's settings for a
// process that does nothing but scan (modelgate scan model): the walk's
// live memory is bounded by design, so collecting rarely saves a tenth
// of the time, and the soft limit keeps the heap near what is live when
// a pickle memoizes millions of values. Past the limit Go's collector
// spends at most half the CPU, so a larger pickle is slower, not killed.
const (
	GCPercent   = 400
	MemoryLimit = 64 << 20
)

// Scanner scans model files. The zero value is ready to use.
type Scanner struct {
	Policy Policy
	// MaxDepth bounds archives inside archives; default 3.
	MaxDepth int
	// MaxUnpacked bounds the bytes decompressed from one archive; default
	// 8 GiB. MaxRatio bounds a member's decompressed size over its
	// compressed size; default 200.
	MaxUnpacked int64
	MaxRatio    int64
	// Workers scan files in parallel; default the number of CPUs.
	Workers int
	// Digest computes each file's SHA-256 for the report. It reads every
	// byte, tensor data included, so it costs what the disk costs; the
	// scan itself reads only what it judges.
	Digest bool
}

func (s *Scanner) maxDepth() int {
	if s.MaxDepth > 0 {
		return s.MaxDepth
	}
	return 3
}

// ScanPaths scans files and directories (recursively) and reports every
// file, archive members included.
func (s *Scanner) ScanPaths(paths []string) (*finding.Report, error) {
	return s.ScanPathsContext(context.Background(), paths)
}

// ScanPathsContext is ScanPaths that stops when ctx is done: every read
// of every file checks it, so a scan deep in a large pickle stops within
// one buffer's worth of work. A stopped scan returns ctx's error and no
// report, as half a report would read as a clean one.
func (s *Scanner) ScanPathsContext(ctx context.Context, paths []string) (*finding.Report, error) {
	var files []string
	for _, p := range paths {
		info, err := os.Stat(p)
		if err != nil {
			return nil, err
		}
		if !info.IsDir() {
			files = append(files, p)
			continue
		}
		err = filepath.WalkDir(p, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.Type().IsRegular() {
				files = append(files, path)
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	sort.Strings(files)
	workers := s.Workers
	if workers <= 0 {
		workers = runtime.NumCPU()
	}
	results := make([][]finding.File, len(files))
	var wg sync.WaitGroup
	next := make(chan int)
	for range workers {
		wg.Go(func() {
			for i := range next {
				if ctx.Err() == nil {
					results[i] = s.scanFile(ctx, files[i])
				}
			}
		})
	}
	for i := range files {
		next <- i
	}
	close(next)
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("scan stopped: %w", err)
	}
	rep := &finding.Report{Files: []finding.File{}}
	for _, r := range results {
		rep.Files = append(rep.Files, r...)
	}
	rep.Summarise()
	return rep, nil
}

// ScanFile scans one file; an archive yields an entry per member scanned.
func (s *Scanner) ScanFile(path string) []finding.File {
	return s.scanFile(context.Background(), path)
}

func (s *Scanner) scanFile(ctx context.Context, path string) []finding.File {
	file, err := os.Open(path)
	if err != nil {
		return []finding.File{{Path: path, Format: FormatUnknown, Error: err.Error()}}
	}
	defer file.Close()
	info, err := file.Stat()
	if err != nil {
		return []finding.File{{Path: path, Format: FormatUnknown, Error: err.Error()}}
	}
	f := readerAtContext{ctx, file}
	// The digest reads every byte and the scan only what it judges: run
	// side by side, a scan with the digest costs what the slower of the
	// two costs, not their sum.
	type result struct {
		sum string
		err error
	}
	var digested chan result
	if s.Digest {
		digested = make(chan result, 1)
		go func() {
			sum, err := digest(f)
			digested <- result{sum, err}
		}()
	}
	out := s.scan(path, f, info.Size(), 0)
	if digested != nil {
		d := <-digested
		if d.err != nil {
			out[0].Error = d.err.Error()
		}
		out[0].SHA256 = d.sum
	}
	return out
}

// readerAtContext fails every read once its context is done, which is
// how a scan stops: the parsers already end on a read error.
type readerAtContext struct {
	ctx context.Context
	r   io.ReaderAt
}

func (r readerAtContext) ReadAt(p []byte, off int64) (int, error) {
	if err := r.ctx.Err(); err != nil {
		return 0, err
	}
	return r.r.ReadAt(p, off)
}

func digest(r io.ReaderAt) (string, error) {
	h := sha256.New()
	if _, err := io.Copy(h, io.NewSectionReader(r, 0, 1<<62)); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// scan dispatches on the detected format. The first entry describes r
// itself; archives append their members.
func (s *Scanner) scan(name string, r io.ReaderAt, size int64, depth int) []finding.File {
	head := make([]byte, 512)
	n, err := r.ReadAt(head, 0)
	if err != nil && err != io.EOF {
		return []finding.File{{Path: name, Format: FormatUnknown, Error: err.Error()}}
	}
	head = head[:n]
	format := Detect(name, head, size)
	file := finding.File{Path: name, Format: format, Findings: []finding.Finding{}}
	var members []finding.File
	switch format {
	case FormatPickle:
		file.Findings = s.scanPickle(r, size, "", false, depth)
	case FormatZip:
		members = s.scanZip(name, r, size, depth, &file)
	case FormatNumPy:
		file.Findings = s.scanNumPy(r, size, "", depth)
	case FormatSafetensors:
		file.Findings = checkSafetensors(io.NewSectionReader(r, 0, size), size)
	case FormatGGUF:
		file.Findings = scanGGUF(r, size)
	case FormatONNX:
		file.Findings = scanONNX(name, r, size)
	case FormatSavedModel:
		file.Findings = scanSavedModel(r, size)
	case FormatHDF5:
		cfg, ok, err := findH5Config(r, size)
		switch {
		case err != nil:
			file.Error = err.Error()
		case ok:
			file.Findings = s.checkKerasConfig(cfg, "model_config")
		}
	case FormatGzip, FormatZlib, FormatBzip2, FormatXZ, FormatLZMA, FormatJoblibZ:
		members = s.scanCompressed(name, format, r, size, depth, &file)
	case Format7z:
		members = s.scan7z(name, r, size, depth, &file)
	case FormatLZ4:
		file.Findings = append(file.Findings, notUnpacked(format))
	case FormatTar:
		members = s.scanTar(name, r, size, depth, &file)
	case FormatUnknown:
		return s.unknown(name, r, size, head, depth)
	}
	return append([]finding.File{file}, members...)
}

// unknown scans what no signature names. CPython's unpickler accepts any
// valid first opcode, not only PROTO: a stream it would read as a pickle
// is judged as one, whatever its first byte. Python's zipfile finds an
// archive by its end, so bytes before a zip do not hide it. Otherwise
// the file is text, or reported as not recognised: never silently clean.
func (s *Scanner) unknown(name string, r io.ReaderAt, size int64, head []byte, depth int) []finding.File {
	file := finding.File{Path: name, Format: FormatUnknown, Findings: []finding.Finding{}}
	if res, err := s.walk(r, size); isPickle(res, err) {
		file.Format = FormatPickle
		file.Findings = s.judgePickle(res, "", depth)
		return []finding.File{file}
	}
	if _, _, _, err := centralDir(r, size); err == nil {
		file.Format = FormatZip
		file.Findings = append(file.Findings, finding.Finding{RuleID: "MS206", Severity: finding.Medium,
			Title:    "zip archive preceded by other bytes: zipfile reads it, loaders that test the first bytes do not",
			Location: "archive", Evidence: "no local header at offset 0", References: refsTamper})
		return append([]finding.File{file}, s.scanZip(name, r, size, depth, &file)...)
	}
	if LooksText(head) {
		file.Format = FormatText
		if templateFile(name) {
			file.Findings = s.scanTemplateFile(name, r, size)
		}
		return []finding.File{file}
	}
	file.Findings = append(file.Findings, finding.Finding{RuleID: "MS007", Severity: finding.Info,
		Title: "format not recognised: the file was not checked", Location: "file",
		Evidence: fmt.Sprintf("first bytes %q", head[:min(len(head), 16)]), References: refsTamper,
		Remediation: "make sure no loader reads this file, or ask for a format the scanner reads"})
	return []finding.File{file}
}

// isPickle reports whether a walk found a pickle: one it read to its
// end, one that imported something before it broke (CPython runs what
// comes before an error), or one valid up to a limit of the walk's, past
// which CPython would have read on.
func isPickle(res *pickle.Result, err error) bool {
	return err == nil && (res.Pickles > 0 || len(res.Imports) > 0 || len(res.Incomplete) > 0)
}

func notUnpacked(format string) finding.Finding {
	return finding.Finding{RuleID: "MS205", Severity: finding.High, Title: "compressed data the scanner does not unpack, so it was not checked",
		Location: "file", Evidence: format, References: refsTamper,
		Remediation: "decompress it and scan what it holds"}
}
