package pickle

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"testing"
)

// Dicts returns a protocol-2 pickle of a list of n small dicts, the shape
// of the anchor benchmark (an 88 MB pickle of 600,000 dicts), built the way
// CPython's pickler writes it: each key string memoized once and fetched
// by LONG_BINGET afterwards, every dict memoized.
func Dicts(n int) []byte {
	var b bytes.Buffer
	b.Write([]byte{opProto, 2, opEmptyList, opBinPut, 0, opMark})
	memo := uint32(1)
	keys := []string{"id", "name", "score", "tags", "comment"}
	keyIdx := map[string]uint32{}
	put := func() {
		b.WriteByte(opLongBinPut)
		binary.Write(&b, binary.LittleEndian, memo)
		memo++
	}
	str := func(s string) {
		b.WriteByte(opBinUnicode)
		binary.Write(&b, binary.LittleEndian, uint32(len(s)))
		b.WriteString(s)
	}
	for i := range n {
		b.WriteByte(opEmptyDict)
		put()
		b.WriteByte(opMark)
		for _, k := range keys {
			if idx, ok := keyIdx[k]; ok {
				b.WriteByte(opLongBinGet)
				binary.Write(&b, binary.LittleEndian, idx)
			} else {
				str(k)
				keyIdx[k] = memo
				put()
			}
			switch k {
			case "id":
				b.WriteByte(opBinInt)
				binary.Write(&b, binary.LittleEndian, int32(i))
			case "score":
				b.WriteByte(opBinFloat)
				b.Write(make([]byte, 8))
			case "tags":
				b.Write([]byte{opEmptyList})
				put()
				b.WriteByte(opMark)
				str("alpha")
				put()
				str("beta")
				put()
				b.WriteByte(opAppends)
			default:
				str(fmt.Sprintf("item number %d of the benchmark", i))
				put()
			}
		}
		b.WriteByte(opSetItems)
		if i%1000 == 999 {
			b.Write([]byte{opAppends, opMark})
		}
	}
	b.Write([]byte{opAppends, opStop})
	return b.Bytes()
}

// BenchmarkWalk walks a pickle of 60,000 dicts (about 9 MB, a tenth of the
// anchor's): the figure to watch is MB/s.
func BenchmarkWalk(b *testing.B) {
	data := Dicts(60000)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		r, err := Walk(bytes.NewReader(data), Limits{})
		if err != nil || r.Err != nil {
			b.Fatal(err, r.Err)
		}
	}
}
