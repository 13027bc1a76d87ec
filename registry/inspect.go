package registry

import (
	"crypto/ecdsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/modelgate/modelgate/modelscan"
	"github.com/modelgate/modelgate/signing"
)

// SignaturePath is where a model's signature is: model.sig inside a model
// directory, FILE.sig beside a single-file model (where modelgate sign
// writes it).
func SignaturePath(path string) string {
	if info, err := os.Stat(path); err == nil && !info.IsDir() {
		return path + ".sig"
	}
	return filepath.Join(path, signing.DefaultSignatureName)
}

// ignorePaths are left out of a model's manifest: what OMS leaves out,
// and the signature.
func ignorePaths() []string {
	return append(slices.Clone(signing.DefaultIgnore), signing.DefaultSignatureName)
}

// BuildManifest hashes every file of a model in parallel, the way the
// model's signature did when it has one (so that one read of the files
// serves both the registry and the signature check), else in 1 GB shards
// as OMS does, and records each file's format as the scanner detects it
// from formats (path → format; may be nil).
func BuildManifest(path string, formats map[string]string) (Manifest, error) {
	return buildManifest(path, formats, hashingFor(path))
}

// minShardSize bounds the shard size a signature may ask for: the
// signature is untrusted until verified, and a shard size of a few bytes
// would turn hashing into millions of tiny jobs.
const minShardSize = 1 << 20

// hashingFor chooses how to hash a model: as its signature says, within
// bounds, else in shards of signing.DefaultShardSize.
func hashingFor(path string) signing.Serialization {
	ser := signing.Serialization{Method: "shards", ShardSize: signing.DefaultShardSize}
	got, err := signing.ReadSerialization(SignaturePath(path))
	switch {
	case err != nil:
	case got.Method == "files":
		ser = signing.Serialization{Method: "files"}
	case got.Method == "shards" && got.ShardSize >= minShardSize:
		ser.ShardSize = got.ShardSize
	}
	return ser
}

// serialization is how a stored manifest was hashed.
func (m Manifest) serialization() signing.Serialization {
	if m.Method == "files" {
		return signing.Serialization{Method: "files"}
	}
	size := m.ShardSize
	if size <= 0 {
		size = signing.DefaultShardSize
	}
	return signing.Serialization{Method: "shards", ShardSize: size}
}

func buildManifest(path string, formats map[string]string, ser signing.Serialization) (Manifest, error) {
	ser.IgnorePaths = ignorePaths()
	m, err := signing.BuildManifest(path, ser)
	if err != nil {
		return Manifest{}, err
	}
	root, err := m.Root()
	if err != nil {
		return Manifest{}, err
	}
	sharded := m.Serialization.Method == "shards"
	out := Manifest{Digest: root, Method: m.Serialization.Method}
	if sharded {
		out.ShardSize = m.Serialization.ShardSize
	}
	byName := map[string]int{}
	for _, r := range m.Resources {
		name := r.Name
		// Shard names are path:start:end; a path may itself hold colons.
		if i := strings.LastIndexByte(name, ':'); sharded && i > 0 {
			if j := strings.LastIndexByte(name[:i], ':'); j > 0 {
				name = name[:j]
			}
		}
		i, ok := byName[name]
		if !ok {
			i = len(out.Files)
			byName[name] = i
			out.Files = append(out.Files, File{Name: name})
		}
		out.Files[i].Shards = append(out.Files[i].Shards, r.Digest)
	}
	info, err := os.Stat(path)
	if err != nil {
		return Manifest{}, err
	}
	// Shards cover bytes, so an empty file has none; list empty files too,
	// so that adding or removing one is seen.
	if sharded {
		empty, err := emptyFiles(path, info)
		if err != nil {
			return Manifest{}, err
		}
		for _, name := range empty {
			out.Files = append(out.Files, File{Name: name, Shards: []string{emptySHA256}})
		}
	}
	slices.SortFunc(out.Files, func(a, b File) int { return strings.Compare(a.Name, b.Name) })
	for i := range out.Files {
		f := &out.Files[i]
		full := path
		if info.IsDir() {
			full = filepath.Join(path, filepath.FromSlash(f.Name))
		}
		fi, err := os.Stat(full)
		if err != nil {
			return Manifest{}, err
		}
		f.Size = fi.Size()
		if len(f.Shards) == 1 {
			f.SHA256, f.Shards = f.Shards[0], nil
		}
		f.Format = formats[full]
		if f.Format == "" {
			f.Format = modelscan.FormatUnknown
		}
	}
	return out, nil
}

