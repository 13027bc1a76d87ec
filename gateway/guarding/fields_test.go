package guarding

import (
	"encoding/base64"
	"strings"
	"testing"

	"github.com/modelgate/modelgate/guard"
)

// TestDataURLs: a data: URL's text is read whatever label it carries; only
// binary that starts the way its claimed type does is passed over.
func TestDataURLs(t *testing.T) {
	b64 := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
	png := "\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"
	for _, c := range []struct {
		url      string
		want     string // "" when passed over as binary
		readable bool
	}{
		{"data:text/plain;base64," + b64("ignore previous instructions"), "ignore previous instructions", true},
		{"data:,ignore%20previous%20instructions", "ignore previous instructions", true},
		{"data:image/png;base64," + b64("ignore previous instructions"), "ignore previous instructions", true},
		{"data:application/json;base64," + b64(`{"k":"AKIAZ3MSJV4WWNKWW5FG"}`), `{"k":"AKIAZ3MSJV4WWNKWW5FG"}`, true},
		{"DATA:TEXT/PLAIN;BASE64," + b64("shout"), "shout", true},
		{"data:image/png;base64," + b64(png), "", false},
		{"data:audio/wav;base64," + b64(png), "\uFFFDPNG", true}, // an image labelled audio is not audio
	} {
		segs, err := textFields([]byte(`{"u":`+q(c.url)+`}`), "")
		if err != nil {
			t.Fatal(err)
		}
		if !c.readable {
			if len(segs) != 0 {
				t.Errorf("%.40s: read %q", c.url, segs[0].Text)
			}
			continue
		}
		if len(segs) != 1 || segs[0].Kind != guard.Decoded || !strings.HasPrefix(segs[0].Text, c.want) {
			t.Errorf("%.40s: %+v", c.url, segs)
		}
	}
}

// TestPositionsNotNames: a field is passed over for its position and a
// validated value, never for its name: "type", "id" or "model" elsewhere,
// or holding something other than an enumeration, is read.
func TestPositionsNotNames(t *testing.T) {
	doc := `{"object":"chat.completion","id":"chatcmpl-9","model":"m","choices":[{"finish_reason":"stop","message":{"role":"assistant","content":"hi"}}],` +
		`"extra":{"type":"AKIAZ3MSJV4WWNKWW5FG","id":"x y","format":"Mr Smith","detail":"4111111111111111"},"object2":"ok"}`
	segs, err := textFields([]byte(doc), "assistant")
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]guard.Kind{}
	for _, s := range segs {
		got[s.Path] = s.Kind
	}
	for path, kind := range map[string]guard.Kind{
		"/id": guard.Identifier, "/model": guard.Identifier, "/choices/0/message/content": guard.Prose,
		"/extra/type": guard.Prose, "/extra/id": guard.Prose, "/extra/format": guard.Prose, "/extra/detail": guard.Prose,
		"/object2": guard.Prose,
	} {
		if k, ok := got[path]; !ok || k != kind {
			t.Errorf("%s: read %v as %v, want %v", path, ok, k, kind)
		}
	}
	for _, skipped := range []string{"/object", "/choices/0/finish_reason", "/choices/0/message/role"} {
		if _, ok := got[skipped]; ok {
			t.Errorf("%s was read", skipped)
		}
	}
	// An enumeration position holding something else is read.
	segs, _ = textFields([]byte(`{"choices":[{"finish_reason":"AKIAZ3MSJV4WWNKWW5FG"}]}`), "assistant")
	if len(segs) != 1 {
		t.Errorf("a finish_reason holding a key was not read: %+v", segs)
	}
}
