// Package signing signs and verifies models in the OpenSSF model signing
// format (OMS v1.0): a manifest of every file's digest in an in-toto
// Statement, signed in a DSSE envelope, carried in a Sigstore bundle
// (model.sig). It implements the key and certificate methods with ECDSA
// P-256, P-384 and P-521 keys, and interoperates with the reference
// implementations (sigstore/model-transparency in Python and its Go port).
package signing

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// Serialization says how a model was hashed.
type Serialization struct {
	Method        string   `json:"method"`    // "files" or "shards"
	HashType      string   `json:"hash_type"` // "sha256"
	AllowSymlinks bool     `json:"allow_symlinks"`
	ShardSize     int64    `json:"shard_size,omitempty"`
	IgnorePaths   []string `json:"ignore_paths,omitempty"`
}

// Resource is one file (or shard) of a manifest.
type Resource struct {
	Name      string `json:"name"`
	Algorithm string `json:"algorithm"`
	Digest    string `json:"digest"`
}

// Manifest is the digest of every file of a model.
type Manifest struct {
	Name          string // the model directory's (or file's) base name
	Resources     []Resource
	Serialization Serialization
}

// DefaultIgnore are the paths (relative to the model root) that are never
// part of a model, as the reference implementations have it.
var DefaultIgnore = []string{".git", ".gitignore", ".gitattributes", ".github"}

// DefaultShardSize is the reference implementations' shard size.
const DefaultShardSize = 1_000_000_000

// Root returns the subject digest: SHA-256 over the concatenated raw
// digests of the resources, in their order.
func (m *Manifest) Root() (string, error) {
	return rootOf(m.Resources)
}

func rootOf(rs []Resource) (string, error) {
	h := sha256.New()
	for _, r := range rs {
		raw, err := hex.DecodeString(r.Digest)
		if err != nil {
			return "", fmt.Errorf("resource %q: digest is not hex", r.Name)
		}
		h.Write(raw)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// BuildManifest hashes a model (a directory or a single file) with the
// given serialization: every regular file but the ignored ones, in
// parallel, in shards when the method is "shards". Resources are sorted in
// byte order of their names.
func BuildManifest(root string, ser Serialization) (*Manifest, error) {
	if ser.HashType == "" {
		ser.HashType = "sha256"
	}
	if ser.HashType != "sha256" {
		return nil, fmt.Errorf("hash type %q is not supported (sha256 is)", ser.HashType)
	}
	if ser.Method == "" {
		ser.Method = "files"
	}
	if ser.Method == "shards" && ser.ShardSize <= 0 {
		ser.ShardSize = DefaultShardSize
	}
	if ser.Method != "files" && ser.Method != "shards" {
		return nil, fmt.Errorf("serialization method %q is not supported (files or shards)", ser.Method)
	}
	info, err := os.Stat(root)
	if err != nil {
		return nil, err
	}
	m := &Manifest{Name: filepath.Base(filepath.Clean(root)), Serialization: ser}
	type job struct {
		path, name string
		start, end int64
		sharded    bool
	}
	var jobs []job
	addFile := func(path, name string, size int64) {
		if ser.Method == "shards" {
			for start := int64(0); start < size; start += ser.ShardSize {
				jobs = append(jobs, job{path, name, start, min(start+ser.ShardSize, size), true})
			}
			return
		}
		jobs = append(jobs, job{path, name, 0, size, false})
	}
	if !info.IsDir() {
		addFile(root, filepath.Base(root), info.Size())
	} else {
		err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			rel, _ := filepath.Rel(root, path)
			rel = filepath.ToSlash(rel)
			if rel == "." {
				return nil
			}
			if ignored(rel, ser.IgnorePaths) {
				if d.IsDir() {
					return filepath.SkipDir
				}
				return nil
			}
			if d.Type()&fs.ModeSymlink != 0 {
				if !ser.AllowSymlinks {
					return fmt.Errorf("%s is a symbolic link; models with links are not signed unless links are allowed", rel)
				}
				fi, err := os.Stat(path)
				if err != nil {
					return err
				}
				if !fi.Mode().IsRegular() {
					return nil
				}
				addFile(path, rel, fi.Size())
				return nil
			}
			if !d.Type().IsRegular() {
				return nil
			}
			fi, err := d.Info()
			if err != nil {
				return err
			}
			addFile(path, rel, fi.Size())
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	m.Resources = make([]Resource, len(jobs))
	var wg sync.WaitGroup
	errs := make([]error, len(jobs))
	next := make(chan int)
	for range runtime.NumCPU() {
		wg.Go(func() {
			buf := make([]byte, 4<<20)
			for i := range next {
				j := jobs[i]
				d, err := hashRange(j.path, j.start, j.end, buf)
				name := j.name
				if j.sharded {
					name = name + ":" + strconv.FormatInt(j.start, 10) + ":" + strconv.FormatInt(j.end, 10)
				}
				m.Resources[i], errs[i] = Resource{Name: name, Algorithm: "sha256", Digest: d}, err
			}
		})
	}
	for i := range jobs {
		next <- i
	}
	close(next)
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	slices.SortFunc(m.Resources, func(a, b Resource) int { return strings.Compare(a.Name, b.Name) })
	return m, nil
}

// ignored reports whether a model-relative path is, or is inside, one of
// the ignored paths.
func ignored(rel string, paths []string) bool {
	for _, p := range paths {
		p = strings.TrimSuffix(filepath.ToSlash(p), "/")
		if rel == p || strings.HasPrefix(rel, p+"/") {
			return true
		}
	}
	return false
}

func hashRange(path string, start, end int64, buf []byte) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.CopyBuffer(h, io.NewSectionReader(f, start, end-start), buf); err != nil {
		return "", fmt.Errorf("%s: %w", path, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
