package signing

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
)

// VerifyOptions say what to trust.
type VerifyOptions struct {
	// PublicKey verifies a key-method bundle.
	PublicKey *ecdsa.PublicKey
	// Roots verify a certificate-method bundle: the leaf in the bundle
	// must chain to one of them.
	Roots *x509.CertPool
	// Signature is the bundle's path; default model.sig in the model
	// directory.
	Signature string
	// Hashed, when set, may supply the model's resources for the
	// signature's serialization without reading the files again (a
	// caller that hashed the model a moment ago); it returns false when
	// it cannot, and Verify hashes.
	Hashed func(Serialization) ([]Resource, bool)
}

// Verified is what a successful verification establishes.
type Verified struct {
	Root      string // the subject digest
	Resources int
	Method    string // files or shards
}

// Verify checks a model against its signature: the bundle's format, the
// signature over the statement, and every file of the model against the
// statement. Any modified, missing or extra file fails, naming it.
func Verify(root string, o VerifyOptions) (*Verified, error) {
	sigPath := o.Signature
	if sigPath == "" {
		sigPath = root + string(os.PathSeparator) + DefaultSignatureName
	}
	raw, err := os.ReadFile(sigPath)
	if err != nil {
		return nil, err
	}
	var b bundle
	if err := json.Unmarshal(raw, &b); err != nil {
		return nil, fmt.Errorf("%s: not a Sigstore bundle: %w", sigPath, err)
	}
	if b.MediaType != BundleMediaType {
		return nil, fmt.Errorf("%s: media type %q, want %q", sigPath, b.MediaType, BundleMediaType)
	}
	env := b.DSSEEnvelope
	if env.PayloadType != PayloadType {
		return nil, fmt.Errorf("%s: payload type %q, want %q", sigPath, env.PayloadType, PayloadType)
	}
	if len(env.Signatures) != 1 {
		return nil, fmt.Errorf("%s: %d signatures, want exactly one", sigPath, len(env.Signatures))
	}
	payload, err := base64.StdEncoding.DecodeString(env.Payload)
	if err != nil {
		return nil, fmt.Errorf("%s: payload is not base64: %w", sigPath, err)
	}
	sig, err := base64.StdEncoding.DecodeString(env.Signatures[0].Sig)
	if err != nil {
		return nil, fmt.Errorf("%s: signature is not base64: %w", sigPath, err)
	}
	pub, err := signerKey(&b, o)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", sigPath, err)
	}
	digest := hashFor(pub.Curve)()
	digest.Write(pae(env.PayloadType, payload))
	if !ecdsa.VerifyASN1(pub, digest.Sum(nil), sig) {
		return nil, fmt.Errorf("%s: the signature does not verify with the given key", sigPath)
	}
	var st statement
	if err := json.Unmarshal(payload, &st); err != nil {
		return nil, fmt.Errorf("%s: the signed statement is not valid JSON: %w", sigPath, err)
	}
	if st.Type != StatementType || st.PredicateType != PredicateType {
		return nil, fmt.Errorf("%s: statement %q with predicate %q, want %q and %q", sigPath, st.Type, st.PredicateType, StatementType, PredicateType)
	}
	if len(st.Subject) != 1 || st.Subject[0].Name == "" {
		return nil, fmt.Errorf("%s: the statement must have exactly one named subject", sigPath)
	}
	if len(st.Predicate.Resources) == 0 {
		return nil, fmt.Errorf("%s: the statement lists no resources", sigPath)
	}
	// The subject digest must match the resources as listed.
	rootDigest, err := rootOf(st.Predicate.Resources)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", sigPath, err)
	}
	if want := st.Subject[0].Digest["sha256"]; !strings.EqualFold(want, rootDigest) {
		return nil, fmt.Errorf("%s: the subject digest %s does not match the resources (%s)", sigPath, want, rootDigest)
	}
	ser := st.Predicate.Serialization
	// The signature file is never part of the model, wherever it is.
	if rel, ok := inside(root, sigPath); ok && !slices.Contains(ser.IgnorePaths, rel) {
		ser.IgnorePaths = append(slices.Clone(ser.IgnorePaths), rel)
	}
	actual, ok := []Resource(nil), false
	if o.Hashed != nil {
		actual, ok = o.Hashed(ser)
	}
	if !ok {
		m, err := BuildManifest(root, ser)
		if err != nil {
			return nil, err
		}
		actual = m.Resources
	}
	if err := compare(st.Predicate.Resources, actual); err != nil {
		return nil, err
	}
	return &Verified{Root: rootDigest, Resources: len(actual), Method: ser.Method}, nil
}

