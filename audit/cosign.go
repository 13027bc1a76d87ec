package audit

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Cosignatures follow C2SP tlog-cosignature/v1 with Ed25519: a witness
// signs "cosignature/v1\ntime <unix seconds>\n" followed by the
// checkpoint's body, and the note signature is the 8-byte big-endian
// timestamp followed by the 64-byte signature. The key id is the first
// four bytes of SHA-256(name || "\n" || 0x04 || public key). The signed
// note package (golang.org/x/mod/sumdb/note) knows only its own
// algorithm 0x01, so the 0x04 keys are implemented here; both satisfy its
// Signer and Verifier interfaces.

// cosignatureAlg is the signature type byte of tlog-cosignature/v1.
const cosignatureAlg = 0x04

func cosignatureKeyHash(name string, pub ed25519.PublicKey) uint32 {
	h := sha256.New()
	h.Write([]byte(name + "\n"))
	h.Write([]byte{cosignatureAlg})
	h.Write(pub)
	return binary.BigEndian.Uint32(h.Sum(nil)[:4])
}

func cosignedMessage(ts uint64, body []byte) []byte {
	msg := fmt.Appendf(nil, "cosignature/v1\ntime %d\n", ts)
	return append(msg, body...)
}

// Cosigner signs cosignatures; it implements note.Signer.
type Cosigner struct {
	name string
	key  ed25519.PrivateKey
	hash uint32
	now  func() time.Time
}

// Name returns the witness's name.
func (c *Cosigner) Name() string { return c.name }

// KeyHash returns the key id.
func (c *Cosigner) KeyHash() uint32 { return c.hash }

// Sign returns the timestamped signature of a checkpoint body.
func (c *Cosigner) Sign(body []byte) ([]byte, error) {
	now := time.Now
	if c.now != nil {
		now = c.now
	}
	ts := uint64(now().Unix())
	sig := binary.BigEndian.AppendUint64(nil, ts)
	return append(sig, ed25519.Sign(c.key, cosignedMessage(ts, body))...), nil
}

// CosignatureVerifier checks cosignatures; it implements note.Verifier.
type CosignatureVerifier struct {
	name string
	pub  ed25519.PublicKey
	hash uint32
}

// Name returns the witness's name.
func (v *CosignatureVerifier) Name() string { return v.name }

// KeyHash returns the key id.
func (v *CosignatureVerifier) KeyHash() uint32 { return v.hash }

// Verify reports whether sig is a cosignature of body.
func (v *CosignatureVerifier) Verify(body, sig []byte) bool {
	if len(sig) != 8+ed25519.SignatureSize {
		return false
	}
	ts := binary.BigEndian.Uint64(sig[:8])
	if ts > 1<<63-1 {
		return false
	}
	return ed25519.Verify(v.pub, cosignedMessage(ts, body), sig[8:])
}

// Time returns the time a cosignature was made, or false when sig is not
// one.
func CosignatureTime(sig []byte) (time.Time, bool) {
	if len(sig) != 8+ed25519.SignatureSize {
		return time.Time{}, false
	}
	return time.Unix(int64(binary.BigEndian.Uint64(sig[:8])), 0), true
}

// GenerateCosigner makes a witness key pair named name and returns the
// private key ("PRIVATE+KEY+<name>+<hash>+<base64>") and the verifier key
// ("<name>+<hash>+<base64>", a C2SP vkey of type 0x04).
func GenerateCosigner(name string) (skey, vkey string, err error) {
	if name == "" || strings.ContainsAny(name, "+ \n") {
		return "", "", fmt.Errorf("witness name %q must be non-empty, without spaces or +", name)
	}
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return "", "", err
	}
	hash := fmt.Sprintf("%08x", cosignatureKeyHash(name, pub))
	skey = "PRIVATE+KEY+" + name + "+" + hash + "+" + base64.StdEncoding.EncodeToString(append([]byte{cosignatureAlg}, priv.Seed()...))
	vkey = name + "+" + hash + "+" + base64.StdEncoding.EncodeToString(append([]byte{cosignatureAlg}, pub...))
	return skey, vkey, nil
}

// NewCosigner parses a private key from GenerateCosigner.
func NewCosigner(skey string) (*Cosigner, error) {
	rest, ok := strings.CutPrefix(strings.TrimSpace(skey), "PRIVATE+KEY+")
	if !ok {
		return nil, errors.New("witness key: not a private key (PRIVATE+KEY+name+hash+key)")
	}
	name, hash, raw, err := splitKey(rest)
	if err != nil {
		return nil, fmt.Errorf("witness key: %w", err)
	}
	if len(raw) != 1+ed25519.SeedSize || raw[0] != cosignatureAlg {
		return nil, errors.New("witness key: not a tlog-cosignature/v1 Ed25519 key")
	}
	priv := ed25519.NewKeyFromSeed(raw[1:])
	c := &Cosigner{name: name, key: priv, hash: cosignatureKeyHash(name, priv.Public().(ed25519.PublicKey))}
	if c.hash != hash {
		return nil, errors.New("witness key: the key hash does not match the key")
	}
	return c, nil
}

// NewCosignatureVerifier parses a witness's verifier key (a C2SP vkey of
// type 0x04).
func NewCosignatureVerifier(vkey string) (*CosignatureVerifier, error) {
	name, hash, raw, err := splitKey(strings.TrimSpace(vkey))
	if err != nil {
		return nil, fmt.Errorf("witness verifier key: %w", err)
	}
	if len(raw) != 1+ed25519.PublicKeySize || raw[0] != cosignatureAlg {
		return nil, errors.New("witness verifier key: not a tlog-cosignature/v1 Ed25519 key")
	}
	pub := ed25519.PublicKey(raw[1:])
	v := &CosignatureVerifier{name: name, pub: pub, hash: cosignatureKeyHash(name, pub)}
	if v.hash != hash {
		return nil, errors.New("witness verifier key: the key hash does not match the key")
	}
	return v, nil
}

// splitKey parses "name+hash+base64". Names hold no '+'; base64 may.
func splitKey(s string) (name string, hash uint32, raw []byte, err error) {
	name, rest, ok := strings.Cut(s, "+")
	hashText, enc, ok2 := strings.Cut(rest, "+")
	if !ok || !ok2 || name == "" {
		return "", 0, nil, errors.New("want name+hash+key")
	}
	h, err := strconv.ParseUint(hashText, 16, 32)
	if err != nil || len(hashText) != 8 {
		return "", 0, nil, errors.New("the key hash is not 8 hex digits")
	}
	raw, err = base64.StdEncoding.DecodeString(enc)
	if err != nil {
		return "", 0, nil, errors.New("the key is not base64")
	}
	return name, uint32(h), raw, nil
}
