package modelscan

import (
	"encoding/binary"
	"hash/crc32"
	"testing"
	"unicode/utf16"
)

// sevenZip writes a 7-Zip archive whose members are stored with the Copy
// method, enough to test the scanner without checked-in binaries.
func sevenZip(names []string, datas [][]byte) []byte {
	num := func(v uint64) []byte {
		for i := 0; i < 8; i++ {
			if v < 1<<(7*(i+1)) {
				b := []byte{byte(0xff<<(8-i)) | byte(v>>(8*i))}
				for k := 0; k < i; k++ {
					b = append(b, byte(v>>(8*k)))
				}
				return b
			}
		}
		return append([]byte{0xff}, binary.LittleEndian.AppendUint64(nil, v)...)
	}
	var packed []byte
	for _, d := range datas {
		packed = append(packed, d...)
	}
	h := []byte{0x01, 0x04} // Header, MainStreamsInfo
	h = append(h, 0x06)     // PackInfo
	h = append(h, num(0)...)
	h = append(h, num(1)...)
	h = append(h, 0x09)
	h = append(h, num(uint64(len(packed)))...)
	h = append(h, 0x00)
	h = append(h, 0x07, 0x0b) // UnPackInfo, Folder
	h = append(h, num(1)...)
	h = append(h, 0x00)       // not external
	h = append(h, num(1)...)  // one coder
	h = append(h, 0x01, 0x00) // id size 1, Copy
	h = append(h, 0x0c)       // CodersUnPackSize
	h = append(h, num(uint64(len(packed)))...)
	h = append(h, 0x00)
	h = append(h, 0x08, 0x0d) // SubStreamsInfo, NumUnPackStream
	h = append(h, num(uint64(len(datas)))...)
	h = append(h, 0x09)
	for _, d := range datas[:len(datas)-1] {
		h = append(h, num(uint64(len(d)))...)
	}
	h = append(h, 0x00, 0x00) // end SubStreamsInfo, end MainStreamsInfo
	h = append(h, 0x05)       // FilesInfo
	h = append(h, num(uint64(len(names)))...)
	var nameBytes []byte
	nameBytes = append(nameBytes, 0x00) // not external
	for _, n := range names {
		for _, u := range utf16.Encode([]rune(n)) {
			nameBytes = binary.LittleEndian.AppendUint16(nameBytes, u)
		}
		nameBytes = append(nameBytes, 0, 0)
	}
	h = append(h, 0x11)
	h = append(h, num(uint64(len(nameBytes)))...)
	h = append(h, nameBytes...)
	h = append(h, 0x00, 0x00) // end FilesInfo, end Header
	start := make([]byte, 20)
	binary.LittleEndian.PutUint64(start, uint64(len(packed)))
	binary.LittleEndian.PutUint64(start[8:], uint64(len(h)))
	binary.LittleEndian.PutUint32(start[16:], crc32.ChecksumIEEE(h))
	out := []byte("7z\xbc\xaf\x27\x1c\x00\x04")
	out = binary.LittleEndian.AppendUint32(out, crc32.ChecksumIEEE(start))
	out = append(out, start...)
	out = append(out, packed...)
	return append(out, h...)
}

func Test7z(t *testing.T) {
	clean := sevenZip([]string{"a.txt", "model.pkl"}, [][]byte{[]byte("hello"), benignPickle})
	if ids, _, rep := scan(t, "clean.7z", clean); len(ids) != 0 || len(rep.Files) != 2 {
		t.Fatalf("benign 7z: %v, %d entries", ids, len(rep.Files))
	}
	evil := sevenZip([]string{"readme", "weights.bin"}, [][]byte{[]byte("hi"), evilPickle})
	if ids, _, _ := scan(t, "evil.7z", evil); !has(ids, "MS001") {
		t.Fatalf("pickle in a 7z: %v", ids)
	}
}
