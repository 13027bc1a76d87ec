// Package fsync flushes files to disk.
package fsync

import (
	"os"
	"syscall"
)

// Data flushes a file's data, and its metadata only when needed to read
// the data back (its size, not its times): fdatasync. For a write into
// space the file already has, that skips the filesystem journal fsync
// would commit, and is several times cheaper.
func Data(f *os.File) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	if err := rc.Control(func(fd uintptr) {
		for {
			if serr = syscall.Fdatasync(int(fd)); serr != syscall.EINTR {
				return
			}
		}
	}); err != nil {
		return err
	}
	if serr != nil {
		return &os.PathError{Op: "fdatasync", Path: f.Name(), Err: serr}
	}
	return nil
}
