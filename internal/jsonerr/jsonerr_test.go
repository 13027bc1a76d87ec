package jsonerr

import (
	"strings"
	"testing"
	"time"

	"github.com/go-json-experiment/json"
)

type shaped struct{}

func (*shaped) UnmarshalJSON([]byte) error { return Shape("must be a string or a list of them") }

type target struct {
	Count  int64     `json:"count"`
	Tags   []string  `json:"tags"`
	When   time.Time `json:"when"`
	Nested struct {
		Items []struct {
			Size uint8 `json:"size"`
		} `json:"items"`
	} `json:"nested"`
	Odd shaped `json:"odd"`
}

func TestDescribe(t *testing.T) {
	for _, tc := range []struct {
		in, code, field, msg string
	}{
		{`{"count":"3"}`, CodeInvalidField, "count", "count must be an integer, got a string"},
		{`{"count":1e40}`, CodeInvalidField, "count", "count must be an integer, got 1e40"},
		{`{"tags":"a"}`, CodeInvalidField, "tags", "tags must be an array, got a string"},
		{`{"when":"yesterday"}`, CodeInvalidField, "when", "when must be a time (RFC 3339"},
		{`{"nested":{"items":[{"size":-1}]}}`, CodeInvalidField, "nested.items[0].size", "nested.items[0].size must be a non-negative integer, got -1"},
		{`{"odd":1}`, CodeInvalidField, "odd", "odd must be a string or a list of them"},
		{`{"count":1,"count":2}`, CodeDuplicateKey, "count", `duplicate key "count"`},
		{`{"nope":1}`, CodeUnknownField, "nope", `unknown field "nope"`},
		{`[1]`, CodeInvalidJSON, "", "the body must be a JSON object"},
		{`{"count":`, CodeInvalidJSON, "", "the body is not valid JSON at byte"},
	} {
		var v target
		err := json.Unmarshal([]byte(tc.in), &v, json.RejectUnknownMembers(true))
		if err == nil {
			t.Fatalf("%s decoded", tc.in)
		}
		p := Describe(err)
		if p.Code != tc.code || p.Field != tc.field || !strings.Contains(p.Message, tc.msg) || strings.Contains(p.Message, "Go type") {
			t.Errorf("%s: %+v, want %s %q %q", tc.in, p, tc.code, tc.field, tc.msg)
		}
	}
}
