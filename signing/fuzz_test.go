package signing

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

// FuzzVerify: any bundle bytes are refused or verified, never a panic;
// and only the reference bundle itself verifies.
func FuzzVerify(f *testing.F) {
	ref, err := os.ReadFile("testdata/model.sig")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(ref)
	f.Add([]byte(`{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json","dsseEnvelope":{"payloadType":"application/vnd.in-toto+json","payload":"e30=","signatures":[{"sig":"AA=="}]}}`))
	pub, err := LoadPublicKey("testdata/pub.pem")
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		p := filepath.Join(t.TempDir(), "model.sig")
		os.WriteFile(p, b, 0o644)
		if _, err := Verify("testdata/my-model", VerifyOptions{PublicKey: pub, Signature: p}); err == nil && string(b) != string(ref) {
			// A different encoding of the same signed content may verify
			// (JSON spacing); a different signature or payload must not.
			if !sameSigned(t, b, ref) {
				t.Fatalf("a changed bundle verified: %q", b)
			}
		}
	})
}

func sameSigned(t *testing.T, a, b []byte) bool {
	var x, y bundle
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil || len(x.DSSEEnvelope.Signatures) == 0 || len(y.DSSEEnvelope.Signatures) == 0 {
		return false
	}
	return x.DSSEEnvelope.Payload == y.DSSEEnvelope.Payload && x.DSSEEnvelope.Signatures[0].Sig == y.DSSEEnvelope.Signatures[0].Sig
}
