package vulndb

import (
	"archive/zip"
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	jsonv2 "github.com/go-json-experiment/json"
)

// The index file: the packages' advisories, each package's a gzipped JSON
// array, one after another; then a JSON table of contents; then a footer
// of the table's offset and a magic. A scan reads the footer and the
// table, and then only the packages it looks up.
const (
	footerMagic = "MGVDB001"
	footerSize  = 16
	// FileName is the index's name in a data directory's vulndb/.
	FileName = "osv-pypi.mgvdb"
	// maxRecord bounds one OSV record in an export.
	maxRecord = 16 << 20
	// maxTable bounds the table of contents read from an index.
	maxTable = 256 << 20
)

// Meta describes an index.
type Meta struct {
	Ecosystem  string    `json:"ecosystem"`
	ImportedAt time.Time `json:"imported_at"`
	// Newest is the newest advisory's modification time: how current
	// the data is, whatever the import date.
	Newest     time.Time `json:"newest_modified"`
	Sources    []Source  `json:"sources"`
	Advisories int       `json:"advisories"`
	Packages   int       `json:"packages"`
	Withdrawn  int       `json:"withdrawn_skipped"`
}

// Source is an imported export file.
type Source struct {
	File    string `json:"file"`
	Records int    `json:"records"`
}

type toc struct {
	Meta     Meta                `json:"meta"`
	Packages map[string][2]int64 `json:"packages"` // offset, length
}

// Import reads OSV exports (zip files of JSON records) and writes the
// index to path, replacing it atomically. Where several exports hold the
// same advisory, the most recently modified wins. A record that is not
// valid OSV is an error naming the file and the member: an index built
// from part of an export would under-report.
func Import(path string, exports []string, now time.Time) (*Meta, error) {
	byPkg := map[string]map[string]Advisory{}
	meta := Meta{Ecosystem: "PyPI", ImportedAt: now.UTC()}
	for _, exp := range exports {
		src, err := importZip(exp, byPkg, &meta)
		if err != nil {
			return nil, err
		}
		meta.Sources = append(meta.Sources, src)
	}
	ids := map[string]bool{}
	names := make([]string, 0, len(byPkg))
	for name, advs := range byPkg {
		names = append(names, name)
		for id, a := range advs {
			ids[id] = true
			if a.Modified.After(meta.Newest) {
				meta.Newest = a.Modified
			}
		}
	}
	slices.Sort(names)
	meta.Advisories, meta.Packages = len(ids), len(names)

	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".import-*")
	if err != nil {
		return nil, err
	}
	defer os.Remove(tmp.Name())
	defer tmp.Close()
	t := toc{Meta: meta, Packages: make(map[string][2]int64, len(names))}
	var off int64
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestSpeed)
	for _, name := range names {
		advs := make([]Advisory, 0, len(byPkg[name]))
		for _, a := range byPkg[name] {
			advs = append(advs, a)
		}
		slices.SortFunc(advs, func(a, b Advisory) int { return strings.Compare(a.ID, b.ID) })
		buf.Reset()
		zw.Reset(&buf)
		if err := json.NewEncoder(zw).Encode(advs); err != nil {
			return nil, err
		}
		if err := zw.Close(); err != nil {
			return nil, err
		}
		if _, err := tmp.Write(buf.Bytes()); err != nil {
			return nil, err
		}
		t.Packages[name] = [2]int64{off, int64(buf.Len())}
		off += int64(buf.Len())
	}
	tb, err := json.Marshal(t)
	if err != nil {
		return nil, err
	}
	footer := binary.LittleEndian.AppendUint64(nil, uint64(off))
	footer = append(footer, footerMagic...)
	if _, err := tmp.Write(append(tb, footer...)); err != nil {
		return nil, err
	}
	if err := tmp.Sync(); err != nil {
		return nil, err
	}
	if err := tmp.Close(); err != nil {
		return nil, err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return nil, err
	}
	return &meta, nil
}

