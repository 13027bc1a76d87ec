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
