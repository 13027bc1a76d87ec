package demo

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"net/http"
	"strings"
)

// Features are the classifier's inputs, in order: a toy fraud model that
// scores a card transaction.
var Features = []string{"amount_norm", "hour_deviation", "distance_norm", "merchant_risk"}

// Classifier is a logistic-regression model trained when it is created on
// data it generates from a fixed seed, served over the KServe v2 (Open
// Inference Protocol) REST API: health, metadata, readiness and infer.
type Classifier struct {
	name    string
	weights []float64
	bias    float64

	// TrainAccuracy and TestAccuracy are measured on the generated data
	// (80/20 split).
	TrainAccuracy, TestAccuracy float64

	data Split
}

// Split is the data a classifier was trained and tested on: its members
// and non-members, for membership inference exercises.
type Split struct {
	Train, Test   [][]float64
	TrainY, TestY []float64
}

// NewClassifier trains a classifier. The same name always yields the same
// model.
func NewClassifier(name string) *Classifier {
	if name == "" {
		name = "demo-classifier"
	}
	rng := rand.New(rand.NewPCG(20261121, 7))
	// The hidden rule the data follows; training has to recover it.
	trueW, trueB := []float64{1.8, -0.6, 1.2, 2.0}, -3.5
	const n = 1000
	xs := make([][]float64, n)
	ys := make([]float64, n)
	for i := range xs {
		x := make([]float64, len(trueW))
		for j := range x {
			x[j] = 2 * rng.Float64()
		}
		xs[i] = x
		if rng.Float64() < sigmoid(dot(trueW, x)+trueB) {
			ys[i] = 1
		}
	}
	split := n * 8 / 10
	c := &Classifier{name: name, weights: make([]float64, len(trueW))}
	c.train(xs[:split], ys[:split], 3000, 0.5)
	c.TrainAccuracy = c.accuracy(xs[:split], ys[:split])
	c.TestAccuracy = c.accuracy(xs[split:], ys[split:])
	c.data = Split{Train: xs[:split], Test: xs[split:], TrainY: ys[:split], TestY: ys[split:]}
	return c
}

// Data returns the records the classifier was trained and tested on.
func (c *Classifier) Data() Split { return c.data }

// train runs full-batch gradient descent on the log loss.
func (c *Classifier) train(xs [][]float64, ys []float64, epochs int, rate float64) {
	grad := make([]float64, len(c.weights))
	for range epochs {
		clear(grad)
		var gb float64
		for i, x := range xs {
			e := c.Predict(x) - ys[i]
			for j := range grad {
				grad[j] += e * x[j]
			}
			gb += e
		}
		m := float64(len(xs))
		for j := range c.weights {
			c.weights[j] -= rate * grad[j] / m
		}
		c.bias -= rate * gb / m
	}
}

func (c *Classifier) accuracy(xs [][]float64, ys []float64) float64 {
	right := 0
	for i, x := range xs {
		if (c.Predict(x) >= 0.5) == (ys[i] == 1) {
			right++
		}
	}
	return float64(right) / float64(len(xs))
}

// Predict returns the probability of the positive class.
func (c *Classifier) Predict(x []float64) float64 { return sigmoid(dot(c.weights, x) + c.bias) }

func sigmoid(z float64) float64 { return 1 / (1 + math.Exp(-z)) }

func dot(a, b []float64) float64 {
	var s float64
	for i := range a {
		s += a[i] * b[i]
	}
	return s
}

