package modelscan

import (
	"testing"
)

const benignKeras = `{"module": "keras", "class_name": "Sequential", "config": {"name": "seq", "layers": [
 {"module": "keras.layers", "class_name": "InputLayer", "config": {"batch_shape": [null, 4]}},
 {"module": "keras.layers", "class_name": "Dense", "config": {"units": 2, "activation": "relu"}}]}}`

// nestedLambda hides a Lambda inside a model inside a model.
const nestedLambda = `{"module": "keras", "class_name": "Functional", "config": {"name": "outer", "layers": [
 {"module": "keras", "class_name": "Functional", "config": {"name": "inner", "layers": [
  {"module": "keras.layers", "class_name": "Lambda", "config": {"name": "evil", "function": {"class_name": "__lambda__", "config": {"code": "4wEAAAAAAAAA..."}}}}]}}]}}`

const foreignModule = `{"module": "keras", "class_name": "Sequential", "config": {"layers": [
 {"module": "os", "class_name": "system", "config": {}}]}}`

const unsafeFlag = `{"module": "keras", "class_name": "Sequential", "config": {"layers": [], "enable_unsafe_deserialization": true}}`

func kerasZip(t *testing.T, config string) []byte {
	return zipOf(t, map[string][]byte{"metadata.json": []byte(`{"keras_version": "3.5.0"}`), "config.json": []byte(config),
		"model.weights.h5": []byte("\x89HDF\r\n\x1a\n")}, "metadata.json", "config.json", "model.weights.h5")
}

func h5With(config string) []byte {
	b := []byte("\x89HDF\r\n\x1a\n")
	b = append(b, make([]byte, 300)...)
	b = append(b, "model_config\x00\x00\x00"...)
	b = append(b, config...)
	return append(b, make([]byte, 100)...)
}

func TestKeras(t *testing.T) {
	if ids, _, _ := scan(t, "model.keras", kerasZip(t, benignKeras)); len(ids) != 0 {
		t.Errorf("benign .keras: %v", ids)
	}
	if ids, _, _ := scan(t, "model.h5", h5With(benignKeras)); len(ids) != 0 {
		t.Errorf("benign .h5: %v", ids)
	}
	for _, tc := range []struct {
		name, config, rule string
	}{
		{"nested lambda", nestedLambda, "MS602"},
		{"foreign module", foreignModule, "MS603"},
		{"unsafe flag", unsafeFlag, "MS604"},
	} {
		for _, file := range []struct {
			name string
			b    []byte
		}{{"model.keras", kerasZip(t, tc.config)}, {"model.h5", h5With(tc.config)}} {
			ids, sev, _ := scan(t, file.name, file.b)
			if !has(ids, tc.rule) {
				t.Errorf("%s in %s: %v", tc.name, file.name, ids)
			}
			if tc.rule == "MS603" && sev.String() != "critical" {
				t.Errorf("os.system through a Keras module: severity %v", sev)
			}
		}
	}
	if ids, _, _ := scan(t, "broken.keras", kerasZip(t, `{"layers": [`)); !has(ids, "MS601") {
		t.Errorf("broken config: %v", ids)
	}
}