// signerKey finds the key the signature must verify with: the given
// public key, checked against the bundle's hint or raw key; or the leaf
// certificate's, checked against the roots.
func signerKey(b *bundle, o VerifyOptions) (*ecdsa.PublicKey, error) {
	vm := b.VerificationMaterial
	if vm.X509CertificateChain != nil && len(vm.X509CertificateChain.Certificates) > 0 {
		if o.Roots == nil {
			return nil, errors.New("the bundle is signed with a certificate; verify with --cert-chain")
		}
		var certs []*x509.Certificate
		for _, c := range vm.X509CertificateChain.Certificates {
			der, err := base64.StdEncoding.DecodeString(c.RawBytes)
			if err != nil {
				return nil, fmt.Errorf("certificate is not base64: %w", err)
			}
			cert, err := x509.ParseCertificate(der)
			if err != nil {
				return nil, err
			}
			certs = append(certs, cert)
		}
		inter := x509.NewCertPool()
		for _, c := range certs[1:] {
			inter.AddCert(c)
		}
		// A model is verified long after it was signed: check the chain as
		// of the leaf's start of validity.
		if _, err := certs[0].Verify(x509.VerifyOptions{Roots: o.Roots, Intermediates: inter, CurrentTime: certs[0].NotBefore,
			KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}}); err != nil {
			return nil, fmt.Errorf("the signing certificate does not chain to the given roots: %w", err)
		}
		pub, ok := certs[0].PublicKey.(*ecdsa.PublicKey)
		if !ok {
			return nil, errors.New("the signing certificate's key is not ECDSA")
		}
		return pub, checkCurve(pub.Curve)
	}
	if o.PublicKey == nil {
		return nil, errors.New("the bundle is signed with a key; verify with --pubkey")
	}
	if pk := vm.PublicKey; pk != nil {
		switch {
		case pk.Hint != "":
			hint, err := KeyHint(o.PublicKey)
			if err != nil {
				return nil, err
			}
			if !strings.EqualFold(hint, pk.Hint) {
				return nil, fmt.Errorf("the bundle names key %s, not the given key (%s)", pk.Hint, hint)
			}
		case pk.RawBytes != "":
			der, err := base64.StdEncoding.DecodeString(pk.RawBytes)
			if err != nil {
				return nil, err
			}
			given, err := x509.MarshalPKIXPublicKey(o.PublicKey)
			if err != nil {
				return nil, err
			}
			if !bytes.Equal(der, given) {
				return nil, errors.New("the bundle carries another public key than the given one")
			}
		}
	}
	return o.PublicKey, nil
}

// compare checks the files as they are against the signed resources, in
// either order (the Python reference sorts by path components, the spec
// and the Go reference by bytes).
func compare(signed, actual []Resource) error {
	want := map[string]Resource{}
	for _, r := range signed {
		if _, dup := want[r.Name]; dup {
			return fmt.Errorf("the statement lists %s twice", r.Name)
		}
		want[r.Name] = r
	}
	var problems []string
	seen := map[string]bool{}
	for _, r := range actual {
		seen[r.Name] = true
		w, ok := want[r.Name]
		switch {
		case !ok:
			problems = append(problems, fmt.Sprintf("%s: not in the signature (an extra file)", r.Name))
		case !strings.EqualFold(w.Algorithm, r.Algorithm) || !strings.EqualFold(w.Digest, r.Digest):
			problems = append(problems, fmt.Sprintf("%s: modified (sha256 %s, signed %s)", r.Name, short(r.Digest), short(w.Digest)))
		}
	}
	for _, r := range signed {
		if !seen[r.Name] {
			problems = append(problems, fmt.Sprintf("%s: missing", r.Name))
		}
	}
	if len(problems) > 0 {
		slices.Sort(problems)
		return fmt.Errorf("the model does not match its signature:\n  %s", strings.Join(problems, "\n  "))
	}
	return nil
}

func short(d string) string {
	if len(d) > 12 {
		return d[:12] + "…"
	}
	return d
}

// maxBundle bounds the size of a signature file read.
const maxBundle = 64 << 20

// ReadSerialization returns how a signature says its model was hashed,
// without verifying anything: a caller about to hash the model anyway can
// hash it the same way once, and verify against that (VerifyOptions.Hashed).
// Whatever it returns must be treated as untrusted input.
func ReadSerialization(sigPath string) (Serialization, error) {
	f, err := os.Open(sigPath)
	if err != nil {
		return Serialization{}, err
	}
	defer f.Close()
	raw, err := io.ReadAll(io.LimitReader(f, maxBundle+1))
	if err != nil {
		return Serialization{}, err
	}
	if len(raw) > maxBundle {
		return Serialization{}, fmt.Errorf("%s: larger than a signature can be", sigPath)
	}
	var b bundle
	if err := json.Unmarshal(raw, &b); err != nil {
		return Serialization{}, fmt.Errorf("%s: not a Sigstore bundle: %w", sigPath, err)
	}
	payload, err := base64.StdEncoding.DecodeString(b.DSSEEnvelope.Payload)
	if err != nil {
		return Serialization{}, fmt.Errorf("%s: payload is not base64: %w", sigPath, err)
	}
	var st statement
	if err := json.Unmarshal(payload, &st); err != nil {
		return Serialization{}, fmt.Errorf("%s: the statement is not valid JSON: %w", sigPath, err)
	}
	return st.Predicate.Serialization, nil
}
