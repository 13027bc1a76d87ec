package cdxschema

import "testing"

func TestValidate(t *testing.T) {
	good := `{"bomFormat":"CycloneDX","specVersion":"1.6","version":1,"components":[{"type":"machine-learning-model","name":"m"}]}`
	if err := Validate([]byte(good)); err != nil {
		t.Fatalf("a minimal BOM is refused: %v", err)
	}
	for name, bad := range map[string]string{
		"unknown component type": `{"bomFormat":"CycloneDX","specVersion":"1.6","version":1,"components":[{"type":"robot","name":"m"}]}`,
		"no name":                `{"bomFormat":"CycloneDX","specVersion":"1.6","version":1,"components":[{"type":"data"}]}`,
		"not JSON":               `{`,
	} {
		if Validate([]byte(bad)) == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