func importZip(path string, byPkg map[string]map[string]Advisory, meta *Meta) (Source, error) {
	src := Source{File: filepath.Base(path)}
	zr, err := zip.OpenReader(path)
	if err != nil {
		return src, fmt.Errorf("%s: not an OSV export (a zip of JSON records): %w", path, err)
	}
	defer zr.Close()
	for _, f := range zr.File {
		if f.FileInfo().IsDir() || !strings.HasSuffix(f.Name, ".json") {
			continue
		}
		if f.UncompressedSize64 > maxRecord {
			return src, fmt.Errorf("%s: %s: record of %d bytes", path, f.Name, f.UncompressedSize64)
		}
		rc, err := f.Open()
		if err != nil {
			return src, fmt.Errorf("%s: %s: %w", path, f.Name, err)
		}
		b, err := io.ReadAll(io.LimitReader(rc, maxRecord+1))
		rc.Close()
		if err != nil {
			return src, fmt.Errorf("%s: %s: %w", path, f.Name, err)
		}
		advs, err := parseRecord(b)
		if err != nil {
			return src, fmt.Errorf("%s: %s: not an OSV record: %w", path, f.Name, err)
		}
		src.Records++
		if advs == nil {
			meta.Withdrawn++
		}
		for _, pa := range advs {
			m := byPkg[pa.pkg]
			if m == nil {
				m = map[string]Advisory{}
				byPkg[pa.pkg] = m
			}
			if old, ok := m[pa.adv.ID]; !ok || pa.adv.Modified.After(old.Modified) {
				m[pa.adv.ID] = pa.adv
			}
		}
	}
	if src.Records == 0 {
		return src, fmt.Errorf("%s: holds no OSV records", path)
	}
	return src, nil
}

// DB is an open index. Lookups are safe for concurrent use.
type DB struct {
	f    *os.File
	Meta Meta
	pkgs map[string][2]int64
	data int64 // where the table starts: the end of the packages
}

// ErrNoIndex is returned by Open when no index has been imported.
var ErrNoIndex = errors.New("no vulnerability database: import one with modelgate vulndb import")

// Open opens an index.
func Open(path string) (*DB, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, ErrNoIndex
	}
	if err != nil {
		return nil, err
	}
	db, err := open(f)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return db, nil
}

func open(f *os.File) (*DB, error) {
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	size := fi.Size()
	var footer [footerSize]byte
	if size < footerSize {
		return nil, errors.New("not a vulnerability index (too short)")
	}
	if _, err := f.ReadAt(footer[:], size-footerSize); err != nil {
		return nil, err
	}
	if string(footer[8:]) != footerMagic {
		return nil, errors.New("not a vulnerability index (no footer)")
	}
	at := int64(binary.LittleEndian.Uint64(footer[:8]))
	if at < 0 || at > size-footerSize || size-footerSize-at > maxTable {
		return nil, errors.New("damaged vulnerability index (table offset)")
	}
	tb := make([]byte, size-footerSize-at)
	if _, err := f.ReadAt(tb, at); err != nil {
		return nil, err
	}
	var t toc
	if err := jsonv2.Unmarshal(tb, &t); err != nil {
		return nil, fmt.Errorf("damaged vulnerability index: %w", err)
	}
	for name, p := range t.Packages {
		if p[0] < 0 || p[1] < 0 || p[0]+p[1] > at {
			return nil, fmt.Errorf("damaged vulnerability index: package %s out of bounds", name)
		}
	}
	return &DB{f: f, Meta: t.Meta, pkgs: t.Packages, data: at}, nil
}

// Close closes the index.
func (db *DB) Close() error { return db.f.Close() }

// Lookup returns a package's advisories (the name is normalised), none
// when it has none.
func (db *DB) Lookup(name string) ([]Advisory, error) {
	p, ok := db.pkgs[Normalize(name)]
	if !ok {
		return nil, nil
	}
	zr, err := gzip.NewReader(io.NewSectionReader(db.f, p[0], p[1]))
	if err != nil {
		return nil, fmt.Errorf("vulnerability index, package %s: %w", name, err)
	}
	var advs []Advisory
	// JSON v2 decodes these twice as fast as encoding/json: a scan's
	// time is mostly this.
	if err := jsonv2.UnmarshalRead(zr, &advs); err != nil {
		return nil, fmt.Errorf("vulnerability index, package %s: %w", name, err)
	}
	return advs, nil
}
