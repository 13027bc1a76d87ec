package forward

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"
)

// File appends records, one per line, to a file, rotating it when it
// would grow past MaxBytes: path becomes path.1, path.1 becomes path.2, up
// to MaxFiles old files. Each batch is synced to disk before Send returns,
// so the forwarder's position never runs ahead of what the file holds.
type File struct {
	Path     string
	MaxBytes int64 // 0: never rotate
	MaxFiles int   // old files kept; default 5

	mu   sync.Mutex
	f    *os.File
	size int64
}

// Send appends the batch.
func (w *File) Send(_ context.Context, records [][]byte) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	var buf []byte
	for _, r := range records {
		buf = append(append(buf, r...), '\n')
	}
	if w.f == nil {
		if err := w.open(); err != nil {
			return err
		}
	}
	if w.MaxBytes > 0 && w.size > 0 && w.size+int64(len(buf)) > w.MaxBytes {
		if err := w.rotate(); err != nil {
			return err
		}
	}
	n, err := w.f.Write(buf)
	w.size += int64(n)
	if err == nil {
		err = w.f.Sync()
	}
	if err != nil {
		// Whatever part of the batch reached the file is sent again: the
		// file may hold a record twice, never miss one.
		return fmt.Errorf("audit file %s: %w", w.Path, err)
	}
	return nil
}

func (w *File) open() error {
	if err := os.MkdirAll(filepath.Dir(w.Path), 0o700); err != nil {
		return err
	}
	f, err := os.OpenFile(w.Path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return err
	}
	w.f, w.size = f, fi.Size()
	return nil
}

func (w *File) rotate() error {
	w.f.Close()
	w.f = nil
	keep := w.MaxFiles
	if keep <= 0 {
		keep = 5
	}
	os.Remove(w.Path + "." + strconv.Itoa(keep))
	for i := keep - 1; i >= 1; i-- {
		os.Rename(w.Path+"."+strconv.Itoa(i), w.Path+"."+strconv.Itoa(i+1))
	}
	if err := os.Rename(w.Path, w.Path+".1"); err != nil {
		return fmt.Errorf("rotate %s: %w", w.Path, err)
	}
	return w.open()
}

// Close closes the file.
func (w *File) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.f != nil {
		err := w.f.Close()
		w.f = nil
		return err
	}
	return nil
}
