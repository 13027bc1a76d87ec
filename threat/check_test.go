package threat

import (
	"bytes"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

var now = time.Date(2026, 12, 4, 0, 0, 0, 0, time.UTC)

func loadModel(t testing.TB, extra string) *Model {
	t.Helper()
	b, err := os.ReadFile("testdata/support.yaml")
	if err != nil {
		t.Fatal(err)
	}
	m, err := Parse("support.yaml", strings.NewReader(string(b)+extra))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// deployed is the live state in which every mitigation with a check
// holds.
func deployed() *State {
	return &State{
		Routes: map[string]Route{
			"support-llm": {Model: "support-llm", InputGuards: []string{"invisible_text", "injection", "pii", "secrets"}, OutputGuards: []string{"sanitize", "canary", "pii"}, UpstreamTLS: true, Registry: "support"},
			"fraud":       {Model: "fraud", InputGuards: []string{"injection"}, OutputGuards: []string{"sanitize"}, UpstreamTLS: true, Registry: "fraud"},
		},
		Keys:            []Key{{Name: "webapp", Scopes: []string{"inference:invoke"}, Models: []string{"support-llm", "fraud"}, RPM: 60}},
		DefaultRPM:      600,
		GatewayTLS:      true,
		AuditFailClosed: true,
		AuditWitnessed:  true,
		Models: map[string]RegistryModel{
			"support@2": {Ref: "support@2", Stage: "production", Signed: true, SignatureOK: true, Scanned: true, GateAllow: true},
			"fraud@3":   {Ref: "fraud@3", Stage: "production", Signed: true, SignatureOK: true, Scanned: true, GateAllow: true, Datasets: []string{"transactions@2026-10"}},
		},
		Serving:  map[string]string{"support": "2", "fraud": "3"},
		Datasets: map[string]Dataset{"transactions@2026-10": {Ref: "transactions@2026-10", Contract: "passed"}},
		Observed: []ObservedFlow{{Caller: "key:webapp", Model: "support-llm", Count: 40}, {Caller: "key:webapp", Model: "fraud", Count: 12}},
	}
}

func byThreat(r *Result) map[string][]Applied {
	out := map[string][]Applied{}
	for _, a := range r.Threats {
		out[a.Threat.ID] = append(out[a.Threat.ID], a)
	}
	return out
}

// declaredOnly: a flow outside the gateway, mitigated on the model's
// word (and said so).
func declaredOnly(a Applied) bool {
	return !slices.ContainsFunc(a.Evidence, func(e Evidence) bool { return !e.Declared })
}

func manual(t *Threat) bool {
	return slices.ContainsFunc(t.Mitigations, func(m string) bool { return strings.HasPrefix(m, "manual:") })
}

// TestEveryThreatFiresAndIsMitigated: the fixture exercises every threat
// of the library; with nothing deployed each is open, and with the
// mitigations deployed each with live checks only is mitigated.
func TestEveryThreatFiresAndIsMitigated(t *testing.T) {
	lib, err := DefaultLibrary()
	if err != nil {
		t.Fatal(err)
	}
	m := loadModel(t, "")
	bare := byThreat(Check(m, lib, &State{}, now))
	full := byThreat(Check(m, lib, deployed(), now))
	for i := range lib.Threats {
		th := &lib.Threats[i]
		if len(bare[th.ID]) == 0 {
			t.Errorf("%s applies to nothing in the fixture", th.ID)
			continue
		}
		for _, a := range bare[th.ID] {
			if a.Status != StatusOpen && !declaredOnly(a) {
				t.Errorf("%s on %s with nothing deployed: %s", th.ID, a.Target, a.Status)
			}
		}
		for _, a := range full[th.ID] {
			want := StatusMitigated
			if manual(th) {
				want = StatusOpen
			}
			if a.Status != want {
				t.Errorf("%s on %s deployed: %s, want %s (%+v)", th.ID, a.Target, a.Status, want, a.Evidence)
			}
		}
		if th.OWASPLLM != nil && !slices.ContainsFunc(th.OWASPLLM, func(s string) bool { return strings.HasPrefix(s, "LLM") }) {
			t.Errorf("%s: OWASP LLM ids %v", th.ID, th.OWASPLLM)
		}
	}
}

// TestLiveStateFlips: removing a guard from the route, or quarantining
// the model, reopens exactly the threats they mitigated.
func TestLiveStateFlips(t *testing.T) {
	lib, _ := DefaultLibrary()
	m := loadModel(t, "")
	open := func(st *State) []string {
		var out []string
		for _, a := range Check(m, lib, st, now).Threats {
			if a.Status == StatusOpen && !manual(a.Threat) {
				out = append(out, a.Threat.ID+"@"+a.Target)
			}
		}
		slices.Sort(out)
		return out
	}
	if got := open(deployed()); len(got) != 0 {
		t.Fatalf("open with everything deployed: %v", got)
	}
	st := deployed()
	r := st.Routes["support-llm"]
	r.InputGuards = []string{"invisible_text", "pii", "secrets"}
	st.Routes["support-llm"] = r
	if got := open(st); !slices.Equal(got, []string{"AI-LLM01-DIRECT@chat", "AI-LLM01-INDIRECT@chat"}) {
		t.Errorf("injection guard removed: %v", got)
	}
	st = deployed()
	fm := st.Models["fraud@3"]
	fm.Quarantine, fm.GateAllow = true, false
	st.Models["fraud@3"] = fm
	if got := open(st); !slices.Equal(got, []string{"AI-LLM04@fraud"}) {
		t.Errorf("model quarantined: %v", got)
	}
	st = deployed()
	st.Keys = append(st.Keys, Key{Name: "ops", Scopes: []string{"inference:invoke", "admin:keys"}, Models: []string{"*"}})
	st.DefaultRPM = 0
	if got := open(st); !slices.Contains(got, "STRIDE-E-01@chat") || !slices.Contains(got, "AI-LLM10@chat") {
		t.Errorf("a broad, unlimited key: %v", got)
	}
	st = deployed()
	st.GatewayTLS = false
	if got := open(st); !slices.Contains(got, "STRIDE-I-01@f2") {
		t.Errorf("gateway without TLS: %v", got)
	}
}

func TestRiskDecisions(t *testing.T) {
	lib, _ := DefaultLibrary()
	m := loadModel(t, `risks:
  - {threat: AI-LLM08, target: kb, status: accepted, owner: ciso@acme.example, reason: tenants share one index by design, expires: "2027-03-01"}
  - {threat: AI-LLM09, target: chat, status: accepted, owner: ciso@acme.example, reason: pilot, expires: "2026-11-30"}
  - {threat: AI-LLM06, target: crm, status: mitigated, reason: the CRM tool is read-only}
  - {threat: AI-LLM01-DIRECT, target: chat, status: mitigated, reason: we trust our users}
  - {threat: AI-ML-EVASION, target: fraud, status: false_positive, reason: scores are advisory}
`)
	st := deployed()
	r := st.Routes["support-llm"]
	r.InputGuards = []string{"pii"}
	st.Routes["support-llm"] = r
	got := byThreat(Check(m, lib, st, now))
	cases := map[string]string{"AI-LLM08": StatusAccepted, "AI-LLM09": StatusOpen, "AI-LLM06": StatusMitigated,
		"AI-LLM01-DIRECT": StatusOpen, "AI-ML-EVASION": StatusFalsePositive}
	for id, want := range cases {
		if a := got[id]; len(a) != 1 || a[0].Status != want {
			t.Errorf("%s: %+v, want %s", id, a, want)
		}
	}
	// The declared mitigation does not outweigh the missing guard, and an
	// expired acceptance reopens.
	if !strings.Contains(got["AI-LLM01-DIRECT"][0].Note, "evidence says otherwise") || !strings.Contains(got["AI-LLM09"][0].Note, "has passed") {
		t.Errorf("notes: %q %q", got["AI-LLM01-DIRECT"][0].Note, got["AI-LLM09"][0].Note)
	}
}

func TestUndeclaredFlows(t *testing.T) {
	lib, _ := DefaultLibrary()
	st := deployed()
	st.Observed = append(st.Observed, ObservedFlow{Caller: "key:batch", Model: "fraud", Count: 900}, ObservedFlow{Caller: "key:webapp", Model: "gpt-4o", Count: 3})
	res := Check(loadModel(t, ""), lib, st, now)
	if len(res.Undeclared) != 2 || res.Undeclared[0].Caller != "key:batch" || res.Undeclared[1].Model != "gpt-4o" {
		t.Fatalf("undeclared: %+v", res.Undeclared)
	}
	rep := res.Report("support.yaml")
	n := 0
	for _, f := range rep.Files[0].Findings {
		if f.RuleID == "TM-UNDECLARED-FLOW" {
			n++
		}
	}
	if n != 2 {
		t.Errorf("report: %d undeclared-flow findings", n)
	}
}

func TestScoring(t *testing.T) {
	lib, _ := DefaultLibrary()
	got := byThreat(Check(loadModel(t, ""), lib, &State{}, now))
	// Direct injection on the assistant: likelihood 5 (capped), impact 4
	// (its value is high): 20, critical.
	a := got["AI-LLM01-DIRECT"][0]
	if a.Likelihood != 5 || a.Impact != 4 || a.Score != 20 || a.Severity.String() != "critical" {
		t.Errorf("AI-LLM01-DIRECT: %+v", a)
	}
	// The knowledge base (no value of its own) sits next to the
	// high-value assistant: its impact is raised by one.
	kb := got["AI-LLM08"][0]
	if kb.Impact != 5 {
		t.Errorf("AI-LLM08 on kb: impact %d, want 5 (4 raised for its neighbour)", kb.Impact)
	}
}

func TestParseErrors(t *testing.T) {
	for _, c := range []struct{ yaml, want string }{
		{"system: {name: x}\nassets:\n  - {id: a, type: robot}\n", "line 3: asset a: type \"robot\""},
		{"system: {name: x}\nassets:\n  - {id: a, type: model}\n  - {id: a, type: model}\n", "already a asset"},
		{"system: {name: x}\nflows:\n  - {id: f, from: a, to: b}\n", "\"a\" is not an asset"},
		{"system: {name: x}\nboundaries:\n  - {id: a, parent: b}\n  - {id: b, parent: a}\n", "cycle"},
		{"system: {name: x}\nassets:\n  - {id: a, type: model}\nrisks:\n  - {threat: T, target: a, status: accepted}\n", "owner, a reason and an expiry"},
		{"system: {name: x}\nassets:\n  - {id: a, type: model, ref: \"s3:bucket\"}\n", "kind \"s3\""},
		{"system: {name: x}\nasets: []\n", "field asets not found"},
		{"assets: []\n", "system.name is required"},
	} {
		_, err := Parse("m.yaml", strings.NewReader(c.yaml))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: %v, want %q", c.yaml, err, c.want)
		}
	}
}

func FuzzParse(f *testing.F) {
	b, _ := os.ReadFile("testdata/support.yaml")
	f.Add(string(b))
	f.Add("system: {name: x}\nboundaries: [{id: a, parent: a}]\n")
	lib, _ := DefaultLibrary()
	f.Fuzz(func(t *testing.T, s string) {
		m, err := Parse("f.yaml", strings.NewReader(s))
		if err != nil {
			return
		}
		Check(m, lib, deployed(), now)
	})
}

// TestDraft: a model drafted from the deployed state parses, declares
// every flow the audit log shows, and its threats are judged.
func TestDraft(t *testing.T) {
	st := deployed()
	st.Routes["support-llm"] = Route{Model: "support-llm", Protocol: "openai", Registry: "support", InputGuards: []string{"injection"}}
	st.Routes["fraud"] = Route{Model: "fraud", Protocol: "kserve_v2", Registry: "fraud"}
	st.Forwarders = []Forwarder{{Name: "splunk", Type: "syslog", Target: "siem.example:6514", Encrypted: false}}
	d := Draft("drafted", st, EstateAsset{Kind: "model", Name: "llama.gguf", Path: "/srv/llama.gguf"}, EstateAsset{Kind: "ai-key", Name: "openai"})
	b, err := yaml.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	m, err := Parse("draft.yaml", bytes.NewReader(b))
	if err != nil {
		t.Fatalf("the draft does not parse: %v\n%s", err, b)
	}
	lib, _ := DefaultLibrary()
	res := Check(m, lib, st, now)
	if len(res.Undeclared) != 0 {
		t.Errorf("the draft misses observed flows: %+v", res.Undeclared)
	}
	got := byThreat(res)
	if len(got["AI-LLM04"]) != 1 || got["AI-LLM04"][0].Target != "model-fraud" || len(got["AI-ML-EXTRACTION"]) != 1 {
		t.Errorf("drafted threats: %v", got)
	}
	var forwarded bool
	for _, a := range res.Threats {
		forwarded = forwarded || a.Target == "forward-splunk" && a.Threat.ID == "STRIDE-I-01" && a.Status == StatusOpen
	}
	if !forwarded {
		t.Error("an unencrypted forwarder of the audit log is not an open disclosure threat")
	}
	for _, want := range []string{"ref: route:fraud", "ref: dataset:transactions@2026-10", "ref: key:webapp", "id: siem-splunk", "id: inv-model-srv-llama-gguf"} {
		if !strings.Contains(string(b), want) {
			t.Errorf("draft lacks %q:\n%s", want, b)
		}
	}
}

// TestDocsListEveryThreat keeps docs/threat-model.md complete.
func TestDocsListEveryThreat(t *testing.T) {
	doc, err := os.ReadFile("../docs/threat-model.md")
	if err != nil {
		t.Fatal(err)
	}
	lib, _ := DefaultLibrary()
	for _, th := range lib.Threats {
		if !strings.Contains(string(doc), "| "+th.ID+" |") {
			t.Errorf("docs/threat-model.md does not list %s", th.ID)
		}
	}
	for _, c := range CheckNames() {
		if !strings.Contains(string(doc), "`"+c+"`") {
			t.Errorf("docs/threat-model.md does not describe the check %s", c)
		}
	}
}
