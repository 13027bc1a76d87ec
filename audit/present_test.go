package audit

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/modelgate/modelgate/store"
)

func TestParseTime(t *testing.T) {
	now := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	for in, want := range map[string]time.Time{
		"":                     {},
		"2026-11-20":           time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC),
		"2026-11-20T08:30":     time.Date(2026, 11, 20, 8, 30, 0, 0, time.UTC),
		"2026-11-20T08:30:05Z": time.Date(2026, 11, 20, 8, 30, 5, 0, time.UTC),
		"1h":                   now.Add(-time.Hour),
		"7d":                   now.Add(-7 * 24 * time.Hour),
		"1.5d":                 now.Add(-36 * time.Hour),
	} {
		got, err := ParseTime(in, now)
		if err != nil || !got.Equal(want) {
			t.Errorf("ParseTime(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, bad := range []string{"yesterday", "-1h", "-2d", "12/03/2026", "d"} {
		if _, err := ParseTime(bad, now); err == nil {
			t.Errorf("ParseTime(%q) accepted", bad)
		}
	}
}

// TestShowAndList: the listing formats, and the detail view's account of
// each body: kept, digest only, erased, not captured.
func TestShowAndList(t *testing.T) {
	tl := openTestLog(t, t.TempDir(), Options{})
	ctx := context.Background()
	kept := testEvent(1)
	if err := tl.log.Append(ctx, kept, Payload{Kind: PayloadInput, Mode: CaptureFull, Data: []byte(`{"prompt":"hello"}`)},
		Payload{Kind: PayloadOutput, Mode: CaptureHash, Data: []byte(`answer`)}); err != nil {
		t.Fatal(err)
	}
	erased := testEvent(2)
	tl.log.Append(ctx, erased, Payload{Kind: PayloadInput, Mode: CaptureFull, Data: []byte(`secret prompt`)})
	tl.log.Erase(ctx, &Event{Time: time.Now(), Action: ActionErase, Actor: Actor{Kind: ActorAdmin}}, []int64{erased.Index}, 0)

	var out bytes.Buffer
	err := Query(ctx, tl.store, Filter{WithPayloads: true, Limit: 2}, func(ev *Event, l *store.AuditLeaf) error {
		return WriteDetail(&out, ev, l)
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`request (full, 18 bytes):` + "\n" + `{"prompt":"hello"}`, "response: kept as its digest only", "request: erased", "response: not captured"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("detail lacks %q:\n%s", want, out.String())
		}
	}
	if strings.Contains(out.String(), "secret prompt") {
		t.Error("an erased body was shown")
	}

	for _, format := range []string{ListTable, ListJSONL} {
		out.Reset()
		w, err := NewEventWriter(&out, format)
		if err != nil {
			t.Fatal(err)
		}
		Query(ctx, tl.store, Filter{}, func(ev *Event, l *store.AuditLeaf) error { return w.Write(ev, l.Data) })
		w.Flush()
		lines := strings.Split(strings.TrimSpace(out.String()), "\n")
		if want := 3 + map[string]int{ListTable: 1, ListJSONL: 0}[format]; len(lines) != want {
			t.Errorf("%s: %d lines, want %d:\n%s", format, len(lines), want, out.String())
		}
	}
	if _, err := NewEventWriter(&out, "xml"); err == nil {
		t.Error("an unknown format was accepted")
	}
}

func TestProofRoundTrip(t *testing.T) {
	tl := openTestLog(t, t.TempDir(), Options{})
	appendN(t, tl, 5, false)
	tl.log.Checkpoint(context.Background())
	p, err := BuildProof(context.Background(), tl.store, tl.verifier, 3)
	if err != nil {
		t.Fatal(err)
	}
	b, err := MarshalProof(p)
	if err != nil {
		t.Fatal(err)
	}
	q, err := ParseProof(b)
	if err != nil {
		t.Fatal(err)
	}
	if ev, err := VerifyProof(q, tl.verifier); err != nil || ev.Index != 3 {
		t.Fatalf("round-tripped proof: %v %v", ev, err)
	}
	for _, bad := range []string{"", "{}", `{"index":1,"surprise":true}`, "not json"} {
		if _, err := ParseProof([]byte(bad)); err == nil {
			t.Errorf("ParseProof(%q) accepted", bad)
		}
	}
}

// FuzzParseProof: any file is parsed or refused, never a panic, and what
// parses verifies or fails cleanly.
func FuzzParseProof(f *testing.F) {
	f.Add([]byte(`{"index":0,"event":{},"leaf_hash":"","tree_size":1,"inclusion_proof":[],"checkpoint":"x"}`))
	f.Add([]byte(`{}`))
	dir := f.TempDir()
	_, v, err := LoadOrCreateKeys(dir)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := ParseProof(b)
		if err != nil {
			return
		}
		VerifyProof(p, v)
	})
}
