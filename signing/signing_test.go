package signing

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestReferenceVector: a bundle made by the OpenSSF Go reference CLI
// verifies, and any change to the model or the bundle breaks it.
func TestReferenceVector(t *testing.T) {
	pub, err := LoadPublicKey("testdata/pub.pem")
	if err != nil {
		t.Fatal(err)
	}
	v, err := Verify("testdata/my-model", VerifyOptions{PublicKey: pub, Signature: "testdata/model.sig"})
	if err != nil {
		t.Fatal(err)
	}
	if v.Root != "c9b665b140bcc516e513d368cccb5ac29bb4f0f3a05611a258ab76fa796fdb33" || v.Resources != 2 {
		t.Fatalf("verified %+v", v)
	}
	if h, _ := KeyHint(pub); h != "1501c2e28043f964ecc057a298236420fdd8d12f961b48f2040678fca226d423" {
		t.Errorf("key hint %s", h)
	}
	// Copy the model and tamper with it in every way.
	copyModel := func(t *testing.T) string {
		dir := filepath.Join(t.TempDir(), "my-model")
		os.MkdirAll(dir, 0o755)
		for _, f := range []string{"config.json", "weights.bin"} {
			b, _ := os.ReadFile(filepath.Join("testdata/my-model", f))
			os.WriteFile(filepath.Join(dir, f), b, 0o644)
		}
		return dir
	}
	for name, tamper := range map[string]func(dir string){
		"modified": func(dir string) { os.WriteFile(filepath.Join(dir, "weights.bin"), []byte("weights-v2\n"), 0o644) },
		"missing":  func(dir string) { os.Remove(filepath.Join(dir, "config.json")) },
		"extra":    func(dir string) { os.WriteFile(filepath.Join(dir, "evil.pkl"), []byte("x"), 0o644) },
		"nested": func(dir string) {
			os.MkdirAll(filepath.Join(dir, "sub"), 0o755)
			os.WriteFile(filepath.Join(dir, "sub/x"), nil, 0o644)
		},
	} {
		dir := copyModel(t)
		tamper(dir)
		_, err := Verify(dir, VerifyOptions{PublicKey: pub, Signature: "testdata/model.sig"})
		if err == nil {
			t.Errorf("%s: verified", name)
			continue
		}
		if !strings.Contains(err.Error(), map[string]string{"modified": "weights.bin: modified", "missing": "config.json: missing",
			"extra": "evil.pkl: not in the signature", "nested": "sub/x: not in the signature"}[name]) {
			t.Errorf("%s: %v", name, err)
		}
	}
	// Tamper with the bundle: every byte of the signature and payload matters.
	raw, _ := os.ReadFile("testdata/model.sig")
	for name, edit := range map[string]func(b map[string]any){
		"payload": func(b map[string]any) {
			env(b)["payload"] = strings.Replace(env(b)["payload"].(string), "eyJf", "eyJg", 1)
		},
		"signature": func(b map[string]any) {
			sigs(b)[0].(map[string]any)["sig"] = flipBase64(sigs(b)[0].(map[string]any)["sig"].(string))
		},
		"media type": func(b map[string]any) { b["mediaType"] = "application/vnd.dev.sigstore.bundle+json;version=0.3" },
		"hint": func(b map[string]any) {
			b["verificationMaterial"].(map[string]any)["publicKey"].(map[string]any)["hint"] = strings.Repeat("0", 64)
		},
	} {
		var b map[string]any
		json.Unmarshal(raw, &b)
		edit(b)
		out, _ := json.Marshal(b)
		p := filepath.Join(t.TempDir(), "model.sig")
		os.WriteFile(p, out, 0o644)
		if _, err := Verify("testdata/my-model", VerifyOptions{PublicKey: pub, Signature: p}); err == nil {
			t.Errorf("bundle with a changed %s verified", name)
		}
	}
	// Another key does not verify it.
	other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if _, err := Verify("testdata/my-model", VerifyOptions{PublicKey: &other.PublicKey, Signature: "testdata/model.sig"}); err == nil {
		t.Error("verified with another key")
	}
}

func env(b map[string]any) map[string]any { return b["dsseEnvelope"].(map[string]any) }
func sigs(b map[string]any) []any         { return env(b)["signatures"].([]any) }
func flipBase64(s string) string {
	raw, _ := base64.StdEncoding.DecodeString(s)
	raw[len(raw)/2] ^= 1
	return base64.StdEncoding.EncodeToString(raw)
}

func writeModel(t *testing.T) string {
	dir := filepath.Join(t.TempDir(), "model")
	os.MkdirAll(filepath.Join(dir, "tokenizer"), 0o755)
	os.MkdirAll(filepath.Join(dir, ".git"), 0o755)
	for name, body := range map[string]string{"tokenizer.json": "{}", "tokenizer/vocab.txt": "a\nb\n", "weights.bin": "0123456789", "empty": "", ".git/HEAD": "ref", ".gitignore": "x"} {
		os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644)
	}
	return dir
}

