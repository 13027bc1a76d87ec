package secrets

import (
	"context"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// skipDirs are not walked: version control, other people's packages.
var skipDirs = map[string]bool{".git": true, ".hg": true, ".svn": true, "node_modules": true, "__pycache__": true}

// ScanFiles finds the leaks in the files under the roots (directories or
// files). Files larger than 32 MiB are read up to that. A file or
// directory that cannot be read is an error: a scan that skipped one
// would report it clean.
func ScanFiles(ctx context.Context, roots []string) ([]Leak, error) {
	d, err := detector()
	if err != nil {
		return nil, err
	}
	var paths []string
	for _, root := range roots {
		err := filepath.WalkDir(root, func(p string, e fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if e.IsDir() {
				if p != root && skipDirs[e.Name()] {
					return filepath.SkipDir
				}
				return nil
			}
			if e.Type().IsRegular() {
				paths = append(paths, p)
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	leaks, err := parallel(ctx, paths, func(p string) ([]Leak, error) {
		f, err := os.Open(p)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		b, err := io.ReadAll(io.LimitReader(f, maxFile))
		if err != nil {
			return nil, err
		}
		return scanContent(d, filepath.ToSlash(p), b), nil
	})
	if err != nil {
		return nil, err
	}
	sortLeaks(leaks)
	return leaks, nil
}