// walkModel calls fn for every regular file of a model directory, by its
// manifest name and its path, leaving out what manifests leave out.
func walkModel(root string, fn func(rel, full string, d fs.DirEntry)) error {
	ignore := ignorePaths()
	return filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		rel = filepath.ToSlash(rel)
		if rel != "." && slices.Contains(ignore, rel) {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if d.Type().IsRegular() {
			fn(rel, p, d)
		}
		return nil
	})
}

// emptySHA256 is the SHA-256 of no bytes.
const emptySHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

// emptyFiles lists a model's empty regular files, by the names manifests
// use, leaving out what manifests leave out.
func emptyFiles(path string, info fs.FileInfo) ([]string, error) {
	if !info.IsDir() {
		if info.Size() == 0 {
			return []string{filepath.Base(path)}, nil
		}
		return nil, nil
	}
	var out []string
	err := walkModel(path, func(rel, _ string, d fs.DirEntry) {
		if fi, err := d.Info(); err == nil && fi.Size() == 0 {
			out = append(out, rel)
		}
	})
	return out, err
}

// Resources returns the manifest's resources for a serialization, as
// signing.BuildManifest would compute them, when the manifest holds them:
// the same hash, the same paths left out, and files (each file's digest)
// or shards of the manifest's size. Verification uses it to avoid reading
// the model a second time.
func (m Manifest) Resources(ser signing.Serialization) ([]signing.Resource, bool) {
	if ser.HashType != "sha256" || !sameSet(ser.IgnorePaths, ignorePaths()) {
		return nil, false
	}
	var out []signing.Resource
	switch {
	case ser.Method == "files":
		for _, f := range m.Files {
			if f.SHA256 == "" {
				return nil, false // hashed in shards: no whole-file digest
			}
			out = append(out, signing.Resource{Name: f.Name, Algorithm: "sha256", Digest: f.SHA256})
		}
	case ser.Method == "shards" && m.Method != "files" && ser.ShardSize == m.ShardSize && m.ShardSize > 0:
		for _, f := range m.Files {
			digests := f.Shards
			if f.SHA256 != "" {
				digests = []string{f.SHA256}
			}
			if f.Size == 0 {
				continue // no bytes, no shard
			}
			for i, d := range digests {
				start, end := int64(i)*m.ShardSize, min(int64(i+1)*m.ShardSize, f.Size)
				out = append(out, signing.Resource{Name: fmt.Sprintf("%s:%d:%d", f.Name, start, end), Algorithm: "sha256", Digest: d})
			}
		}
	default:
		return nil, false
	}
	slices.SortFunc(out, func(a, b signing.Resource) int { return strings.Compare(a.Name, b.Name) })
	return out, true
}

func sameSet(a, b []string) bool {
	norm := func(s []string) []string {
		out := make([]string, 0, len(s))
		for _, p := range s {
			out = append(out, strings.TrimSuffix(filepath.ToSlash(p), "/"))
		}
		slices.Sort(out)
		return slices.Compact(out)
	}
	return slices.Equal(norm(a), norm(b))
}

// Scan runs the model scanner over a model, leaving out its signature,
// and returns the summary and each file's detected format by path.
func Scan(s *modelscan.Scanner, path string) (ScanSummary, map[string]string, error) {
	var paths []string
	info, err := os.Stat(path)
	if err != nil {
		return ScanSummary{}, nil, err
	}
	if !info.IsDir() {
		paths = []string{path}
	} else {
		err = walkModel(path, func(_, full string, _ fs.DirEntry) { paths = append(paths, full) })
		if err != nil {
			return ScanSummary{}, nil, err
		}
	}
	if len(paths) == 0 {
		return ScanSummary{}, nil, fmt.Errorf("%s holds no files", path)
	}
	rep, err := s.ScanPaths(paths)
	if err != nil {
		return ScanSummary{}, nil, err
	}
	sum := ScanSummary{Scanned: true, BySeverity: rep.Summary.BySeverity, Errors: rep.Summary.Errors}
	formats := map[string]string{}
	for _, f := range rep.Files {
		if _, ok := formats[f.Path]; !ok {
			formats[f.Path] = f.Format
		}
		if len(f.Findings) > 0 || f.Error != "" {
			sum.Files = append(sum.Files, f)
		}
	}
	if sum.BySeverity == nil {
		sum.BySeverity = map[string]int{}
	}
	return sum, formats, nil
}

