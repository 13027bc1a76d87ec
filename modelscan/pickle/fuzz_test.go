package pickle

import (
	"bytes"
	"testing"
)

// FuzzWalk: any bytes are walked without a panic, within the limits, and
// every import offset lies inside the input.
func FuzzWalk(f *testing.F) {
	f.Add(newPB().global("os", "system").op(opMark).line(opString, "'ls'").op(opTuple, opReduce, opStop).bytes())
	f.Add(newPB().proto(4).uni("os").uni("system").op(opStackGlobal, opStop).bytes())
	f.Add(newPB().proto(2).op(opEmptyList).binput(0).binget(0).op(opDup, opAppend, opStop).bytes())
	f.Add([]byte("\x80\x05\x95\x08\x00\x00\x00\x00\x00\x00\x00N."))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, _ := Walk(bytes.NewReader(b), Limits{MaxStack: 1 << 12, MaxMemo: 1 << 12, MaxImports: 64})
		if len(r.Imports) > 64 {
			t.Fatalf("%d imports kept, limit 64", len(r.Imports))
		}
		for _, i := range r.Imports {
			if i.Offset < 0 || i.Offset >= int64(len(b)) {
				t.Fatalf("import at offset %d of %d bytes", i.Offset, len(b))
			}
		}
	})
}

// FuzzWalkFile: the file walk (linear, then framed as CPython's buffered
// reader frames) on any bytes stays within the limits and the input.
func FuzzWalkFile(f *testing.F) {
	f.Add([]byte("\x80\x04\x95\x15\x00\x00\x00\x00\x00\x00\x00\x8c\x02os\x94\x8c\x06system\x94\x93\x94."))
	f.Add([]byte("\x80\x04\x95\x02\x00\x00\x00\x00\x00\x00\x00\x8c\x05abcde."))
	f.Add([]byte("\x80\x05\x95\x03\x00\x00\x00\x00\x00\x00\x00\x97\x98N."))
	f.Fuzz(func(t *testing.T, b []byte) {
		lim := Limits{MaxStack: 1 << 12, MaxMemo: 1 << 12, MaxImports: 64}
		r, _ := WalkFile(bytes.NewReader(b), int64(len(b)), lim)
		if r == nil {
			return
		}
		if len(r.Imports) > 2*64 {
			t.Fatalf("%d imports kept, limit 64 per walk", len(r.Imports))
		}
		for _, i := range r.Imports {
			if i.Offset < 0 || i.Offset >= int64(len(b)) {
				t.Fatalf("import at offset %d of %d bytes", i.Offset, len(b))
			}
		}
	})
}