// ServeHTTP implements http.Handler.
func (c *Classifier) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// rest is what follows /v2/models/{name}[/versions/1].
	rest, isModel := strings.CutPrefix(r.URL.Path, "/v2/models/"+c.name)
	if v, ok := strings.CutPrefix(rest, "/versions/1"); ok {
		rest = v
	}
	isModel = isModel && (rest == "" || strings.HasPrefix(rest, "/"))
	switch {
	case r.URL.Path == "/v2/health/live" && r.Method == http.MethodGet:
		writeJSON(w, map[string]bool{"live": true})
	case r.URL.Path == "/v2/health/ready" && r.Method == http.MethodGet:
		writeJSON(w, map[string]bool{"ready": true})
	case !isModel:
		v2Error(w, http.StatusNotFound, "unknown model or endpoint: "+r.URL.Path)
	case rest == "" && r.Method == http.MethodGet:
		writeJSON(w, map[string]any{
			"name": c.name, "versions": []string{"1"}, "platform": "modelgate-demo",
			"inputs": []any{map[string]any{"name": "features", "datatype": "FP32", "shape": []int{-1, len(Features)}}},
			"outputs": []any{
				map[string]any{"name": "probability", "datatype": "FP64", "shape": []int{-1}},
				map[string]any{"name": "label", "datatype": "INT64", "shape": []int{-1}},
			},
			"parameters": map[string]any{"features": Features, "train_accuracy": c.TrainAccuracy, "test_accuracy": c.TestAccuracy},
		})
	case rest == "/ready" && r.Method == http.MethodGet:
		writeJSON(w, map[string]bool{"ready": true})
	case rest == "/infer" && r.Method == http.MethodPost:
		c.infer(w, r)
	default:
		v2Error(w, http.StatusNotFound, "unknown endpoint: "+r.Method+" "+r.URL.Path)
	}
}

type tensor struct {
	Name     string          `json:"name"`
	Shape    []int           `json:"shape"`
	Datatype string          `json:"datatype"`
	Data     json.RawMessage `json:"data"`
}

func (c *Classifier) infer(w http.ResponseWriter, r *http.Request) {
	var req struct {
		ID     string   `json:"id"`
		Inputs []tensor `json:"inputs"`
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		v2Error(w, http.StatusBadRequest, "invalid JSON: "+err.Error())
		return
	}
	rows, err := c.rows(req.Inputs)
	if err != nil {
		v2Error(w, http.StatusBadRequest, err.Error())
		return
	}
	probs := make([]float64, len(rows))
	labels := make([]int, len(rows))
	for i, x := range rows {
		probs[i] = c.Predict(x)
		if probs[i] >= 0.5 {
			labels[i] = 1
		}
	}
	writeJSON(w, map[string]any{
		"model_name": c.name, "model_version": "1", "id": req.ID,
		"outputs": []any{
			map[string]any{"name": "probability", "datatype": "FP64", "shape": []int{len(rows)}, "data": probs},
			map[string]any{"name": "label", "datatype": "INT64", "shape": []int{len(rows)}, "data": labels},
		},
	})
}

// rows reads the "features" input: shape [n, 4] (or [4] for one row), data
// flat or nested.
func (c *Classifier) rows(inputs []tensor) ([][]float64, error) {
	var in *tensor
	for i := range inputs {
		if inputs[i].Name == "features" {
			in = &inputs[i]
		}
	}
	if in == nil {
		return nil, fmt.Errorf("input \"features\" is required")
	}
	if in.Datatype != "FP32" && in.Datatype != "FP64" {
		return nil, fmt.Errorf("features: datatype must be FP32 or FP64")
	}
	var flat []float64
	if err := json.Unmarshal(in.Data, &flat); err != nil {
		var nested [][]float64
		if err := json.Unmarshal(in.Data, &nested); err != nil {
			return nil, fmt.Errorf("features: data must be numbers, flat or nested")
		}
		flat = flat[:0] // the failed flat decode may have filled it partly
		for _, row := range nested {
			flat = append(flat, row...)
		}
	}
	k := len(Features)
	n := 1
	switch {
	case len(in.Shape) == 2 && in.Shape[1] == k:
		n = in.Shape[0]
	case len(in.Shape) == 1 && in.Shape[0] == k:
	default:
		return nil, fmt.Errorf("features: shape must be [n, %d]", k)
	}
	if len(flat) != n*k {
		return nil, fmt.Errorf("features: %d values do not fill shape %v", len(flat), in.Shape)
	}
	rows := make([][]float64, n)
	for i := range rows {
		rows[i] = flat[i*k : (i+1)*k]
	}
	return rows, nil
}

func v2Error(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]string{"error": msg})
}
