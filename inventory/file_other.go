//go:build !linux

package inventory

import (
	"os"
	"path/filepath"
)

// rawFile is an os.File where openat and pread are not used.
type rawFile struct{ *os.File }

func openFile(_ int, dir, name string) (*rawFile, error) {
	f, err := os.Open(filepath.Join(dir, name))
	if err != nil {
		return nil, err
	}
	return &rawFile{f}, nil
}

// readOnce reads p at off.
func (f *rawFile) readOnce(p []byte, off int64) (int, error) { return f.ReadAt(p, off) }

// Size returns the file's size.
func (f *rawFile) Size() (int64, error) {
	fi, err := f.Stat()
	if err != nil {
		return 0, err
	}
	return fi.Size(), nil
}
