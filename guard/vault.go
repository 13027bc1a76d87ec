package guard

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"strings"
)

// Vault holds the placeholders of one request: masking the same value twice
// gives the same placeholder, and Restore puts the values back into the
// model's answer. A Vault lives as long as its request and is not safe for
// concurrent use.
type Vault struct {
	byValue  map[string]string // entity+"\x00"+value -> placeholder
	byHolder map[string]string
	counts   map[string]int
	// Key keys the Hash action's pseudonyms; without it Hash falls back to
	// redaction (a pseudonym without a key would be a guessable digest).
	Key []byte
}

// placeholder returns the placeholder for a value, making one if needed.
func (v *Vault) placeholder(entity, value string) string {
	if v.byValue == nil {
		v.byValue, v.byHolder, v.counts = map[string]string{}, map[string]string{}, map[string]int{}
	}
	k := entity + "\x00" + value
	if p, ok := v.byValue[k]; ok {
		return p
	}
	v.counts[entity]++
	p := "<" + entity + "_" + strconv.Itoa(v.counts[entity]) + ">"
	v.byValue[k], v.byHolder[p] = p, value
	return p
}

// Len returns the number of placeholders issued.
func (v *Vault) Len() int { return len(v.byHolder) }

// pseudonym returns the keyed pseudonym of a value: the same value and key
// give the same pseudonym in every request, so records can still be joined,
// but it cannot be reversed or guessed without the key.
func (v *Vault) pseudonym(entity, value string) string {
	if len(v.Key) == 0 {
		return "<" + entity + ">"
	}
	m := hmac.New(sha256.New, v.Key)
	m.Write([]byte(entity))
	m.Write([]byte{0})
	m.Write([]byte(value))
	return "<" + entity + "_" + hex.EncodeToString(m.Sum(nil)[:8]) + ">"
}

// Restore replaces every placeholder this vault issued with its value.
func (v *Vault) Restore(s string) string {
	if len(v.byHolder) == 0 || !strings.Contains(s, "<") {
		return s
	}
	var b strings.Builder
	for {
		i := strings.IndexByte(s, '<')
		if i < 0 {
			break
		}
		j := strings.IndexByte(s[i:], '>')
		if j < 0 {
			break
		}
		if val, ok := v.byHolder[s[i:i+j+1]]; ok {
			b.WriteString(s[:i])
			b.WriteString(val)
		} else {
			b.WriteString(s[:i+1])
			j = 0
		}
		s = s[i+j+1:]
	}
	if b.Len() == 0 {
		return s
	}
	b.WriteString(s)
	return b.String()
}

// MaxPlaceholder is the longest placeholder a Vault writes; a stream must
// hold back at least this much to restore one split across events.
const MaxPlaceholder = 48
