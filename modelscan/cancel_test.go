package modelscan

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// cancelAfter cancels its context once n bytes have been read, and counts
// what is read after that.
type cancelAfter struct {
	r      *bytes.Reader
	n      int64
	read   int64
	cancel context.CancelFunc
}

func (c *cancelAfter) ReadAt(p []byte, off int64) (int, error) {
	k, err := c.r.ReadAt(p, off)
	c.read += int64(k)
	if c.read >= c.n {
		c.cancel()
	}
	return k, err
}

// TestScanStopsWhenCancelled: a scan deep in a large pickle stops within
// a read of its context being cancelled, not at the end of the file.
func TestScanStopsWhenCancelled(t *testing.T) {
	var b bytes.Buffer
	b.WriteString("\x80\x02(")
	for i := range 2_000_000 { // 16 MB of memoized short strings
		b.WriteString("X\x03\x00\x00\x00abc")
		b.WriteByte('r')
		b.Write([]byte{byte(i), byte(i >> 8), byte(i >> 16), byte(i >> 24)})
	}
	b.WriteString("l.")
	ctx, cancel := context.WithCancel(context.Background())
	src := &cancelAfter{r: bytes.NewReader(b.Bytes()), n: 1 << 20, cancel: cancel}
	var s Scanner
	s.scan("big.pkl", readerAtContext{ctx, src}, int64(b.Len()), 0)
	if src.read > 2<<20 {
		t.Errorf("read %d bytes of %d; cancelled after 1 MiB", src.read, b.Len())
	}

	// ScanPathsContext returns the context's error and no report.
	path := filepath.Join(t.TempDir(), "big.pkl")
	os.WriteFile(path, b.Bytes(), 0o644)
	done, stop := context.WithCancel(context.Background())
	stop()
	rep, err := s.ScanPathsContext(done, []string{path})
	if !errors.Is(err, context.Canceled) || rep != nil {
		t.Errorf("cancelled scan: %v, %v", rep, err)
	}
}
