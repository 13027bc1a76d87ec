//go:build !linux

package fsync

import "os"

// Data is fsync where fdatasync is not available.
func Data(f *os.File) error { return f.Sync() }
