package gateway

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/modelgate/modelgate/store"
)

const inferBody = `{"inputs":[{"name":"features","shape":[2,4],"datatype":"FP32","data":[[1.9,0.1,1.7,1.8],[0.1,1.9,0.2,0.1]]}]}`

type inferResult struct {
	Outputs []struct {
		Name  string    `json:"name"`
		Shape []int     `json:"shape"`
		Data  []float64 `json:"data"`
	} `json:"outputs"`
	ModelName string `json:"model_name"`
}

func decodeInfer(t *testing.T, r response) inferResult {
	t.Helper()
	if r.StatusCode != 200 {
		t.Fatalf("%d %s", r.StatusCode, r.body)
	}
	var res inferResult
	if err := json.Unmarshal(r.body, &res); err != nil {
		t.Fatal(err)
	}
	return res
}

// TestOutputControls: a classifier route that keeps only the label, or
// rounds its scores, answers with that and nothing finer; the members it
// does not control pass as sent.
func TestOutputControls(t *testing.T) {
	h := newHarness(t)
	key, _ := h.key(nil)
	one := 1
	h.route(&store.Route{Model: "labels-only", Protocol: store.ProtocolKServeV2, Outputs: &store.OutputControls{Keep: []string{"label"}},
		Upstream: store.Upstream{URL: h.clf.URL, Model: "demo-classifier"}})
	h.route(&store.Route{Model: "coarse", Protocol: store.ProtocolKServeV2, Outputs: &store.OutputControls{Decimals: &one},
		Upstream: store.Upstream{URL: h.clf.URL, Model: "demo-classifier"}})

	full := decodeInfer(t, h.do("POST", "/v2/models/demo-classifier/infer", key, inferBody))
	if len(full.Outputs) != 2 || full.Outputs[0].Data[0] == 1 || full.Outputs[0].Data[0]*10 == float64(int(full.Outputs[0].Data[0]*10)) {
		t.Fatalf("uncontrolled: %+v", full)
	}
	labels := decodeInfer(t, h.do("POST", "/v2/models/labels-only/infer", key, inferBody))
	if len(labels.Outputs) != 1 || labels.Outputs[0].Name != "label" || labels.Outputs[0].Data[0] != 1 || labels.Outputs[0].Data[1] != 0 {
		t.Errorf("labels only: %+v", labels)
	}
	if labels.ModelName != "demo-classifier" {
		t.Errorf("the other members were not kept: %+v", labels)
	}
	coarse := decodeInfer(t, h.do("POST", "/v2/models/coarse/infer", key, inferBody))
	for i, p := range coarse.Outputs[0].Data {
		if p*10 != float64(int(p*10+0.5)) || p-full.Outputs[0].Data[i] > 0.05 || full.Outputs[0].Data[i]-p > 0.05 {
			t.Errorf("rounded score %d: %v from %v", i, p, full.Outputs[0].Data[i])
		}
	}
}

// TestOutputControlsFailClosed: an answer the controls cannot be applied
// to is withheld, whether it is malformed or sent as a stream.
func TestOutputControlsFailClosed(t *testing.T) {
	h := newHarness(t)
	key, _ := h.key(nil)
	for _, answer := range []struct{ ctype, body string }{
		{"application/json", `{"outputs":[{"name":"probability","datatype":"FP64","shape":[1],"data":[0.123456,{"x":1}]}]}`},
		{"application/json", `not json`},
		{"application/json", `{"model_name":"x"}`},
		{"text/event-stream", "data: {\"outputs\":[{\"name\":\"probability\",\"datatype\":\"FP64\",\"shape\":[1],\"data\":[0.123456]}]}\n\n"},
	} {
		up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", answer.ctype)
			w.Write([]byte(answer.body))
		}))
		zero := 0
		h.route(&store.Route{Model: "odd", Protocol: store.ProtocolKServeV2, Outputs: &store.OutputControls{Decimals: &zero}, Upstream: store.Upstream{URL: up.URL}})
		r := h.do("POST", "/v2/models/odd/infer", key, inferBody)
		if r.StatusCode == 200 || strings.Contains(string(r.body), "0.123456") {
			t.Errorf("%q: %d %s", answer.body, r.StatusCode, r.body)
		}
		up.Close()
	}
}

