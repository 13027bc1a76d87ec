// Package jsonerr describes JSON decoding errors for people: the field in
// the notation APIs use (messages[2].content, limits.rpm), and what is
// wrong in JSON's terms ("must be an integer, got a string"), never in Go's
// ("cannot unmarshal JSON string into Go type int64"). The gateway and the
// admin API both answer with it.
package jsonerr

import (
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
)

// Error codes, as the APIs report them.
const (
	CodeInvalidJSON  = "invalid_json"  // not JSON, or not an object
	CodeInvalidField = "invalid_field" // a value of the wrong type or shape
	CodeDuplicateKey = "duplicate_key" // a member named twice
	CodeUnknownField = "unknown_field" // a member the schema does not have
)

// Shape is the error a custom decoder returns for a value of the wrong
// shape; its text reads after the field's name ("must be a string or an
// array of content parts").
type Shape string

func (e Shape) Error() string { return string(e) }

// Problem is a decoding error, described.
type Problem struct {
	Code    string
	Field   string // "" for the document as a whole
	Message string // a sentence naming the field
}

// Describe describes an error from json.Unmarshal (go-json-experiment).
func Describe(err error) Problem {
	var se *json.SemanticError
	if errors.As(err, &se) {
		field := FieldPath(se.JSONPointer)
		var syn *jsontext.SyntacticError
		if errors.As(se.Err, &syn) {
			return syntax(syn)
		}
		if errors.Is(se.Err, json.ErrUnknownName) {
			return Problem{CodeUnknownField, field, "unknown field " + strconv.Quote(field)}
		}
		if field == "" {
			return Problem{CodeInvalidJSON, "", "the body must be a JSON object"}
		}
		var shape Shape
		if errors.As(se.Err, &shape) {
			return Problem{CodeInvalidField, field, field + " " + string(shape)}
		}
		got := kindName(se.JSONKind)
		if se.JSONKind == '0' && len(se.JSONValue) > 0 && len(se.JSONValue) <= 32 {
			got = string(se.JSONValue) // a number of the right kind but out of range
		}
		return Problem{CodeInvalidField, field, fmt.Sprintf("%s must be %s, got %s", field, typeName(se.GoType), got)}
	}
	var syn *jsontext.SyntacticError
	if errors.As(err, &syn) {
		return syntax(syn)
	}
	return Problem{CodeInvalidJSON, "", "the body is not valid JSON: " + err.Error()}
}

func syntax(syn *jsontext.SyntacticError) Problem {
	if errors.Is(syn.Err, jsontext.ErrDuplicateName) {
		field := FieldPath(syn.JSONPointer)
		return Problem{CodeDuplicateKey, field, fmt.Sprintf("duplicate key %s: every key may appear only once in an object", quoteField(field))}
	}
	return Problem{CodeInvalidJSON, "", fmt.Sprintf("the body is not valid JSON at byte %d: %v", syn.ByteOffset, syn.Err)}
}

func quoteField(f string) string {
	if f == "" {
		return "at the top level"
	}
	return strconv.Quote(f)
}

// FieldPath renders a JSON Pointer the way OpenAI's errors name fields:
// /messages/2/content becomes messages[2].content.
func FieldPath(p jsontext.Pointer) string {
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

// typeName names the JSON a Go type takes.
func typeName(t reflect.Type) string {
	if t == nil {
		return "a different type"
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.PkgPath() == "time" && t.Name() == "Time" {
		return "a time (RFC 3339, such as 2026-12-03T10:00:00Z)"
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

func kindName(k jsontext.Kind) string {
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
