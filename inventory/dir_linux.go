package inventory

import (
	"encoding/binary"
	"io/fs"
	"os"
	"syscall"
)

// openDir opens a directory and lists it with getdents64, keeping each
// entry's type. Done by hand for the same reason as rawFile: os.Open and
// (*os.File).Fd cost five more system calls per directory (the poller's
// registration, and switching the descriptor back to blocking mode),
// which on a tree of many small directories is a fifth of a walk. The
// caller closes fd.
func openDir(path string) (fd int, ents []dirEntry, err error) {
	for {
		fd, err = syscall.Open(path, syscall.O_RDONLY|syscall.O_DIRECTORY|syscall.O_CLOEXEC, 0)
		if err != syscall.EINTR {
			break
		}
	}
	if err != nil {
		return -1, nil, &os.PathError{Op: "open", Path: path, Err: err}
	}
	buf := make([]byte, 32<<10)
	for {
		n, err := syscall.Getdents(fd, buf)
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return fd, ents, &os.PathError{Op: "readdirent", Path: path, Err: err}
		}
		if n <= 0 {
			return fd, ents, nil
		}
		ents = parseDirents(path, buf[:n], ents)
	}
}

// parseDirents appends the entries of a getdents64 buffer: each record is
// inode (8 bytes), offset (8), record length (2), type (1), then the
// name, NUL-terminated.
func parseDirents(dir string, b []byte, ents []dirEntry) []dirEntry {
	for len(b) >= 19 {
		reclen := int(binary.NativeEndian.Uint16(b[16:]))
		if reclen < 19 || reclen > len(b) {
			break
		}
		typ, nameb := b[18], b[19:reclen]
		b = b[reclen:]
		n := 0
		for n < len(nameb) && nameb[n] != 0 {
			n++
		}
		name := string(nameb[:n])
		if name == "." || name == ".." || name == "" {
			continue
		}
		ents = append(ents, dirEntry{name: name, typ: direntType(dir, name, typ)})
	}
	return ents
}

func direntType(dir, name string, t uint8) fs.FileMode {
	switch t {
	case syscall.DT_REG:
		return 0
	case syscall.DT_DIR:
		return fs.ModeDir
	case syscall.DT_LNK:
		return fs.ModeSymlink
	case syscall.DT_UNKNOWN:
		// Some file systems do not say: ask.
		var st syscall.Stat_t
		if err := syscall.Lstat(dir+"/"+name, &st); err == nil {
			switch st.Mode & syscall.S_IFMT {
			case syscall.S_IFREG:
				return 0
			case syscall.S_IFDIR:
				return fs.ModeDir
			case syscall.S_IFLNK:
				return fs.ModeSymlink
			}
		}
	}
	return fs.ModeIrregular
}

func closeDir(fd int) { syscall.Close(fd) }