func TestKeepTop(t *testing.T) {
	two := 2
	out, err := controlOutputs([]byte(`{"id":"a","outputs":[{"name":"scores","datatype":"FP32","shape":[2,3],"data":[[0.1,0.7,0.2],[0.5,0.25,0.25]]},{"name":"label","datatype":"INT64","shape":[2],"data":[1,0]}]}`),
		&store.OutputControls{TopK: 1, Decimals: &two})
	if err != nil {
		t.Fatal(err)
	}
	want := `{"outputs":[{"name":"scores","shape":[2,3],"datatype":"FP32","data":[0,0.7,0,0.5,0,0]},{"name":"label","shape":[2],"datatype":"INT64","data":[1,0]}],"id":"a"}`
	if string(out) != want {
		t.Errorf("got  %s\nwant %s", out, want)
	}
}

func TestOutputsValidation(t *testing.T) {
	bad := -1
	for _, r := range []*store.Route{
		{Model: "c", Protocol: store.ProtocolOpenAI, Upstream: store.Upstream{URL: "http://x"}, Outputs: &store.OutputControls{Keep: []string{"label"}}},
		{Model: "c", Protocol: store.ProtocolKServeV2, Upstream: store.Upstream{URL: "http://x"}, Outputs: &store.OutputControls{Decimals: &bad}},
		{Model: "c", Protocol: store.ProtocolKServeV2, Upstream: store.Upstream{URL: "http://x"}, Outputs: &store.OutputControls{TopK: -2}},
	} {
		if ValidateRoute(r) == nil {
			t.Errorf("accepted %+v", r.Outputs)
		}
	}
}

func FuzzControlOutputs(f *testing.F) {
	f.Add([]byte(`{"outputs":[{"name":"p","datatype":"FP64","shape":[2,2],"data":[[0.1,0.9],[0.6,0.4]]}]}`))
	f.Add([]byte(`{"outputs":[{"name":"p","datatype":"FP64","shape":[0],"data":[]}]}`))
	three := 3
	c := &store.OutputControls{Decimals: &three, TopK: 1, Keep: []string{"p"}}
	f.Fuzz(func(t *testing.T, b []byte) {
		out, err := controlOutputs(b, c)
		if err == nil && !json.Valid(out) {
			t.Fatalf("invalid JSON out: %s", out)
		}
	})
}

// TestMaxBatch: a classifier route with a batch cap refuses a request
// with more inputs than it, however the shape spells them, and serves one
// within it.
func TestMaxBatch(t *testing.T) {
	h := newHarness(t)
	key, _ := h.key(nil)
	h.route(&store.Route{Model: "capped", Protocol: store.ProtocolKServeV2, MaxBatch: 2, Upstream: store.Upstream{URL: h.clf.URL, Model: "demo-classifier"}})
	if r := h.do("POST", "/v2/models/capped/infer", key, inferBody); r.StatusCode != 200 {
		t.Fatalf("two inputs: %d %s", r.StatusCode, r.body)
	}
	three := `{"inputs":[{"name":"features","shape":[3,4],"datatype":"FP32","data":[1,1,1,1,0,0,0,0,1,0,1,0]}]}`
	wantError(t, h.do("POST", "/v2/models/capped/infer", key, three), http.StatusBadRequest, "invalid_request_error", "batch_too_large")
	if r := h.do("POST", "/v2/models/demo-classifier/infer", key, three); r.StatusCode != 200 {
		t.Fatalf("an uncapped route: %d %s", r.StatusCode, r.body)
	}
	if ValidateRoute(&store.Route{Model: "c", Protocol: store.ProtocolOpenAI, MaxBatch: 2, Upstream: store.Upstream{URL: "http://x"}}) == nil {
		t.Error("a chat route took max_batch")
	}
}
