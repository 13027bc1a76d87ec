// Package mask de-identifies tables column by column before the data
// reaches a model: redaction, keyed pseudonyms that stay the same across
// files (so joins survive), generalisation (dates to their year,
// postcodes to their district), removal of whole columns, and redaction
// of the personal data and credentials found inside free text.
package mask

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/modelgate/modelgate/guard"
	"github.com/modelgate/modelgate/guard/pii"
	"github.com/modelgate/modelgate/guard/secrets"
)

// Actions.
const (
	Redact     = "redact"     // the value becomes REDACTED
	Hash       = "hash"       // a keyed pseudonym: HMAC-SHA-256, 32 hex digits
	Generalise = "generalise" // dates to their year, postcodes to their district
	Drop       = "drop"       // the column is removed
	Entities   = "entities"   // personal data and credentials inside the text are redacted
)

// Valid reports whether a is an action.
func Valid(a string) bool {
	switch a {
	case Redact, Hash, Generalise, Drop, Entities:
		return true
	}
	return false
}

// Masker applies actions to values.
type Masker struct {
	// Key keys the pseudonyms; the same key gives the same pseudonym for
	// the same value in every file. Hash needs one.
	Key []byte

	pii     pii.Detector
	secrets *secrets.Detector
}

// ErrNoKey is returned for Hash without a key.
var ErrNoKey = errors.New("the hash action needs a key (at least 16 bytes)")

// Apply returns the masked form of a non-null value.
func (m *Masker) Apply(action, v string) (string, error) {
	switch action {
	case Redact:
		return "REDACTED", nil
	case Hash:
		if len(m.Key) < 16 {
			return "", ErrNoKey
		}
		mac := hmac.New(sha256.New, m.Key)
		mac.Write([]byte(v))
		return hex.EncodeToString(mac.Sum(nil)[:16]), nil
	case Generalise:
		return generalise(v), nil
	case Entities:
		return m.entities(v)
	}
	return "", fmt.Errorf("unknown action %q", action)
}

func (m *Masker) entities(v string) (string, error) {
	if m.secrets == nil {
		d, err := secrets.New()
		if err != nil {
			return "", err
		}
		m.secrets = d
	}
	texts := guard.NewTexts([]guard.Segment{{Text: v}})
	var fs []guard.Finding
	collect := func(f guard.Finding) {
		if f.Score >= 0.5 {
			f.Action = guard.RedactIt
			fs = append(fs, f)
		}
	}
	m.pii.Detect(texts[0], collect)
	m.secrets.Detect(texts[0], collect)
	if len(fs) == 0 {
		return v, nil
	}
	guard.Rewrite(texts, fs, nil)
	return texts[0].Text, nil
}

var (
	dateLike    = regexp.MustCompile(`^(\d{4})-\d{2}-\d{2}(?:[T ][0-9:.]+(?:Z|[+-]\d{2}:?\d{2})?)?$`)
	slashDate   = regexp.MustCompile(`^\d{1,2}[/.]\d{1,2}[/.](\d{4})$`)
	ukPostcode  = regexp.MustCompile(`(?i)^([A-Z]{1,2}\d[A-Z\d]?) ?\d[A-Z]{2}$`)
	usZip       = regexp.MustCompile(`^(\d{3})\d{2}(?:-\d{4})?$`)
	otherPostal = regexp.MustCompile(`^\d{4,6}$`)
)

// generalise keeps the coarse part of a date or postcode: the year; a UK
// postcode's outward code; the first three digits of a US ZIP code (the
// HIPAA Safe Harbor form); the first two digits of other numeric
// postcodes. Anything else keeps its first two characters.
func generalise(v string) string {
	s := strings.TrimSpace(v)
	switch {
	case dateLike.MatchString(s):
		return dateLike.FindStringSubmatch(s)[1]
	case slashDate.MatchString(s):
		return slashDate.FindStringSubmatch(s)[1]
	case ukPostcode.MatchString(s):
		return strings.ToUpper(ukPostcode.FindStringSubmatch(s)[1])
	case usZip.MatchString(s):
		return usZip.FindStringSubmatch(s)[1] + "XX"
	case otherPostal.MatchString(s):
		return s[:2] + strings.Repeat("X", len(s)-2)
	}
	r := []rune(s)
	if len(r) <= 2 {
		return strings.Repeat("*", len(r))
	}
	return string(r[:2]) + "*"
}
