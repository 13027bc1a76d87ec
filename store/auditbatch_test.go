package store

import (
	"bytes"
	"testing"
)

func TestBatchRoundTrip(t *testing.T) {
	leaves := []*AuditLeaf{
		{Index: 7, Data: []byte(`{"a":1}`), Input: &AuditBlob{Salt: []byte("salt-in"), Data: []byte("prompt")}, Output: &AuditBlob{Salt: []byte("salt-out")}},
		{Index: 8, Data: []byte(`{}`)},
		{Index: 9, Data: bytes.Repeat([]byte("x"), 300), Output: &AuditBlob{Salt: []byte("s"), Data: []byte{}}},
	}
	got, err := DecodeBatch(7, 3, EncodeLeaves(leaves), EncodePayloads(leaves))
	if err != nil {
		t.Fatal(err)
	}
	for i, l := range leaves {
		g := got[i]
		if g.Index != l.Index || !bytes.Equal(g.Data, l.Data) || !blobEqual(g.Input, l.Input) || !blobEqual(g.Output, l.Output) {
			t.Fatalf("event %d: got %+v want %+v", i, g, l)
		}
	}
	if EncodePayloads(leaves[1:2]) != nil {
		t.Error("a batch without payloads encoded some")
	}
	for _, bad := range []struct {
		count            int
		leaves, payloads []byte
	}{
		{3, EncodeLeaves(leaves)[:10], nil},
		{2, EncodeLeaves(leaves), nil},
		{4, EncodeLeaves(leaves), nil},
		{3, EncodeLeaves(leaves), EncodePayloads(leaves)[:5]},
		{3, EncodeLeaves(leaves), append(EncodePayloads(leaves), 0)},
		{1, []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}, nil},
		{1, []byte{2, 'a', 'b'}, []byte{0x80}},
		{1, []byte{2, 'a', 'b'}, []byte{flagInputData}},
	} {
		if _, err := DecodeBatch(0, bad.count, bad.leaves, bad.payloads); err == nil {
			t.Errorf("decoded a corrupt batch %+v", bad)
		}
	}
}

func blobEqual(a, b *AuditBlob) bool {
	if (a == nil) != (b == nil) {
		return false
	}
	return a == nil || bytes.Equal(a.Salt, b.Salt) && (a.Data == nil) == (b.Data == nil) && bytes.Equal(a.Data, b.Data)
}

func FuzzDecodeBatch(f *testing.F) {
	leaves := []*AuditLeaf{{Data: []byte(`{"a":1}`), Input: &AuditBlob{Salt: []byte("s"), Data: []byte("d")}}, {Data: []byte(`{}`)}}
	f.Add(2, EncodeLeaves(leaves), EncodePayloads(leaves))
	f.Add(1, []byte{0}, []byte(nil))
	f.Fuzz(func(t *testing.T, count int, l, p []byte) {
		out, err := DecodeBatch(0, count, l, p)
		if err != nil {
			return
		}
		// What decodes re-encodes to the same bytes.
		if !bytes.Equal(EncodeLeaves(out), l) {
			t.Fatal("leaves do not re-encode to the input")
		}
		if p != nil && !bytes.Equal(EncodePayloads(out), p) && EncodePayloads(out) != nil {
			t.Fatal("payloads do not re-encode to the input")
		}
	})
}
