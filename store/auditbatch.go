package store

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// The batch format shared by backends. A batch's leaves are encoded as,
// for each event, a uvarint length then the canonical JSON. Its payloads,
// when any event has one, are, for each event, a flags byte then, for each
// payload the flags say is present, a uvarint length and the salt and, if
// the bytes are kept, a uvarint length and the bytes.

const (
	flagInput     = 1 << 0
	flagInputData = 1 << 1
	flagOutput    = 1 << 2
	flagOutData   = 1 << 3
)

// ErrCorruptBatch is wrapped by every batch that cannot be decoded.
var ErrCorruptBatch = errors.New("corrupt audit batch")

// CorruptBatchError says which batch could not be decoded and why.
type CorruptBatchError struct {
	First  int64 // the batch's first event
	Detail string
}

func (e *CorruptBatchError) Error() string {
	return fmt.Sprintf("corrupt audit batch starting at event %d: %s", e.First, e.Detail)
}

// Is makes errors.Is(err, ErrCorruptBatch) hold.
func (e *CorruptBatchError) Is(target error) bool { return target == ErrCorruptBatch }

func corrupt(first int64, format string, args ...any) error {
	return &CorruptBatchError{First: first, Detail: fmt.Sprintf(format, args...)}
}

// EncodeLeaves encodes a batch's leaves.
func EncodeLeaves(leaves []*AuditLeaf) []byte {
	n := 0
	for _, l := range leaves {
		n += binary.MaxVarintLen64 + len(l.Data)
	}
	b := make([]byte, 0, n)
	for _, l := range leaves {
		b = binary.AppendUvarint(b, uint64(len(l.Data)))
		b = append(b, l.Data...)
	}
	return b
}

// EncodePayloads encodes what is kept of a batch's payloads, or returns nil
// when no event has any.
func EncodePayloads(leaves []*AuditLeaf) []byte {
	var b []byte
	any := false
	for _, l := range leaves {
		flags := payloadFlags(l.Input, l.Output)
		any = any || flags != 0
		b = append(b, flags)
		b = appendBlob(b, l.Input)
		b = appendBlob(b, l.Output)
	}
	if !any {
		return nil
	}
	return b
}

// payloadFlags says which of an event's payloads are kept, and which with
// their bytes.
func payloadFlags(in, out *AuditBlob) byte {
	var flags byte
	if in != nil {
		flags |= flagInput
		if in.Data != nil {
			flags |= flagInputData
		}
	}
	if out != nil {
		flags |= flagOutput
		if out.Data != nil {
			flags |= flagOutData
		}
	}
	return flags
}

func appendBlob(b []byte, p *AuditBlob) []byte {
	if p == nil {
		return b
	}
	b = binary.AppendUvarint(b, uint64(len(p.Salt)))
	b = append(b, p.Salt...)
	if p.Data != nil {
		b = binary.AppendUvarint(b, uint64(len(p.Data)))
		b = append(b, p.Data...)
	}
	return b
}

// DecodeBatch decodes the count events of a batch starting at first.
// Byte slices in the result alias the inputs.
func DecodeBatch(first int64, count int, leaves, payloads []byte) ([]*AuditLeaf, error) {
	if count <= 0 || count > len(leaves) {
		return nil, corrupt(first, "count %d", count)
	}
	out := make([]*AuditLeaf, count)
	for i := range out {
		data, rest, ok := readChunk(leaves)
		if !ok {
			return nil, corrupt(first, "event %d is truncated", first+int64(i))
		}
		out[i] = &AuditLeaf{Index: first + int64(i), Data: data}
		leaves = rest
	}
	if len(leaves) != 0 {
		return nil, corrupt(first, "%d bytes after its %d events", len(leaves), count)
	}
	if payloads == nil {
		return out, nil
	}
	for i, l := range out {
		if len(payloads) == 0 {
			return nil, corrupt(first, "payloads end before event %d", l.Index)
		}
		flags := payloads[0]
		payloads = payloads[1:]
		if flags&^(flagInput|flagInputData|flagOutput|flagOutData) != 0 {
			return nil, corrupt(first, "bad payload flags for event %d", first+int64(i))
		}
		var err error
		if l.Input, payloads, err = readBlob(payloads, flags&flagInput != 0, flags&flagInputData != 0); err != nil {
			return nil, corrupt(first, "input of event %d: %v", l.Index, err)
		}
		if l.Output, payloads, err = readBlob(payloads, flags&flagOutput != 0, flags&flagOutData != 0); err != nil {
			return nil, corrupt(first, "output of event %d: %v", l.Index, err)
		}
	}
	if len(payloads) != 0 {
		return nil, corrupt(first, "%d bytes after its payloads", len(payloads))
	}
	return out, nil
}

func readBlob(b []byte, present, hasData bool) (*AuditBlob, []byte, error) {
	if !present {
		if hasData {
			return nil, nil, errors.New("bytes without a salt")
		}
		return nil, b, nil
	}
	salt, b, ok := readChunk(b)
	if !ok {
		return nil, nil, errors.New("salt truncated")
	}
	p := &AuditBlob{Salt: salt}
	if hasData {
		data, rest, ok := readChunk(b)
		if !ok {
			return nil, nil, errors.New("bytes truncated")
		}
		p.Data, b = data, rest
		if p.Data == nil {
			p.Data = []byte{}
		}
	}
	return p, b, nil
}

// readChunk reads a uvarint length and that many bytes.
func readChunk(b []byte) (chunk, rest []byte, ok bool) {
	n, k := binary.Uvarint(b)
	if k <= 0 || n > uint64(len(b)-k) {
		return nil, nil, false
	}
	end := k + int(n)
	return b[k:end:end], b[end:], true
}
