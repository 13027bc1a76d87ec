package classifier

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// KServe queries a classifier over the KServe v2 (Open Inference
// Protocol) REST API: the gateway, or a model server directly.
type KServe struct {
	// URL is the server root that /v2/models/... follows.
	URL   string
	Model string
	Key   string // sent as a bearer token when set
	// Input is the input tensor's name and Datatype its type (default
	// FP32); Describe fills Input from the model's metadata.
	Input    string
	Datatype string
	// LabelOutput and ScoreOutput name the outputs to read; empty picks
	// the first integer output as labels and the first floating-point
	// output as scores. Without labels, the highest score is the label.
	LabelOutput, ScoreOutput string
	Client                   *http.Client
	// MaxWait bounds the time spent waiting out rate limits (429 with
	// Retry-After) in one attack (default one minute; see NewAttack);
	// beyond it a query fails with ErrThrottled.
	MaxWait time.Duration
	waited  time.Duration // since NewAttack
	batch   int           // the most inputs sent in a request

	// Requests, Throttled and Waited count HTTP requests, 429 answers and
	// the time spent waiting after them.
	Requests, Throttled int
	Waited              time.Duration
}

// ErrThrottled is returned when rate limits held the attack back longer
// than MaxWait.
var ErrThrottled = errors.New("rate limited for longer than the attack may wait")

// Metadata is what the model says about itself.
type Metadata struct {
	Input    string
	Datatype string
	Features int // the input's last dimension; 0 when not given
}

// maxAnswer bounds what is read of an answer.
const maxAnswer = 16 << 20

func (k *KServe) modelURL() string {
	return strings.TrimSuffix(k.URL, "/") + "/v2/models/" + url.PathEscape(k.Model)
}

