package inventory

import (
	"os"
	"path/filepath"
	"strings"
)

// The Hugging Face hub cache keeps each repository in a directory named
// for it (models--org--name, datasets--org--name), with the files of each
// revision under snapshots/<revision>/ as links to blobs/<digest>.

func isHFCacheRepo(name string) bool {
	return strings.HasPrefix(name, "models--") || strings.HasPrefix(name, "datasets--") || strings.HasPrefix(name, "spaces--")
}

// hfCoordinates returns the repository id, revision and file name within
// the repository of a path inside a hub cache snapshot.
func hfCoordinates(path string) (repo, revision, file string, ok bool) {
	parts := strings.Split(filepath.ToSlash(path), "/")
	for i := len(parts) - 4; i >= 0; i-- {
		if !isHFCacheRepo(parts[i]) || parts[i+1] != "snapshots" {
			continue
		}
		_, id, _ := strings.Cut(parts[i], "--")
		repo = strings.Replace(id, "--", "/", 1)
		return repo, parts[i+2], strings.Join(parts[i+3:], "/"), repo != ""
	}
	return "", "", "", false
}

// hfBlobDigest returns the SHA-256 a hub cache file is stored under: a
// snapshot's file links to blobs/<sha256> for files kept in Git LFS, so
// the digest is known without reading the file.
func hfBlobDigest(path string) string {
	if _, _, _, ok := hfCoordinates(path); !ok {
		return ""
	}
	target, err := os.Readlink(path)
	if err != nil {
		return ""
	}
	base := filepath.Base(target)
	if len(base) != 64 || strings.Trim(base, "0123456789abcdef") != "" {
		return "" // a file in Git proper is stored under its SHA-1
	}
	return "sha256:" + base
}
