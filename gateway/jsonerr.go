package gateway

import (
	"errors"
	"net/http"
	"reflect"
	"strconv"
	"strings"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
)

// decodeStrict unmarshals a request body. The decoder rejects duplicate
// object keys and invalid UTF-8 and matches keys case-sensitively: a body
// the gateway reads one way must not be read another way by the upstream
// (`{"model":"allowed","model":"denied"}` is refused, not guessed at).
func decodeStrict(body []byte, v any) *Refusal {
	if err := json.Unmarshal(body, v); err != nil {
		return jsonRefusal(err)
	}
	return nil
}

// shapeError is returned by custom decoders when a value has the wrong
// shape; the message reads after the field's name ("must be ...").
type shapeError string

func (e shapeError) Error() string { return string(e) }

// jsonRefusal turns a decoding error into a 400 that names the field.
func jsonRefusal(err error) *Refusal {
	var se *json.SemanticError
	if errors.As(err, &se) {
		field := fieldPath(se.JSONPointer)
		var syn *jsontext.SyntacticError
		if errors.As(se.Err, &syn) {
			return syntaxRefusal(syn)
		}
		if field == "" {
			return refusal(http.StatusBadRequest, TypeInvalidRequest, "invalid_json",
				"request body must be a JSON object")
		}
		var shape shapeError
		if errors.As(se.Err, &shape) {
			return refusal(http.StatusBadRequest, TypeInvalidRequest, "invalid_field", "%s %s", field, string(shape))
		}
		got := describeKind(se.JSONKind)
		if se.JSONKind == '0' && len(se.JSONValue) > 0 && len(se.JSONValue) <= 32 {
			got = string(se.JSONValue) // a number of the right kind but out of range
		}
		return refusal(http.StatusBadRequest, TypeInvalidRequest, "invalid_field",
			"%s must be %s, got %s", field, jsonKindOf(se.GoType), got)
	}
	var syn *jsontext.SyntacticError
	if errors.As(err, &syn) {
		return syntaxRefusal(syn)
	}
	return refusal(http.StatusBadRequest, TypeInvalidRequest, "invalid_json", "request body is not valid JSON: %v", err)
}

func syntaxRefusal(syn *jsontext.SyntacticError) *Refusal {
	if errors.Is(syn.Err, jsontext.ErrDuplicateName) {
		return refusal(http.StatusBadRequest, TypeInvalidRequest, "duplicate_key",
			"duplicate key %s: every key may appear only once in an object", quoteField(fieldPath(syn.JSONPointer)))
	}
	return refusal(http.StatusBadRequest, TypeInvalidRequest, "invalid_json",
		"request body is not valid JSON at byte %d: %v", syn.ByteOffset, syn.Err)
}

func quoteField(f string) string {
	if f == "" {
		return "at the top level"
	}
	return strconv.Quote(f)
}

// fieldPath renders a JSON Pointer the way OpenAI's errors name fields:
// /messages/2/content becomes messages[2].content.
func fieldPath(p jsontext.Pointer) string {
	var b strings.Builder
	for tok := range p.Tokens() {
		if _, err := strconv.Atoi(tok); err == nil && b.Len() > 0 {
			b.WriteString("[" + tok + "]")
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('.')
		}
		b.WriteString(tok)
	}
	return b.String()
}

func jsonKindOf(t reflect.Type) string {
	if t == nil {
		return "a different type"
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "a boolean"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return "an integer"
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "a non-negative integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.Struct, reflect.Map:
		return "an object"
	}
	return "a different type"
}

func describeKind(k jsontext.Kind) string {
	switch k {
	case 'n':
		return "null"
	case 'f', 't':
		return "a boolean"
	case '"':
		return "a string"
	case '0':
		return "a number"
	case '{':
		return "an object"
	case '[':
		return "an array"
	}
	return "an invalid value"
}
