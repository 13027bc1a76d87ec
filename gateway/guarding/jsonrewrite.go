package guarding

import (
	"bytes"
	"errors"
	"io"
	"strings"

	"github.com/go-json-experiment/json/jsontext"
)

// rewriteJSON returns a JSON document with the string values at the JSON
// Pointers in repl replaced, the raw values in prepend inserted at the
// start of the arrays at their pointers (or raw members at the start of
// objects), and the members matching the
// patterns in drop (see matchPointer) set to null. It reads the document
// once and splices the original bytes, so everything else is kept exactly
// as the caller sent it and nothing is re-encoded.
func rewriteJSON(body []byte, repl map[string]string, prepend map[string][]byte, drop []string) ([]byte, error) {
	type edit struct {
		start, end int // bytes of body replaced (start == end: an insertion)
		with       []byte
	}
	var edits []edit
	dec := jsontext.NewDecoder(bytes.NewReader(body))
	for {
		tok, err := dec.ReadToken()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		switch tok.Kind() {
		case '"':
			// In an object an odd count means the token was a member name.
			if k, n := dec.StackIndex(dec.StackDepth()); k == '{' && n%2 == 1 {
				if drop != nil && droppable(tok.String(), drop) && dropped(string(dec.StackPointer()), drop) {
					v, err := dec.ReadValue()
					if err != nil {
						return nil, err
					}
					end := int(dec.InputOffset())
					edits = append(edits, edit{end - len(v), end, []byte("null")})
				}
				continue
			}
			s, ok := repl[string(dec.StackPointer())]
			if !ok {
				continue
			}
			end := int(dec.InputOffset())
			start := openingQuote(body, end)
			if start < 0 {
				return nil, errors.New("cannot locate a string in the document")
			}
			quoted, err := jsontext.AppendQuote(nil, strings.ToValidUTF8(s, "\uFFFD"))
			if err != nil {
				return nil, err
			}
			edits = append(edits, edit{start, end, quoted})
		case '[', '{':
			v, ok := prepend[string(dec.StackPointer())]
			if !ok {
				continue
			}
			at := int(dec.InputOffset())
			with := append([]byte(nil), v...)
			if k := dec.PeekKind(); k != ']' && k != '}' {
				with = append(with, ',')
			}
			edits = append(edits, edit{at, at, with})
		}
	}
	if len(edits) == 0 {
		return body, nil
	}
	out := make([]byte, 0, len(body)+64)
	pos := 0
	for _, e := range edits {
		out = append(append(out, body[pos:e.start]...), e.with...)
		pos = e.end
	}
	return append(out, body[pos:]...), nil
}

// droppable reports whether a member name ends one of the patterns, a
// cheap test before the member's pointer is built.
func droppable(name string, patterns []string) bool {
	for _, p := range patterns {
		if strings.HasSuffix(p, "/"+name) {
			return true
		}
	}
	return false
}

func dropped(ptr string, patterns []string) bool {
	for _, p := range patterns {
		if matchPointer(ptr, p) {
			return true
		}
	}
	return false
}

// openingQuote returns the offset of the quote that opens the string whose
// closing quote ends just before end: the nearest earlier quote that is not
// escaped (not preceded by an odd run of backslashes).
func openingQuote(b []byte, end int) int {
	for i := end - 2; i >= 0; i-- {
		if b[i] != '"' {
			continue
		}
		n := 0
		for j := i - 1; j >= 0 && b[j] == '\\'; j-- {
			n++
		}
		if n%2 == 0 {
			return i
		}
	}
	return -1
}
