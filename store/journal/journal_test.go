package journal

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func recs(from, n int) [][]byte {
	var out [][]byte
	for i := from; i < from+n; i++ {
		out = append(out, []byte(fmt.Sprintf("record %d", i)))
	}
	return out
}

// readAll reads every record of journal id from the start.
func readAll(t *testing.T, r *Reader, id string) ([]string, Position) {
	t.Helper()
	var got []string
	pos, _, err := r.Read(id, Position{}, 1<<30, func(rec []byte) error {
		got = append(got, string(rec))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return got, pos
}

func TestAppendRead(t *testing.T) {
	root := t.TempDir()
	w, err := Create(root, Options{SegmentBytes: 100})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	for i := 0; i < 10; i++ {
		if err := w.Append(recs(3*i, 3)); err != nil {
			t.Fatal(err)
		}
	}
	r := NewReader(root)
	defer r.Close()
	got, end := readAll(t, r, w.ID())
	if len(got) != 30 || got[0] != "record 0" || got[29] != "record 29" {
		t.Fatalf("read %d records: %q", len(got), got)
	}
	if ns, _ := r.segments(w.ID()); len(ns) < 3 {
		t.Fatalf("100-byte segments: %d segments for 10 batches", len(ns))
	}
	// Reading again from the end gives nothing; from the start with a
	// limit stops at a batch boundary.
	if _, n, _ := r.Read(w.ID(), end, 100, func([]byte) error { return nil }); n != 0 {
		t.Fatalf("read %d past the end", n)
	}
	pos, n, err := r.Read(w.ID(), Position{}, 4, func([]byte) error { return nil })
	if err != nil || n != 3 {
		t.Fatalf("limit 4 gave %d (%v): batches are not split", n, err)
	}
	if _, n, _ = r.Read(w.ID(), pos, 1<<30, func([]byte) error { return nil }); n != 27 {
		t.Fatalf("resumed read gave %d, want 27", n)
	}
	if e, count, err := r.End(w.ID(), Position{}); err != nil || count != 30 || e != end {
		t.Fatalf("End = %v, %d, %v; want %v, 30", e, count, err, end)
	}
}

// A torn end is cut once its writer is gone, not while it lives.
func TestTornEnd(t *testing.T) {
	root := t.TempDir()
	w, _ := Create(root, Options{})
	w.Append(recs(0, 2))
	w.Append(recs(2, 2))
	seg := segmentPath(filepath.Join(root, w.ID()), 1)
	whole := dataEnd(t, seg)
	// Half of a third batch, as a write cut off by kill -9 leaves it.
	half := appendBatch(nil, recs(4, 2))
	half = half[:len(half)/2]
	f, _ := os.OpenFile(seg, os.O_WRONLY, 0)
	f.WriteAt(half, whole)
	f.Close()

	r := NewReader(root)
	defer r.Close()
	if _, n, err := r.End(w.ID(), Position{}); err != nil || n != 4 {
		t.Fatalf("End counts %d records (%v), want the 4 whole ones", n, err)
	}
	var cut int64
	r.Cut = func(_ string, n int64) { cut = n }
	got, _ := readAll(t, r, w.ID())
	if len(got) != 4 || cut != 0 {
		t.Fatalf("live writer: read %d, cut %d; want 4 and nothing cut", len(got), cut)
	}
	w.Close() // the writer is gone: what it left half-written is torn
	got, end := readAll(t, r, w.ID())
	if len(got) != 4 || cut != int64(len(half)) {
		t.Fatalf("dead writer: read %d, cut %d; want 4 and %d cut", len(got), cut, len(half))
	}
	if st, _ := os.Stat(seg); st.Size() != whole || end.Offset != whole {
		t.Fatalf("after the cut the segment has %d bytes, want %d", st.Size(), whole)
	}
}

// dataEnd returns where the batches of a segment end, by their headers:
// the zeros written before it was used follow.
func dataEnd(t *testing.T, path string) int64 {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	off := 0
	for {
		n, err := ParseBatch(b[off:], func([]byte) error { return nil })
		if err != nil {
			return int64(off)
		}
		off += n
	}
}

// Garbage that is not a batch, or a batch whose bytes changed, at the end
// of a finished segment is a torn write; with a whole batch after it, it is
// damage, and nothing is cut.
func TestDamage(t *testing.T) {
	for _, tc := range []struct {
		name    string
		damage  func(seg []byte) []byte
		corrupt bool
		records int
	}{
		{"flipped byte in the last batch", func(b []byte) []byte { b[len(b)-3] ^= 1; return b }, false, 4},
		{"zeros after the last batch", func(b []byte) []byte { return append(b, make([]byte, 4096)...) }, false, 6},
		{"flipped byte in the first batch", func(b []byte) []byte { b[headerSize+2] ^= 1; return b }, true, 0},
		{"bad length in the middle batch", func(b []byte) []byte {
			i := bytes.Index(b[1:], []byte(magic)) + 1
			b[i+8] = 0xff
			return b
		}, true, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			w, _ := Create(root, Options{})
			for i := 0; i < 3; i++ {
				w.Append(recs(2*i, 2))
			}
			w.Close()
			seg := segmentPath(filepath.Join(root, w.ID()), 1)
			b, _ := os.ReadFile(seg)
			os.WriteFile(seg, tc.damage(b[:dataEnd(t, seg)]), 0o600)
			before, _ := os.ReadFile(seg)
			r := NewReader(root)
			defer r.Close()
			var n int
			_, _, err := r.Read(w.ID(), Position{}, 100, func([]byte) error { n++; return nil })
			var ce *CorruptError
			if tc.corrupt != errors.As(err, &ce) {
				t.Fatalf("err = %v, want corrupt %v", err, tc.corrupt)
			}
			if n != tc.records {
				t.Fatalf("read %d records, want %d", n, tc.records)
			}
			if after, _ := os.ReadFile(seg); tc.corrupt && !bytes.Equal(before, after) {
				t.Fatal("damage was cut")
			}
		})
	}
}

// Under a live writer, a bad batch with a whole one after it is damage.
// A bad last batch cannot be told from one being written: it waits, and
// is reported once the writer writes on.
func TestDamageUnderLiveWriter(t *testing.T) {
	root := t.TempDir()
	w, _ := Create(root, Options{})
	defer w.Close()
	w.Append(recs(0, 2))
	seg := segmentPath(filepath.Join(root, w.ID()), 1)
	f, _ := os.OpenFile(seg, os.O_RDWR, 0)
	f.WriteAt([]byte{0x40}, dataEnd(t, seg)-1) // the last record's last byte
	f.Close()
	r := NewReader(root)
	defer r.Close()
	pos, n, err := r.Read(w.ID(), Position{}, 100, func([]byte) error { return nil })
	if err != nil || n != 0 || pos.Offset != 0 {
		t.Fatalf("bad last batch of a live writer: read %d to %v, %v; want to wait at 0", n, pos, err)
	}
	w.Append(recs(2, 2))
	_, _, err = r.Read(w.ID(), Position{}, 100, func([]byte) error { return nil })
	var ce *CorruptError
	if !errors.As(err, &ce) || ce.Offset != 0 {
		t.Fatalf("err = %v, want damage at offset 0", err)
	}
}

// A reader racing a live writer sees whole batches only, in order, and
// never takes a batch being written for damage.
func TestReadWhileWriting(t *testing.T) {
	root := t.TempDir()
	w, _ := Create(root, Options{SegmentBytes: 256 << 10})
	defer w.Close()
	const total = 20000
	done := make(chan error, 1)
	go func() {
		for i := 0; i < total; i += 50 {
			if err := w.Append(recs(i, 50)); err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	r := NewReader(root)
	defer r.Close()
	var pos Position
	next := 0
	for next < total {
		var err error
		pos, _, err = r.Read(w.ID(), pos, 1<<30, func(rec []byte) error {
			if want := fmt.Sprintf("record %d", next); string(rec) != want {
				return fmt.Errorf("read %q, want %q", rec, want)
			}
			next++
			return nil
		})
		if err != nil {
			t.Fatalf("after %d records: %v", next, err)
		}
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func TestRetire(t *testing.T) {
	root := t.TempDir()
	w, _ := Create(root, Options{SegmentBytes: 50})
	for i := 0; i < 6; i++ {
		w.Append(recs(i, 1))
	}
	r := NewReader(root)
	defer r.Close()
	_, end := readAll(t, r, w.ID())
	if gone, err := r.Retire(w.ID(), end); gone || err != nil {
		t.Fatalf("live journal: gone %v, %v", gone, err)
	}
	if ns, _ := r.segments(w.ID()); len(ns) != 1 || ns[0] != end.Segment {
		t.Fatalf("segments left %v, want only %d", ns, end.Segment)
	}
	w.Append(recs(6, 1)) // the writer goes on after a retirement
	got, end2 := func() ([]string, Position) {
		var got []string
		p, _, err := r.Read(w.ID(), end, 100, func(b []byte) error { got = append(got, string(b)); return nil })
		if err != nil {
			t.Fatal(err)
		}
		return got, p
	}()
	if len(got) != 1 || got[0] != "record 6" {
		t.Fatalf("after retirement read %q", got)
	}
	w.Close()
	if gone, err := r.Retire(w.ID(), end); gone || err != nil {
		t.Fatalf("dead journal with records left: gone %v, %v", gone, err)
	}
	if gone, err := r.Retire(w.ID(), end2); !gone || err != nil {
		t.Fatalf("dead journal read to its end: gone %v, %v", gone, err)
	}
	if ids, _ := r.Journals(); len(ids) != 0 {
		t.Fatalf("journals left: %v", ids)
	}
}

func TestJournalsOldestFirst(t *testing.T) {
	root := t.TempDir()
	var ids []string
	for range 3 {
		w, _ := Create(root, Options{})
		w.Append(recs(0, 1))
		ids = append(ids, w.ID())
		defer w.Close()
		time.Sleep(time.Millisecond)
	}
	got, _ := NewReader(root).Journals()
	if fmt.Sprint(got) != fmt.Sprint(ids) {
		t.Fatalf("Journals = %v, want %v", got, ids)
	}
	// A journal never written is removed when its writer closes.
	w, _ := Create(root, Options{})
	w.Close()
	if got, _ := NewReader(root).Journals(); len(got) != 3 {
		t.Fatalf("an empty journal stayed: %v", got)
	}
}

func TestLead(t *testing.T) {
	root := t.TempDir()
	release, err := Lead(context.Background(), root)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := Lead(ctx, root); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("second leader: %v", err)
	}
	release()
	release2, err := Lead(context.Background(), root)
	if err != nil {
		t.Fatal(err)
	}
	release2()
}

func FuzzParseBatch(f *testing.F) {
	f.Add(appendBatch(nil, recs(0, 3)))
	f.Add(appendBatch(nil, [][]byte{{}}))
	f.Add([]byte("MGJ1\x01\x00\x00\x00\xff\xff\xff\xff\x00\x00\x00\x00"))
	f.Fuzz(func(t *testing.T, b []byte) {
		var got [][]byte
		n, err := ParseBatch(b, func(r []byte) error { got = append(got, bytes.Clone(r)); return nil })
		if err != nil {
			return
		}
		// What parses re-encodes to the same bytes.
		if again := appendBatch(nil, got); !bytes.Equal(again, b[:n]) {
			t.Fatalf("batch of %d records does not round-trip", len(got))
		}
	})
}
