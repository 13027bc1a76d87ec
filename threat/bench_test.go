package threat

import (
	"bytes"
	"fmt"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

// model200 is a 200-asset system: 40 LLM and classifier models behind
// routes, 40 callers, 40 datasets, 40 stores, 20 tools, 20 users, in
// nested boundaries, with 360 flows.
func model200() ([]byte, *State) {
	m := &Model{System: System{Name: "estate", Owner: "x"}}
	f := false
	m.Boundaries = []Boundary{{ID: "internet", Trusted: &f}, {ID: "corp"}, {ID: "cluster", Parent: "corp"}, {ID: "data", Parent: "corp"}}
	st := &State{Routes: map[string]Route{}, Models: map[string]RegistryModel{}, Serving: map[string]string{}, Datasets: map[string]Dataset{}, DefaultRPM: 600, GatewayTLS: true, AuditFailClosed: true}
	for i := range 40 {
		tags := []string{"llm", "rag"}
		if i%2 == 1 {
			tags = []string{"classifier"}
		}
		route := fmt.Sprintf("m%d", i)
		m.Assets = append(m.Assets,
			Asset{ID: fmt.Sprintf("model%d", i), Type: AssetModel, Boundary: "cluster", Ref: "route:" + route, Tags: tags, Value: values[i%4], Classification: "confidential"},
			Asset{ID: fmt.Sprintf("caller%d", i), Type: AssetService, Boundary: "corp", Ref: fmt.Sprintf("key:k%d", i)},
			Asset{ID: fmt.Sprintf("dataset%d", i), Type: AssetDataset, Boundary: "data", Ref: fmt.Sprintf("dataset:d%d@1", i), Classification: "restricted"},
			Asset{ID: fmt.Sprintf("store%d", i), Type: AssetStore, Boundary: "data", Tags: []string{"vector"}})
		st.Routes[route] = Route{Model: route, InputGuards: []string{"injection"}, OutputGuards: []string{"sanitize"}, Registry: fmt.Sprintf("r%d", i)}
		st.Keys = append(st.Keys, Key{Name: fmt.Sprintf("k%d", i), Models: []string{route}, Scopes: []string{"inference:invoke"}})
		st.Models[fmt.Sprintf("r%d@1", i)] = RegistryModel{Ref: fmt.Sprintf("r%d@1", i), Signed: true, SignatureOK: true, Scanned: true, GateAllow: i%3 != 0, Datasets: []string{fmt.Sprintf("d%d@1", i)}}
		st.Serving[fmt.Sprintf("r%d", i)] = "1"
		st.Datasets[fmt.Sprintf("d%d@1", i)] = Dataset{Contract: "passed"}
		st.Observed = append(st.Observed, ObservedFlow{Caller: fmt.Sprintf("key:k%d", i), Model: route, Count: 10}, ObservedFlow{Caller: fmt.Sprintf("key:k%d", (i+1)%40), Model: route, Count: 1})
	}
	for i := range 20 {
		m.Assets = append(m.Assets, Asset{ID: fmt.Sprintf("tool%d", i), Type: AssetTool, Boundary: "corp"}, Asset{ID: fmt.Sprintf("user%d", i), Type: AssetUser, Boundary: "internet"})
	}
	n := 0
	flow := func(from, to, auth string) {
		m.Flows = append(m.Flows, Flow{ID: fmt.Sprintf("f%d", n), From: from, To: to, Protocol: "https", Auth: auth})
		n++
	}
	for i := range 40 {
		flow(fmt.Sprintf("caller%d", i), fmt.Sprintf("model%d", i), "key")
		flow(fmt.Sprintf("dataset%d", i), fmt.Sprintf("model%d", i), "iam")
		flow(fmt.Sprintf("store%d", i), fmt.Sprintf("model%d", i), "none")
		flow(fmt.Sprintf("user%d", i%20), fmt.Sprintf("caller%d", i), "oauth")
		flow(fmt.Sprintf("model%d", i), fmt.Sprintf("tool%d", i%20), "key")
		flow(fmt.Sprintf("caller%d", i), fmt.Sprintf("store%d", i), "key")
		flow(fmt.Sprintf("caller%d", (i+1)%40), fmt.Sprintf("model%d", i), "key")
		flow(fmt.Sprintf("model%d", i), fmt.Sprintf("store%d", (i+3)%40), "none")
		flow(fmt.Sprintf("dataset%d", i), fmt.Sprintf("store%d", i), "iam")
	}
	b, _ := yaml.Marshal(m)
	return b, st
}

// BenchmarkCheck200 times what threat check does with a 200-asset model
// once the deployed state is read: parse, judge every threat on every
// element, and build the report.
func BenchmarkCheck200(b *testing.B) {
	src, st := model200()
	lib, err := DefaultLibrary()
	if err != nil {
		b.Fatal(err)
	}
	now := time.Now()
	var threats int
	for b.Loop() {
		m, err := Parse("m.yaml", bytes.NewReader(src))
		if err != nil {
			b.Fatal(err)
		}
		res := Check(m, lib, st, now)
		res.Report("m.yaml")
		threats = len(res.Threats)
	}
	b.ReportMetric(float64(threats), "threats")
}
