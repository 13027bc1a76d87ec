package modelscan

import (
	"errors"
	"fmt"

	"google.golang.org/protobuf/encoding/protowire"
)

// forFields calls fn for each field of a protobuf message in b, with the
// bytes of length-delimited fields (nil for others). The model formats
// read here (ONNX, TensorFlow SavedModel) are protobuf; the scanner reads
// the few fields it judges straight off the wire format, with no
// generated code.
func forFields(b []byte, fn func(num protowire.Number, typ protowire.Type, v []byte) error) error {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return fmt.Errorf("bad field tag: %w", protowire.ParseError(n))
		}
		b = b[n:]
		var v []byte
		if typ == protowire.BytesType {
			v, n = protowire.ConsumeBytes(b)
		} else {
			n = protowire.ConsumeFieldValue(num, typ, b)
		}
		if n < 0 {
			return fmt.Errorf("field %d: %w", num, protowire.ParseError(n))
		}
		b = b[n:]
		if err := fn(num, typ, v); err != nil {
			return err
		}
	}
	return nil
}

var errTooDeep = errors.New("messages nested too deep")
