package audit

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"sync"

	"github.com/modelgate/modelgate/store"
)

// Capture modes, per route and direction (see store.Capture).
const (
	CaptureFull     = store.CaptureFull
	CaptureRedacted = store.CaptureRedacted
	CaptureHash     = store.CaptureHash
	CaptureNone     = store.CaptureNone
)

// Payload kinds.
const (
	PayloadInput  = "input"
	PayloadOutput = "output"
)

// Payload is a body to commit to in an event.
type Payload struct {
	Kind string // input or output
	Mode string // full, redacted or hash
	Data []byte
}

// sealed is a payload ready to store: its salt, and the bytes when the
// mode keeps them.
type sealed struct {
	kind string
	salt []byte
	data []byte
}

// salts generates payload salts: ChaCha8 keyed from crypto/rand, a
// cryptographically strong generator that costs nanoseconds where a
// system call per salt cost microseconds on every request. Salts must be
// unpredictable (so that an erased payload cannot be guessed back from its
// digest), not secret from the process itself.
var salts = struct {
	sync.Mutex
	r *mrand.ChaCha8
}{r: newSaltSource()}

func newSaltSource() *mrand.ChaCha8 {
	var seed [32]byte
	rand.Read(seed[:])
	return mrand.NewChaCha8(seed)
}

func newSalt() []byte {
	salt := make([]byte, 16)
	salts.Lock()
	salts.r.Read(salt)
	salts.Unlock()
	return salt
}

// seal salts and digests a payload. The digest commits to the content
// without revealing it; with the salt erased, even someone who can guess
// the content cannot link it to the digest.
func seal(p Payload) (*PayloadRef, sealed) {
	salt := newSalt()
	ref := &PayloadRef{Mode: p.Mode, SHA256: saltedDigest(salt, p.Data), Size: int64(len(p.Data))}
	s := sealed{kind: p.Kind, salt: salt}
	if p.Mode != CaptureHash {
		s.data = p.Data
		if s.data == nil {
			s.data = []byte{}
		}
	}
	return ref, s
}

func saltedDigest(salt, data []byte) string {
	h := sha256.New()
	h.Write(salt)
	h.Write(data)
	var sum [sha256.Size]byte
	var out [2 * sha256.Size]byte
	hex.Encode(out[:], h.Sum(sum[:0]))
	return string(out[:])
}

// CheckPayload reports whether data is the payload a stored salt and a
// leaf's digest commit to.
func CheckPayload(ref *PayloadRef, salt, data []byte) bool {
	return ref != nil && saltedDigest(salt, data) == ref.SHA256
}

// ErrPayloadMismatch is StoredOutput's error for stored bytes that do not
// match the digest the log committed to.
var ErrPayloadMismatch = errors.New("its stored contents do not match the digest the log committed to")

// StoredOutput returns an event's stored output payload (a document such
// as an inventory snapshot or a red-team run) once it is checked against
// the digest the event commits to; nil when it was erased (the digest
// remains) or never kept.
func StoredOutput(ev *Event, l *store.AuditLeaf) ([]byte, error) {
	if l.Output == nil || l.Output.Data == nil {
		return nil, nil
	}
	if ev.Payloads.Output == nil || !CheckPayload(ev.Payloads.Output, l.Output.Salt, l.Output.Data) {
		return nil, fmt.Errorf("event %d: %w", l.Index, ErrPayloadMismatch)
	}
	return l.Output.Data, nil
}
