// Package sarifschema validates SARIF logs against the SARIF 2.1.0 JSON
// schema, offline, for the tests of every command that writes SARIF.
//
// sarif-2.1.0.json is the schema of SARIF 2.1.0 (its last release
// candidate, 2.1.0-rtm.5, which the OASIS standard adopted), as shipped in
// the npm package @microsoft/jest-sarif 1.0.0-beta.0 under the MIT
// licence; see README.md beside it.
package sarifschema

import (
	"bytes"
	_ "embed"
	"errors"
	"fmt"
	"sync"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

//go:embed sarif-2.1.0.json
var schemaJSON []byte

var compiled = sync.OnceValues(func() (*jsonschema.Schema, error) {
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(schemaJSON))
	if err != nil {
		return nil, err
	}
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	const url = "https://json.schemastore.org/sarif-2.1.0.json"
	if err := c.AddResource(url, doc); err != nil {
		return nil, err
	}
	return c.Compile(url)
})

// Validate returns an error describing every way log breaks the schema.
func Validate(log []byte) error {
	s, err := compiled()
	if err != nil {
		return fmt.Errorf("sarif schema: %w", err)
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(log))
	if err != nil {
		return fmt.Errorf("not JSON: %w", err)
	}
	if err := s.Validate(doc); err != nil {
		var ve *jsonschema.ValidationError
		if errors.As(err, &ve) {
			return fmt.Errorf("%#v", ve) // every failing keyword, with its place
		}
		return err
	}
	return nil
}
