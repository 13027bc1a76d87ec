// Package cdxschema validates CycloneDX BOMs against the CycloneDX 1.6
// JSON schema, offline, for the tests of everything that writes a BOM.
//
// bom-1.6.schema.json, spdx.schema.json and jsf-0.82.schema.json are the
// schemas published by the CycloneDX project (Apache-2.0) in its
// specification repository; the BOM schema references the other two.
package cdxschema

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"sync"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

//go:embed *.schema.json
var schemas embed.FS

var compiled = sync.OnceValues(func() (*jsonschema.Schema, error) {
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	for _, name := range []string{"bom-1.6.schema.json", "spdx.schema.json", "jsf-0.82.schema.json"} {
		b, err := schemas.ReadFile(name)
		if err != nil {
			return nil, err
		}
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		if err := c.AddResource("http://cyclonedx.org/schema/"+name, doc); err != nil {
			return nil, err
		}
	}
	return c.Compile("http://cyclonedx.org/schema/bom-1.6.schema.json")
})

// Validate returns an error describing every way bom breaks the schema.
func Validate(bom []byte) error {
	s, err := compiled()
	if err != nil {
		return fmt.Errorf("cyclonedx schema: %w", err)
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(bom))
	if err != nil {
		return fmt.Errorf("not JSON: %w", err)
	}
	if err := s.Validate(doc); err != nil {
		var ve *jsonschema.ValidationError
		if errors.As(err, &ve) {
			return fmt.Errorf("%#v", ve)
		}
		return err
	}
	return nil
}