// TestRoundTrip signs with each curve and method and verifies; the bundle
// is written inside the model and left out of it.
func TestRoundTrip(t *testing.T) {
	for _, curve := range []elliptic.Curve{elliptic.P256(), elliptic.P384(), elliptic.P521()} {
		for _, shards := range []bool{false, true} {
			dir := writeModel(t)
			keys := t.TempDir()
			privPath, pubPath, err := Keygen(keys, curve)
			if err != nil {
				t.Fatal(err)
			}
			priv, err := LoadPrivateKey(privPath)
			if err != nil {
				t.Fatal(err)
			}
			sig, err := Sign(dir, SignOptions{Key: priv, Shards: shards})
			if err != nil {
				t.Fatal(err)
			}
			if sig != filepath.Join(dir, "model.sig") {
				t.Errorf("signature written to %s", sig)
			}
			pub, _ := LoadPublicKey(pubPath)
			v, err := Verify(dir, VerifyOptions{PublicKey: pub})
			if err != nil {
				t.Fatalf("%s shards=%v: %v", curve.Params().Name, shards, err)
			}
			want := 4 // files mode lists the empty file; shards mode does not
			if shards {
				want = 3
			}
			if v.Resources != want {
				t.Errorf("%s shards=%v: %d resources", curve.Params().Name, shards, v.Resources)
			}
			// Byte order: "tokenizer.json" before "tokenizer/vocab.txt".
			raw, _ := os.ReadFile(sig)
			var b bundle
			json.Unmarshal(raw, &b)
			payload, _ := base64.StdEncoding.DecodeString(b.DSSEEnvelope.Payload)
			if i, j := strings.Index(string(payload), `"tokenizer.json`), strings.Index(string(payload), `"tokenizer/vocab.txt`); i < 0 || j < 0 || i > j {
				t.Errorf("resources not in byte order: %s", payload)
			}
		}
	}
}

// TestPythonOrder: a statement listing resources in Python's component
// order (tokenizer/vocab.txt before tokenizer.json) is accepted.
func TestPythonOrder(t *testing.T) {
	dir := writeModel(t)
	priv, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	m, _ := BuildManifest(dir, Serialization{IgnorePaths: DefaultIgnore})
	rs := m.Resources
	// Move tokenizer/vocab.txt before tokenizer.json.
	for i := range rs {
		if rs[i].Name == "tokenizer/vocab.txt" && i > 0 && rs[i-1].Name == "tokenizer.json" {
			rs[i-1], rs[i] = rs[i], rs[i-1]
		}
	}
	root, _ := rootOf(rs)
	st := statement{Type: StatementType, Subject: []subject{{Name: "model", Digest: map[string]string{"sha256": root}}}, PredicateType: PredicateType,
		Predicate: predicate{Resources: rs, Serialization: Serialization{Method: "files", HashType: "sha256", IgnorePaths: DefaultIgnore}}}
	payload, _ := json.MarshalIndent(st, "", "  ")
	d := hashFor(priv.Curve)()
	d.Write(pae(PayloadType, payload))
	sig, _ := ecdsa.SignASN1(rand.Reader, priv, d.Sum(nil))
	hint, _ := KeyHint(&priv.PublicKey)
	b := bundle{MediaType: BundleMediaType, VerificationMaterial: verificationMaterial{PublicKey: &publicKey{Hint: hint}},
		DSSEEnvelope: envelope{Payload: base64.StdEncoding.EncodeToString(payload), PayloadType: PayloadType, Signatures: []signature{{Sig: base64.StdEncoding.EncodeToString(sig)}}}}
	raw, _ := json.Marshal(b)
	p := filepath.Join(t.TempDir(), "model.sig")
	os.WriteFile(p, raw, 0o644)
	if _, err := Verify(dir, VerifyOptions{PublicKey: &priv.PublicKey, Signature: p}); err != nil {
		t.Fatal(err)
	}
}

// TestCertificateMethod signs with a certificate chained to a root and
// verifies against the root only.
func TestCertificateMethod(t *testing.T) {
	rootKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	rootTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "root"}, NotBefore: time.Now().Add(-time.Hour),
		NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	rootDER, _ := x509.CreateCertificate(rand.Reader, rootTmpl, rootTmpl, &rootKey.PublicKey, rootKey)
	rootCert, _ := x509.ParseCertificate(rootDER)
	leafKey, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	leafTmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "signer"}, NotBefore: time.Now().Add(-time.Hour),
		NotAfter: time.Now().Add(time.Hour), KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning}}
	leafDER, _ := x509.CreateCertificate(rand.Reader, leafTmpl, rootCert, &leafKey.PublicKey, rootKey)
	dir := t.TempDir()
	chain := filepath.Join(dir, "chain.pem")
	os.WriteFile(chain, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: leafDER}), 0o644)
	model := writeModel(t)
	if _, err := Sign(model, SignOptions{Key: leafKey, CertChain: []string{chain}}); err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(rootCert)
	if _, err := Verify(model, VerifyOptions{Roots: roots}); err != nil {
		t.Fatal(err)
	}
	other := x509.NewCertPool()
	other.AddCert(rootCert) // replaced below with a stranger
	strangerKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	strangerDER, _ := x509.CreateCertificate(rand.Reader, rootTmpl, rootTmpl, &strangerKey.PublicKey, strangerKey)
	stranger, _ := x509.ParseCertificate(strangerDER)
	other = x509.NewCertPool()
	other.AddCert(stranger)
	if _, err := Verify(model, VerifyOptions{Roots: other}); err == nil {
		t.Error("verified against a root that did not issue the certificate")
	}
}

// TestSymlinks: a link in a model is refused.
func TestSymlinks(t *testing.T) {
	dir := writeModel(t)
	os.Symlink("/etc/hostname", filepath.Join(dir, "link"))
	priv, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if _, err := Sign(dir, SignOptions{Key: priv}); err == nil || !strings.Contains(err.Error(), "symbolic link") {
		t.Errorf("signed a model with a link: %v", err)
	}
}
