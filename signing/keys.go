package signing

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"hash"
	"os"
	"path/filepath"
)

// LoadPrivateKey reads an ECDSA private key in PEM, PKCS#8 or SEC1.
func LoadPrivateKey(path string) (*ecdsa.PrivateKey, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	for block, rest := pem.Decode(b); block != nil; block, rest = pem.Decode(rest) {
		switch block.Type {
		case "PRIVATE KEY":
			k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", path, err)
			}
			ec, ok := k.(*ecdsa.PrivateKey)
			if !ok {
				return nil, fmt.Errorf("%s: a %T key; model signing needs ECDSA P-256, P-384 or P-521", path, k)
			}
			return ec, checkCurve(ec.Curve)
		case "EC PRIVATE KEY":
			ec, err := x509.ParseECPrivateKey(block.Bytes)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", path, err)
			}
			return ec, checkCurve(ec.Curve)
		case "ENCRYPTED PRIVATE KEY":
			return nil, fmt.Errorf("%s: encrypted keys are not supported; decrypt it first (openssl pkcs8)", path)
		}
	}
	return nil, fmt.Errorf("%s: no PEM private key found", path)
}

// LoadPublicKey reads an ECDSA public key in PEM (SubjectPublicKeyInfo).
func LoadPublicKey(path string) (*ecdsa.PublicKey, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	for block, rest := pem.Decode(b); block != nil; block, rest = pem.Decode(rest) {
		if block.Type != "PUBLIC KEY" {
			continue
		}
		k, err := x509.ParsePKIXPublicKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		ec, ok := k.(*ecdsa.PublicKey)
		if !ok {
			return nil, fmt.Errorf("%s: a %T key; model signing needs ECDSA P-256, P-384 or P-521", path, k)
		}
		return ec, checkCurve(ec.Curve)
	}
	return nil, fmt.Errorf("%s: no PEM public key found", path)
}

func checkCurve(c elliptic.Curve) error {
	switch c {
	case elliptic.P256(), elliptic.P384(), elliptic.P521():
		return nil
	}
	return errors.New("the key's curve is not P-256, P-384 or P-521")
}

// hashFor is the hash ECDSA uses over the PAE for a curve: SHA-256 for
// P-256, SHA-384 for P-384, SHA-512 for P-521.
func hashFor(c elliptic.Curve) func() hash.Hash {
	switch c {
	case elliptic.P384():
		return sha512.New384
	case elliptic.P521():
		return sha512.New
	}
	return sha256.New
}

// canonicalPEM is the public key's SPKI in PEM with 64-character lines and
// a final newline: the bytes whose SHA-256 is the bundle's key hint.
func canonicalPEM(pub *ecdsa.PublicKey) ([]byte, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), nil
}

// KeyHint returns the lowercase hex SHA-256 of the key's canonical PEM.
func KeyHint(pub *ecdsa.PublicKey) (string, error) {
	b, err := canonicalPEM(pub)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:]), nil
}

// Keygen writes a new ECDSA key pair into dir: private.pem (PKCS#8, mode
// 0600) and public.pem.
func Keygen(dir string, curve elliptic.Curve) (priv, pub string, err error) {
	if err := checkCurve(curve); err != nil {
		return "", "", err
	}
	k, err := ecdsa.GenerateKey(curve, rand.Reader)
	if err != nil {
		return "", "", err
	}
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		return "", "", err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", "", err
	}
	priv, pub = filepath.Join(dir, "private.pem"), filepath.Join(dir, "public.pem")
	if _, err := os.Stat(priv); err == nil {
		return "", "", fmt.Errorf("%s exists; not overwriting a key", priv)
	}
	if err := os.WriteFile(priv, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		return "", "", err
	}
	pb, err := canonicalPEM(&k.PublicKey)
	if err != nil {
		return "", "", err
	}
	return priv, pub, os.WriteFile(pub, pb, 0o644)
}
