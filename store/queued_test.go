package store

import (
	"bytes"
	"reflect"
	"testing"
	"time"
)

func TestQueuedEventRoundTrip(t *testing.T) {
	at := time.Date(2026, 12, 3, 10, 0, 0, 123, time.UTC)
	for _, q := range []QueuedEvent{
		{Time: at, Head: []byte(`{"a":1,"index":`), Tail: []byte(`}`)},
		{Time: at, Head: []byte(`{`), Tail: []byte(`}`), Input: &AuditBlob{Salt: []byte("salt")}},
		{Time: at, Head: []byte(`{`), Tail: []byte(`}`), Input: &AuditBlob{Salt: []byte("s1"), Data: []byte("prompt")},
			Output: &AuditBlob{Salt: []byte("s2"), Data: []byte{}}},
	} {
		got, err := DecodeQueuedEvent(AppendQueuedEvent(nil, q))
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, q) {
			t.Fatalf("round trip:\n got %+v\nwant %+v", got, q)
		}
	}
	if _, err := DecodeQueuedEvent([]byte{2}); err == nil {
		t.Fatal("an unknown version decoded")
	}
}

func FuzzDecodeQueuedEvent(f *testing.F) {
	f.Add(AppendQueuedEvent(nil, QueuedEvent{Time: time.Unix(1, 2), Head: []byte("{"), Tail: []byte("}"),
		Input: &AuditBlob{Salt: []byte("s"), Data: []byte("d")}}))
	f.Add([]byte{1, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		q, err := DecodeQueuedEvent(b)
		if err != nil {
			return
		}
		again := AppendQueuedEvent(nil, q)
		q2, err := DecodeQueuedEvent(again)
		if err != nil || !bytes.Equal(AppendQueuedEvent(nil, q2), again) {
			t.Fatalf("a decoded event does not round-trip: %v", err)
		}
	})
}
