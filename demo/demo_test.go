package demo

import (
	"bufio"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestClassifierLearns(t *testing.T) {
	c := NewClassifier("")
	if c.TrainAccuracy < 0.75 || c.TestAccuracy < 0.75 {
		t.Fatalf("accuracy train %.2f test %.2f: training did not work", c.TrainAccuracy, c.TestAccuracy)
	}
	// The hidden rule raises risk with amount and merchant risk.
	if lo, hi := c.Predict([]float64{0.1, 1, 0.1, 0.1}), c.Predict([]float64{1.9, 0, 1.9, 1.9}); lo > 0.2 || hi < 0.8 {
		t.Fatalf("low-risk %.2f, high-risk %.2f", lo, hi)
	}
	again := NewClassifier("")
	if again.TestAccuracy != c.TestAccuracy {
		t.Fatal("training is not deterministic")
	}
}

func TestClassifierInfer(t *testing.T) {
	srv := httptest.NewServer(NewClassifier("clf"))
	defer srv.Close()
	for _, path := range []string{"/v2/models/clf/infer", "/v2/models/clf/versions/1/infer"} {
		resp, err := http.Post(srv.URL+path, "application/json", strings.NewReader(
			`{"id":"r1","inputs":[{"name":"features","shape":[2,4],"datatype":"FP32","data":[[0.1,1,0.1,0.1],[1.9,0,1.9,1.9]]}]}`))
		if err != nil {
			t.Fatal(err)
		}
		var out struct {
			ID      string `json:"id"`
			Outputs []struct {
				Name string            `json:"name"`
				Data []json.RawMessage `json:"data"`
			} `json:"outputs"`
		}
		json.NewDecoder(resp.Body).Decode(&out)
		resp.Body.Close()
		if resp.StatusCode != 200 || out.ID != "r1" || len(out.Outputs) != 2 || string(out.Outputs[1].Data[0]) != "0" || string(out.Outputs[1].Data[1]) != "1" {
			t.Fatalf("%s: %d %+v", path, resp.StatusCode, out)
		}
	}
	for path, want := range map[string]int{"/v2/models/clf": 200, "/v2/models/clf/ready": 200, "/v2/models/clfx": 404, "/v2/health/ready": 200} {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("GET %s: %d, want %d", path, resp.StatusCode, want)
		}
	}
	resp, _ := http.Post(srv.URL+"/v2/models/clf/infer", "application/json", strings.NewReader(
		`{"inputs":[{"name":"features","shape":[1,3],"datatype":"FP32","data":[1,2,3]}]}`))
	resp.Body.Close()
	if resp.StatusCode != 400 {
		t.Errorf("bad shape: %d", resp.StatusCode)
	}
}

func TestChatEchoAndStream(t *testing.T) {
	srv := httptest.NewServer(&ChatModel{})
	defer srv.Close()
	body := `{"model":"m","messages":[{"role":"system","content":"be nice"},{"role":"user","content":[{"type":"text","text":"hello there world"}]}]}`
	resp, err := http.Post(srv.URL+"/v1/chat/completions", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	var out struct {
		Choices []struct{ Message struct{ Content string } }
		Usage   struct {
			CompletionTokens int `json:"completion_tokens"`
		}
	}
	json.NewDecoder(resp.Body).Decode(&out)
	resp.Body.Close()
	if out.Choices[0].Message.Content != "hello there world" || out.Usage.CompletionTokens != 3 {
		t.Fatalf("%+v", out)
	}

	stream := strings.Replace(body, `"model":"m"`, `"model":"m","stream":true,"stream_options":{"include_usage":true}`, 1)
	resp, err = http.Post(srv.URL+"/v1/chat/completions", "application/json", strings.NewReader(stream))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var text strings.Builder
	var sawUsage, sawDone bool
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		data, ok := strings.CutPrefix(sc.Text(), "data: ")
		if !ok {
			continue
		}
		if data == "[DONE]" {
			sawDone = true
			continue
		}
		var chunk struct {
			Choices []struct{ Delta struct{ Content string } }
			Usage   *struct{}
		}
		json.Unmarshal([]byte(data), &chunk)
		for _, c := range chunk.Choices {
			text.WriteString(c.Delta.Content)
		}
		sawUsage = sawUsage || chunk.Usage != nil
	}
	if text.String() != "hello there world" || !sawUsage || !sawDone {
		t.Fatalf("stream text %q usage %v done %v", text.String(), sawUsage, sawDone)
	}
}

func TestEmbeddingsDeterministic(t *testing.T) {
	a, b := embed("x"), embed("x")
	if len(a) != embeddingDims || a[0] != b[0] || embed("y")[0] == a[0] {
		t.Fatal("embeddings not deterministic or not distinct")
	}
}
