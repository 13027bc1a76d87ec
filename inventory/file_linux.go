package inventory

import (
	"io"
	"os"
	"path/filepath"
	"syscall"
)

// rawFile reads a file through its descriptor with pread. It exists for
// speed: os.Open costs a further system call per file (registering with
// the poller, which refuses regular files), and a walk opens every file
// it meets; openat relative to the directory being read also spares the
// kernel resolving the whole path again.
type rawFile struct{ fd int }

// openFile opens dir/name read-only, relative to dirfd when it is not -1,
// without updating its access time where the caller may do that.
func openFile(dirfd int, dir, name string) (*rawFile, error) {
	path := name
	if dirfd < 0 {
		dirfd, path = -100, filepath.Join(dir, name) // AT_FDCWD
	}
	for _, flags := range []int{syscall.O_NOATIME, 0} {
		fd, err := syscall.Openat(dirfd, path, syscall.O_RDONLY|syscall.O_CLOEXEC|syscall.O_NONBLOCK|flags, 0)
		if err == syscall.EINTR {
			continue
		}
		if err == syscall.EPERM && flags != 0 {
			continue // O_NOATIME is for the owner only
		}
		if err != nil {
			return nil, &os.PathError{Op: "open", Path: filepath.Join(dir, name), Err: err}
		}
		return &rawFile{fd: fd}, nil
	}
	return nil, &os.PathError{Op: "open", Path: filepath.Join(dir, name), Err: syscall.EINTR}
}

// ReadAt implements io.ReaderAt.
func (f *rawFile) ReadAt(p []byte, off int64) (int, error) {
	n := 0
	for n < len(p) {
		m, err := syscall.Pread(f.fd, p[n:], off+int64(n))
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return n, err
		}
		if m == 0 {
			return n, io.EOF
		}
		n += m
	}
	return n, nil
}

// readOnce reads once at off: n < len(p) at the end of the file.
func (f *rawFile) readOnce(p []byte, off int64) (int, error) {
	for {
		n, err := syscall.Pread(f.fd, p, off)
		if err == syscall.EINTR {
			continue
		}
		if err == nil && n < len(p) {
			err = io.EOF
		}
		return n, err
	}
}

// Size returns the file's size.
func (f *rawFile) Size() (int64, error) {
	var st syscall.Stat_t
	if err := syscall.Fstat(f.fd, &st); err != nil {
		return 0, err
	}
	return st.Size, nil
}

func (f *rawFile) Close() error { return syscall.Close(f.fd) }
