// Package journal is a durable queue of records in append-only files: the
// cheapest way to make something survive a crash before it is
// acknowledged, one write and one fdatasync per batch.
//
// Every process that writes has a journal of its own (a Writer): a
// directory under the root, named so that older writers sort first,
// holding numbered segment files and a lock file the writer holds while it
// lives. Writers never share a file, so they never wait for each other. One
// process at a time (see Lead) reads the journals with a Reader from saved
// positions, moves their records somewhere else, and retires what it has
// moved (see Retire).
//
// A batch on disk:
//
//	magic   "MGJ1"
//	count   uint32, little-endian: records in the batch
//	length  uint32: bytes of records after the header
//	crc     uint32: CRC-32C of count, length and the records
//	records count × (uvarint length, bytes)
//
// A crash can leave only the last batch of a segment incomplete: a writer
// writes a batch only after the previous one is on disk, and cuts a batch
// whose write failed before it writes another. A reader stops at an
// incomplete batch at the end of a live writer's newest segment (it is
// being written). Anywhere else an incomplete or unreadable batch with
// nothing whole after it is a torn write, cut at the last whole batch; a
// bad batch with a whole batch after it is damage, reported as a
// *CorruptError and never cut.
package journal

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
)

const (
	magic      = "MGJ1"
	headerSize = 16
	// MaxBatch bounds a batch's records in bytes; a header claiming more
	// is damage, not a batch.
	MaxBatch = 1 << 30
	// lockName is the file a live writer holds locked in its directory;
	// leaderName the file the reader's lock is taken on, in the root.
	lockName   = ".lock"
	leaderName = ".leader"
	segSuffix  = ".seg"
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Position is how far a reader has read a writer's journal: a segment and
// a byte offset in it. The zero Position is the journal's start.
type Position struct {
	Segment int64
	Offset  int64
}

// Less reports whether p comes before q.
func (p Position) Less(q Position) bool {
	return p.Segment < q.Segment || p.Segment == q.Segment && p.Offset < q.Offset
}

func (p Position) String() string { return fmt.Sprintf("segment %d offset %d", p.Segment, p.Offset) }

// CorruptError reports a damaged batch: one that cannot be read, with
// whole batches after it, so that it cannot be the torn end of a write.
// Nothing is cut; the records after it wait until someone decides.
type CorruptError struct {
	Path   string // the segment file
	Offset int64  // where the bad batch starts
	Reason string
}

func (e *CorruptError) Error() string {
	return fmt.Sprintf("journal %s: damaged batch at offset %d (%s) with whole batches after it; move the file aside to continue without it", e.Path, e.Offset, e.Reason)
}

// ErrClosed is returned by a closed Writer.
var ErrClosed = errors.New("journal is closed")

// appendBatch encodes records as one batch onto dst.
func appendBatch(dst []byte, records [][]byte) []byte {
	start := len(dst)
	dst = append(dst, magic...)
	dst = binary.LittleEndian.AppendUint32(dst, uint32(len(records)))
	dst = append(dst, 0, 0, 0, 0, 0, 0, 0, 0) // length and crc, below
	body := len(dst)
	for _, r := range records {
		dst = binary.AppendUvarint(dst, uint64(len(r)))
		dst = append(dst, r...)
	}
	binary.LittleEndian.PutUint32(dst[start+8:], uint32(len(dst)-body))
	crc := crc32.Update(0, castagnoli, dst[start+4:start+12])
	crc = crc32.Update(crc, castagnoli, dst[body:])
	binary.LittleEndian.PutUint32(dst[start+12:], crc)
	return dst
}

// header is a batch's decoded header.
type header struct {
	count, length, crc uint32
}

// parseHeader decodes a batch header; it reports what is wrong with one
// that cannot start a batch.
func parseHeader(b []byte) (header, error) {
	if len(b) < headerSize {
		return header{}, errors.New("short header")
	}
	if string(b[:4]) != magic {
		return header{}, errors.New("no batch marker")
	}
	h := header{binary.LittleEndian.Uint32(b[4:]), binary.LittleEndian.Uint32(b[8:]), binary.LittleEndian.Uint32(b[12:])}
	if h.count == 0 || h.length > MaxBatch || uint64(h.length) < uint64(h.count) {
		return header{}, fmt.Errorf("impossible header (%d records in %d bytes)", h.count, h.length)
	}
	return h, nil
}

// parseBody checks a batch's records against its header and then calls fn
// for each; the record is valid only during the call. The batch's own
// faults come back as badBody, fn's errors as they are.
func parseBody(h header, hdr, body []byte, fn func([]byte) error) error {
	if crc := crc32.Update(crc32.Update(0, castagnoli, hdr[4:12]), castagnoli, body); crc != h.crc {
		return badBody{errors.New("checksum mismatch")}
	}
	if err := eachRecord(h.count, body, func([]byte) error { return nil }); err != nil {
		return badBody{err}
	}
	return eachRecord(h.count, body, fn)
}

func eachRecord(count uint32, body []byte, fn func([]byte) error) error {
	rest := body
	for i := uint32(0); i < count; i++ {
		n, k := binary.Uvarint(rest)
		if k <= 0 || n > uint64(len(rest)-k) {
			return fmt.Errorf("record %d overruns the batch", i)
		}
		if err := fn(rest[k : k+int(n)]); err != nil {
			return err
		}
		rest = rest[k+int(n):]
	}
	if len(rest) != 0 {
		return fmt.Errorf("%d bytes after the last record", len(rest))
	}
	return nil
}

// badBody marks a fault parseBody found in a batch's bytes.
type badBody struct{ error }

// ParseBatch reads one batch from the start of b, calling fn for each
// record, and returns the batch's size in bytes. It is what a reader does
// with every batch, exposed for tests and fuzzing.
func ParseBatch(b []byte, fn func(record []byte) error) (int, error) {
	h, err := parseHeader(b)
	if err != nil {
		return 0, err
	}
	end := headerSize + int64(h.length)
	if int64(len(b)) < end {
		return 0, errors.New("incomplete batch")
	}
	if err := parseBody(h, b[:headerSize], b[headerSize:end], fn); err != nil {
		if bad, ok := err.(badBody); ok {
			return 0, bad.error
		}
		return 0, err
	}
	return int(end), nil
}