func (k *KServe) do(ctx context.Context, method, u string, body []byte) (int, []byte, error) {
	client := k.Client
	if client == nil {
		client = &http.Client{Timeout: time.Minute}
	}
	maxWait := k.MaxWait
	if maxWait == 0 {
		maxWait = time.Minute
	}
	retries := 0
	for {
		var rd io.Reader
		if body != nil {
			rd = bytes.NewReader(body)
		}
		req, err := http.NewRequestWithContext(ctx, method, u, rd)
		if err != nil {
			return 0, nil, err
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("User-Agent", "modelgate-redteam")
		if k.Key != "" {
			req.Header.Set("Authorization", "Bearer "+k.Key)
		}
		k.Requests++
		resp, err := client.Do(req)
		if err != nil {
			// A server that answers before reading the whole body (a
			// rate limiter's early 429) can break the pipe under a
			// large request: an inference is safe to send again.
			if retries++; retries <= 3 && ctx.Err() == nil {
				time.Sleep(time.Duration(retries) * 100 * time.Millisecond)
				continue
			}
			return 0, nil, err
		}
		raw, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
		resp.Body.Close()
		if err != nil {
			return 0, nil, err
		}
		if resp.StatusCode != http.StatusTooManyRequests {
			return resp.StatusCode, raw, nil
		}
		k.Throttled++
		wait := time.Second
		if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && s >= 0 {
			wait = time.Duration(s) * time.Second
		}
		wait = max(wait, 50*time.Millisecond)
		if k.waited+wait > maxWait {
			return resp.StatusCode, raw, ErrThrottled
		}
		select {
		case <-time.After(wait):
			k.Waited += wait
			k.waited += wait
		case <-ctx.Done():
			return 0, nil, ctx.Err()
		}
	}
}

// NewAttack starts a new allowance of MaxWait for the next attack.
func (k *KServe) NewAttack() { k.waited = 0 }

// Describe reads the model's metadata and fills Input and Datatype when
// they are not set.
func (k *KServe) Describe(ctx context.Context) (Metadata, error) {
	status, raw, err := k.do(ctx, http.MethodGet, k.modelURL(), nil)
	if err != nil {
		return Metadata{}, fmt.Errorf("%s metadata: %w", k.Model, err)
	}
	if status != http.StatusOK {
		return Metadata{}, fmt.Errorf("%s metadata: status %d: %s", k.Model, status, snippet(raw))
	}
	var doc struct {
		Inputs []struct {
			Name     string `json:"name"`
			Datatype string `json:"datatype"`
			Shape    []int  `json:"shape"`
		} `json:"inputs"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil || len(doc.Inputs) == 0 {
		return Metadata{}, fmt.Errorf("%s metadata: no inputs described", k.Model)
	}
	in := doc.Inputs[0]
	m := Metadata{Input: in.Name, Datatype: in.Datatype}
	if len(in.Shape) > 0 && in.Shape[len(in.Shape)-1] > 0 {
		m.Features = in.Shape[len(in.Shape)-1]
	}
	if k.Input == "" {
		k.Input = m.Input
	}
	if k.Datatype == "" {
		k.Datatype = m.Datatype
	}
	return m, nil
}

// maxBatch is the most inputs sent in one request: a batch is one
// request to a gateway's rate limiter, but a very large one risks the
// server's body limit.
const maxBatch = 100

// errBatch is an answer refusing a batch as too large.
var errBatch = errors.New("batch too large")

// Query asks about inputs, up to maxBatch to a request, fewer when the
// endpoint refuses a batch as too large (modelgate's max_batch): the
// attacker learns the cap and goes on within it.
func (k *KServe) Query(ctx context.Context, xs [][]float64) ([]Output, error) {
	if k.batch == 0 {
		k.batch = maxBatch
	}
	var out []Output
	for start := 0; start < len(xs); {
		end := min(len(xs), start+k.batch)
		part, err := k.query(ctx, xs[start:end])
		if errors.Is(err, errBatch) && end-start > 1 {
			k.batch = max(1, (end-start)/2)
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, part...)
		start = end
	}
	return out, nil
}

func (k *KServe) query(ctx context.Context, xs [][]float64) ([]Output, error) {
	if k.Input == "" {
		return nil, errors.New("the input tensor's name is not known: set it or read the model's metadata first")
	}
	dt := k.Datatype
	if dt == "" {
		dt = "FP32"
	}
	body, err := json.Marshal(map[string]any{"inputs": []any{map[string]any{
		"name": k.Input, "datatype": dt, "shape": []int{len(xs), len(xs[0])}, "data": xs}}})
	if err != nil {
		return nil, err
	}
	status, raw, err := k.do(ctx, http.MethodPost, k.modelURL()+"/infer", body)
	if err != nil {
		return nil, err
	}
	if status == http.StatusBadRequest && bytes.Contains(raw, []byte("batch_too_large")) {
		return nil, fmt.Errorf("%s infer: %w: %s", k.Model, errBatch, snippet(raw))
	}
	if status != http.StatusOK {
		return nil, fmt.Errorf("%s infer: status %d: %s", k.Model, status, snippet(raw))
	}
	return k.parse(raw, len(xs))
}

// parse reads an inference answer for n inputs.
func (k *KServe) parse(raw []byte, n int) ([]Output, error) {
	var doc struct {
		Outputs []struct {
			Name     string          `json:"name"`
			Datatype string          `json:"datatype"`
			Data     json.RawMessage `json:"data"`
		} `json:"outputs"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		return nil, fmt.Errorf("%s infer: the answer is not JSON: %w", k.Model, err)
	}
	var labels, scores []float64
	for _, o := range doc.Outputs {
		isFloat := strings.HasPrefix(o.Datatype, "FP")
		want := (k.LabelOutput == "" && !isFloat && labels == nil) || o.Name == k.LabelOutput
		wantScores := (k.ScoreOutput == "" && isFloat && scores == nil) || o.Name == k.ScoreOutput
		if !want && !wantScores {
			continue
		}
		vals, err := numbers(o.Data)
		if err != nil {
			return nil, fmt.Errorf("%s infer: output %q: %w", k.Model, o.Name, err)
		}
		if want {
			labels = vals
		} else {
			scores = vals
		}
	}
	if labels == nil && scores == nil {
		return nil, fmt.Errorf("%s infer: the answer has no label or score output", k.Model)
	}
	if labels != nil && len(labels) != n {
		return nil, fmt.Errorf("%s infer: %d labels for %d inputs", k.Model, len(labels), n)
	}
	if scores != nil && (len(scores) == 0 || len(scores)%n != 0) {
		return nil, fmt.Errorf("%s infer: %d scores for %d inputs", k.Model, len(scores), n)
	}
	out := make([]Output, n)
	for i := range out {
		if scores != nil {
			w := len(scores) / n
			if w == 1 {
				// One probability per input: of the positive class.
				out[i].Scores = []float64{1 - scores[i], scores[i]}
			} else {
				out[i].Scores = scores[i*w : (i+1)*w]
			}
			out[i].Label = argmax(out[i].Scores)
		}
		if labels != nil {
			out[i].Label = int(labels[i])
		}
	}
	return out, nil
}

// numbers flattens a tensor's data.
func numbers(raw json.RawMessage) ([]float64, error) {
	var flat []float64
	if json.Unmarshal(raw, &flat) == nil {
		return flat, nil
	}
	var nested []json.RawMessage
	if err := json.Unmarshal(raw, &nested); err != nil {
		return nil, errors.New("data is not an array of numbers")
	}
	for _, r := range nested {
		inner, err := numbers(r)
		if err != nil {
			return nil, err
		}
		flat = append(flat, inner...)
	}
	return flat, nil
}

func snippet(b []byte) string {
	s := strings.TrimSpace(string(b))
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}