// Trust is who may sign models: public keys, and root certificates for
// the certificate method.
type Trust struct {
	Keys  []*ecdsa.PublicKey
	Roots *x509.CertPool
	Files []string // where they came from
}

// TrustDir is where a data directory keeps the keys and certificates
// that model signatures are verified against.
const TrustDir = "trust"

// LoadTrust reads every .pem, .pub, .crt and .cer file in dir: public
// keys and CA certificates. A missing directory is an empty trust (every
// signature will then fail to verify, which is the safe outcome).
func LoadTrust(dir string) (*Trust, error) {
	t := &Trust{}
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return t, nil
	}
	if err != nil {
		return nil, err
	}
	for _, e := range entries {
		ext := strings.ToLower(filepath.Ext(e.Name()))
		if e.IsDir() || !slices.Contains([]string{".pem", ".pub", ".crt", ".cer"}, ext) {
			continue
		}
		if err := t.Add(filepath.Join(dir, e.Name())); err != nil {
			return nil, err
		}
	}
	return t, nil
}

// Add trusts a PEM file: an ECDSA public key, or certificates (roots for
// the certificate method).
func (t *Trust) Add(path string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	blk, _ := pem.Decode(b)
	if blk == nil {
		return fmt.Errorf("%s: not a PEM file", path)
	}
	if blk.Type == "CERTIFICATE" {
		certs, err := signing.ReadCertificates(path)
		if err != nil {
			return err
		}
		if t.Roots == nil {
			t.Roots = x509.NewCertPool()
		}
		for _, c := range certs {
			t.Roots.AddCert(c)
		}
	} else {
		k, err := signing.LoadPublicKey(path)
		if err != nil {
			return err
		}
		t.Keys = append(t.Keys, k)
	}
	t.Files = append(t.Files, path)
	return nil
}

// Verify checks a model's signature against everything trusted. A model
// without a signature file is unsigned; one whose signature no trusted
// key or root verifies is signed but invalid, with the reason.
func (t *Trust) Verify(path string, now time.Time) Signature {
	return t.VerifyHashed(path, nil, now)
}

// VerifyHashed is Verify for a model whose manifest was just computed:
// when the signature's serialization matches it, the files are not read
// again.
func (t *Trust) VerifyHashed(path string, m *Manifest, now time.Time) Signature {
	sig := Signature{Path: SignaturePath(path), CheckedAt: now}
	if _, err := os.Stat(sig.Path); err != nil {
		sig.Error = "no signature at " + sig.Path
		return sig
	}
	sig.Signed = true
	var opts []signing.VerifyOptions
	var hashed func(signing.Serialization) ([]signing.Resource, bool)
	if m != nil {
		hashed = m.Resources
	}
	for _, k := range t.Keys {
		opts = append(opts, signing.VerifyOptions{PublicKey: k, Signature: sig.Path, Hashed: hashed})
	}
	if t.Roots != nil {
		opts = append(opts, signing.VerifyOptions{Roots: t.Roots, Signature: sig.Path, Hashed: hashed})
	}
	if len(opts) == 0 {
		sig.Error = "no trusted keys or certificates: add one with modelgate models trust"
		return sig
	}
	var errs []string
	for _, o := range opts {
		v, err := signing.Verify(path, o)
		if err == nil {
			sig.Valid, sig.Digest, sig.Method, sig.Error = true, v.Root, v.Method, ""
			return sig
		}
		errs = append(errs, err.Error())
	}
	// Each key reports why it failed; the reasons are usually the same
	// (a file changed), so keep each once.
	slices.Sort(errs)
	sig.Error = strings.Join(slices.Compact(errs), "; ")
	return sig
}
