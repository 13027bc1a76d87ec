package gateway

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"strings"
	"unicode"

	"github.com/go-json-experiment/json/jsontext"
)

// Many model servers decode JSON case-insensitively: Go's encoding/json
// (and so Ollama and others) matches "MODEL", "Model" and "moDel" to a
// field named model, and folds under Unicode simple case folding, so
// "meſſages" (long s) is "messages" and "\u212Aey" (Kelvin sign) is "key".
// The gateway decodes case-sensitively. A body holding both "model" and
// "MODEL" would be routed, authorised and audited by one and served by the
// other, and guards would read one copy while the model read the other.
// checkFoldedNames refuses such bodies, at every depth, rather than guess
// which member an upstream will take: a body the gateway accepts means the
// same thing to every decoder it may reach.
func checkFoldedNames(body []byte) *Refusal {
	dec := jsontext.NewDecoder(bytes.NewReader(body))
	// names[d] holds the member names of the object open at depth d (nil
	// for an array).
	var names []*memberNames
	for {
		tok, err := dec.ReadToken()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return nil // decodeStrict has reported syntax errors already
		}
		switch tok.Kind() {
		case '{':
			names = append(names, &memberNames{})
			continue
		case '[':
			names = append(names, nil)
			continue
		case '}', ']':
			names = names[:len(names)-1]
			continue
		case '"':
		default:
			continue
		}
		k, n := dec.StackIndex(dec.StackDepth())
		if k != '{' || n%2 != 1 {
			continue // a string value
		}
		d := len(names) - 1
		name := tok.String()
		if other, ok := names[d].add(name); ok {
			ptr := string(dec.StackPointer())
			parent := fieldPath(jsontext.Pointer(ptr[:strings.LastIndexByte(ptr, '/')]))
			where := "at the top level"
			if parent != "" {
				where = "in " + parent
			}
			return refusal(http.StatusBadRequest, TypeInvalidRequest, "ambiguous_key",
				"members %q and %q %s differ only in letter case; model servers that match names case-insensitively would read one where the gateway reads the other, so send each name once, spelled exactly",
				other, name, where)
		}
	}
}

// maxPairwise is the object size up to which names are compared pairwise;
// larger objects (rare in requests) index their names by folded key.
const maxPairwise = 16

// memberNames are the names seen so far in one open object.
type memberNames struct {
	list   []string
	folded map[string]string // folded key -> name, once list outgrows maxPairwise
}

// add records name and reports a name already seen that equals it under
// simple case folding (strings.EqualFold, the rule encoding/json matches
// by). Exact duplicates are refused by the strict decoder before this runs.
func (m *memberNames) add(name string) (string, bool) {
	if m.folded == nil {
		for _, s := range m.list {
			if strings.EqualFold(s, name) {
				return s, true
			}
		}
		m.list = append(m.list, name)
		if len(m.list) > maxPairwise {
			m.folded = make(map[string]string, 2*len(m.list))
			for _, s := range m.list {
				m.folded[foldKey(s)] = s
			}
		}
		return "", false
	}
	k := foldKey(name)
	if s, ok := m.folded[k]; ok {
		return s, true
	}
	m.folded[k] = name
	return "", false
}

// foldKey maps a string to one representative of its case-folding class:
// each rune becomes the smallest rune of its simple folding orbit, so two
// strings are strings.EqualFold exactly when their keys are equal.
func foldKey(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		min := r
		for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
			if f < min {
				min = f
			}
		}
		b.WriteRune(min)
	}
	return b.String()
}
