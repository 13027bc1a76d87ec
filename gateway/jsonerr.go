package gateway

import (
	"net/http"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
	"github.com/modelgate/modelgate/internal/jsonerr"
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
type shapeError = jsonerr.Shape

// jsonRefusal turns a decoding error into a 400 that names the field.
func jsonRefusal(err error) *Refusal {
	p := jsonerr.Describe(err)
	return refusal(http.StatusBadRequest, TypeInvalidRequest, p.Code, "%s", p.Message)
}

// fieldPath renders a JSON Pointer as OpenAI's errors name fields.
func fieldPath(p jsontext.Pointer) string { return jsonerr.FieldPath(p) }
