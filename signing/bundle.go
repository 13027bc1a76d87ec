package signing

import (
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
)

// Identifiers of the format.
const (
	BundleMediaType      = "application/vnd.dev.sigstore.bundle.v0.3+json"
	PayloadType          = "application/vnd.in-toto+json"
	StatementType        = "https://in-toto.io/Statement/v1"
	PredicateType        = "https://model_signing/signature/v1.0"
	DefaultSignatureName = "model.sig"
)

// statement is the in-toto Statement a model signature carries.
type statement struct {
	Type          string    `json:"_type"`
	Subject       []subject `json:"subject"`
	PredicateType string    `json:"predicateType"`
	Predicate     predicate `json:"predicate"`
}

type subject struct {
	Name   string            `json:"name"`
	Digest map[string]string `json:"digest"`
}

type predicate struct {
	Resources     []Resource    `json:"resources"`
	Serialization Serialization `json:"serialization"`
}

type bundle struct {
	MediaType            string               `json:"mediaType"`
	VerificationMaterial verificationMaterial `json:"verificationMaterial"`
	DSSEEnvelope         envelope             `json:"dsseEnvelope"`
}

type verificationMaterial struct {
	PublicKey            *publicKey       `json:"publicKey,omitempty"`
	X509CertificateChain *certificateList `json:"x509CertificateChain,omitempty"`
	TlogEntries          []any            `json:"tlogEntries,omitempty"`
}

type publicKey struct {
	Hint     string `json:"hint,omitempty"`
	RawBytes string `json:"rawBytes,omitempty"` // before v1.1.0
}

type certificateList struct {
	Certificates []struct {
		RawBytes string `json:"rawBytes"`
	} `json:"certificates"`
}

type envelope struct {
	Payload     string      `json:"payload"`
	PayloadType string      `json:"payloadType"`
	Signatures  []signature `json:"signatures"`
}

type signature struct {
	Sig   string  `json:"sig"`
	KeyID *string `json:"keyid,omitempty"`
}

// pae is DSSE's pre-authentication encoding: what is signed.
func pae(payloadType string, payload []byte) []byte {
	b := []byte("DSSEv1 " + strconv.Itoa(len(payloadType)) + " " + payloadType + " " + strconv.Itoa(len(payload)) + " ")
	return append(b, payload...)
}

// SignOptions choose how a model is signed.
type SignOptions struct {
	Key *ecdsa.PrivateKey
	// CertChain, when set, signs with the certificate method: the leaf
	// certificate (of Key) first, then intermediates, as PEM files.
	CertChain []string
	// Signature is where the bundle goes; default model.sig beside the
	// model (inside a model directory, and then left out of the manifest).
	Signature string
	Shards    bool // hash in shards of DefaultShardSize
	Ignore    []string
}

// Sign hashes the model at root and writes its signature bundle, and
// returns the path written.
func Sign(root string, o SignOptions) (string, error) {
	sigPath := o.Signature
	if sigPath == "" {
		if fi, err := os.Stat(root); err == nil && fi.IsDir() {
			sigPath = filepath.Join(root, DefaultSignatureName)
		} else {
			sigPath = root + ".sig"
		}
	}
	ser := Serialization{Method: "files", HashType: "sha256", IgnorePaths: append(append([]string{}, DefaultIgnore...), o.Ignore...)}
	if o.Shards {
		ser.Method, ser.ShardSize = "shards", DefaultShardSize
	}
	if rel, ok := inside(root, sigPath); ok {
		ser.IgnorePaths = append(ser.IgnorePaths, rel)
	}
	m, err := BuildManifest(root, ser)
	if err != nil {
		return "", err
	}
	if len(m.Resources) == 0 {
		return "", errors.New("the model has no files to sign")
	}
	rootDigest, err := m.Root()
	if err != nil {
		return "", err
	}
	st := statement{Type: StatementType, Subject: []subject{{Name: m.Name, Digest: map[string]string{"sha256": rootDigest}}},
		PredicateType: PredicateType, Predicate: predicate{Resources: m.Resources, Serialization: ser}}
	payload, err := json.Marshal(st)
	if err != nil {
		return "", err
	}
	digest := hashFor(o.Key.Curve)()
	digest.Write(pae(PayloadType, payload))
	sig, err := ecdsa.SignASN1(rand.Reader, o.Key, digest.Sum(nil))
	if err != nil {
		return "", err
	}
	empty := ""
	b := bundle{MediaType: BundleMediaType, DSSEEnvelope: envelope{Payload: base64.StdEncoding.EncodeToString(payload), PayloadType: PayloadType,
		Signatures: []signature{{Sig: base64.StdEncoding.EncodeToString(sig), KeyID: &empty}}}}
	if len(o.CertChain) > 0 {
		list := &certificateList{}
		for _, p := range o.CertChain {
			certs, err := ReadCertificates(p)
			if err != nil {
				return "", err
			}
			for _, c := range certs {
				list.Certificates = append(list.Certificates, struct {
					RawBytes string `json:"rawBytes"`
				}{base64.StdEncoding.EncodeToString(c.Raw)})
			}
		}
		leaf, err := x509.ParseCertificate(mustDecode(list.Certificates[0].RawBytes))
		if err != nil {
			return "", err
		}
		if pub, ok := leaf.PublicKey.(*ecdsa.PublicKey); !ok || !pub.Equal(&o.Key.PublicKey) {
			return "", errors.New("the first certificate of the chain is not the signing key's")
		}
		b.VerificationMaterial.X509CertificateChain = list
	} else {
		hint, err := KeyHint(&o.Key.PublicKey)
		if err != nil {
			return "", err
		}
		b.VerificationMaterial.PublicKey = &publicKey{Hint: hint}
	}
	out, err := json.MarshalIndent(b, "", "  ")
	if err != nil {
		return "", err
	}
	return sigPath, os.WriteFile(sigPath, append(out, '\n'), 0o644)
}

func mustDecode(s string) []byte {
	b, _ := base64.StdEncoding.DecodeString(s)
	return b
}

// ReadCertificates reads every PEM certificate of a file.
func ReadCertificates(path string) ([]*x509.Certificate, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var out []*x509.Certificate
	for block, rest := pem.Decode(b); block != nil; block, rest = pem.Decode(rest) {
		if block.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		out = append(out, c)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: no PEM certificate found", path)
	}
	return out, nil
}

// inside reports whether path lies inside the model directory root, and
// its model-relative name.
func inside(root, path string) (string, bool) {
	fi, err := os.Stat(root)
	if err != nil || !fi.IsDir() {
		return "", false
	}
	absRoot, err1 := filepath.Abs(root)
	absPath, err2 := filepath.Abs(path)
	if err1 != nil || err2 != nil {
		return "", false
	}
	rel, err := filepath.Rel(absRoot, absPath)
	if err != nil || rel == "." || rel == ".." || len(rel) > 2 && rel[:3] == ".."+string(filepath.Separator) {
		return "", false
	}
	return filepath.ToSlash(rel), true
}
