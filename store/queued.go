package store

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"
)

// A queued event as one record (of a journal, see store/journal):
//
//	version byte (1)
//	time    varint, Unix nanoseconds
//	head    uvarint length, bytes
//	tail    uvarint length, bytes
//	flags   byte, then the input and output blobs as in a batch's payloads

const queuedVersion = 1

// AppendQueuedEvent encodes q as one record onto dst.
func AppendQueuedEvent(dst []byte, q QueuedEvent) []byte {
	dst = append(dst, queuedVersion)
	dst = binary.AppendVarint(dst, q.Time.UnixNano())
	dst = binary.AppendUvarint(dst, uint64(len(q.Head)))
	dst = append(dst, q.Head...)
	dst = binary.AppendUvarint(dst, uint64(len(q.Tail)))
	dst = append(dst, q.Tail...)
	dst = append(dst, payloadFlags(q.Input, q.Output))
	dst = appendBlob(dst, q.Input)
	return appendBlob(dst, q.Output)
}

// DecodeQueuedEvent decodes a record AppendQueuedEvent wrote. Byte slices
// in the result alias b.
func DecodeQueuedEvent(b []byte) (QueuedEvent, error) {
	var q QueuedEvent
	if len(b) == 0 || b[0] != queuedVersion {
		return q, errors.New("queued event: unknown version")
	}
	ns, k := binary.Varint(b[1:])
	if k <= 0 {
		return q, errors.New("queued event: bad time")
	}
	q.Time = time.Unix(0, ns).UTC()
	b = b[1+k:]
	var ok bool
	if q.Head, b, ok = readChunk(b); !ok {
		return q, errors.New("queued event: head truncated")
	}
	if q.Tail, b, ok = readChunk(b); !ok {
		return q, errors.New("queued event: tail truncated")
	}
	if len(b) == 0 {
		return q, errors.New("queued event: flags missing")
	}
	flags := b[0]
	if flags&^(flagInput|flagInputData|flagOutput|flagOutData) != 0 {
		return q, errors.New("queued event: bad payload flags")
	}
	var err error
	if q.Input, b, err = readBlob(b[1:], flags&flagInput != 0, flags&flagInputData != 0); err != nil {
		return q, fmt.Errorf("queued event: input: %w", err)
	}
	if q.Output, b, err = readBlob(b, flags&flagOutput != 0, flags&flagOutData != 0); err != nil {
		return q, fmt.Errorf("queued event: output: %w", err)
	}
	if len(b) != 0 {
		return q, fmt.Errorf("queued event: %d bytes after its payloads", len(b))
	}
	return q, nil
}
