package monitor

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/modelgate/modelgate/audit"
)

var day0 = time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)

func defaultEngine(t testing.TB) *Engine {
	rs, err := DefaultRules()
	if err != nil {
		t.Fatal(err)
	}
	return NewEngine(rs)
}

func invoke(at time.Time, key, ip, model string) *audit.Event {
	return &audit.Event{Time: at, Action: audit.ActionInvoke, Actor: audit.Actor{Kind: audit.ActorAPIKey, ID: key, IP: ip},
		Resource: audit.Resource{Model: model, Route: model}, Decision: audit.Decision{Outcome: audit.Allowed},
		HTTP: &audit.HTTP{Method: "POST", Path: "/v1/chat/completions", Status: 200}, Usage: &audit.Usage{PromptTokens: 300, CompletionTokens: 200}}
}

func feedback(at time.Time, key string, negative bool) *audit.Event {
	ev := &audit.Event{Time: at, Action: "feedback.submit", Actor: audit.Actor{Kind: audit.ActorAPIKey, ID: key, IP: "10.0.0.1"},
		Resource: audit.Resource{Model: "chat", ModelVersion: "v1"}, Decision: audit.Decision{Outcome: audit.Allowed},
		Details: map[string]string{"rating": "1"}}
	if negative {
		ev.Details = map[string]string{"rating": "-1", "negative": "true"}
	}
	return ev
}

func denied(at time.Time, key, ip, model, reason string, status int) *audit.Event {
	ev := invoke(at, key, ip, model)
	ev.Action, ev.Usage = audit.ActionDenied, nil
	ev.Decision = audit.Decision{Outcome: audit.Denied, Reason: reason}
	ev.HTTP.Status = status
	if status == 401 {
		ev.Actor = audit.Actor{Kind: audit.ActorAnonymous, IP: ip}
	}
	return ev
}

// normal is a week of ordinary traffic: 40 keys, each from its own
// office networks, in working hours, at a steady rate with noise; now and
// then a blocked prompt, a mistyped model, a failed login, a card number
// in an answer.
func normal(seed uint64, days int) []*audit.Event {
	rng := rand.New(rand.NewPCG(seed, 1))
	var evs []*audit.Event
	for d := range days {
		for k := range 40 {
			key := fmt.Sprintf("key%02d", k)
			rate := 2 + k%5 // requests a minute in working hours
			for minute := 8 * 60; minute < 18*60; minute++ {
				at := day0.Add(time.Duration(d)*24*time.Hour + time.Duration(minute)*time.Minute)
				for range rng.IntN(2*rate + 1) {
					ip := fmt.Sprintf("10.%d.%d.%d", k, rng.IntN(2), 1+rng.IntN(200))
					ev := invoke(at.Add(time.Duration(rng.IntN(60))*time.Second), key, ip, "chat")
					switch x := rng.IntN(1000); {
					case x < 5:
						ev = denied(ev.Time, key, ip, "chat", "request_blocked", 400)
					case x < 6:
						ev = denied(ev.Time, key, ip, "chta", "model_not_found", 404)
					case x < 7:
						ev = denied(ev.Time, "", ip, "chat", "invalid_api_key", 401)
					case x < 9:
						ev.Guards = []audit.GuardResult{{Name: "pii", Stage: "output", Verdict: "redact", Entities: map[string]int64{"CREDIT_CARD": 1}}}
					case x < 10:
						ev = feedback(ev.Time, key, true)
					}
					evs = append(evs, ev)
				}
			}
		}
	}
	slices.SortStableFunc(evs, func(a, b *audit.Event) int { return a.Time.Compare(b.Time) })
	return evs
}

func run(e *Engine, evs []*audit.Event, from int64) []Alert {
	var out []Alert
	for i, ev := range evs {
		out = append(out, e.Observe(ev, from+int64(i))...)
	}
	return out
}

// TestNoFalseAlarms: a week of ordinary traffic raises nothing.
func TestNoFalseAlarms(t *testing.T) {
	evs := normal(1, 7)
	alerts := run(defaultEngine(t), evs, 1)
	for _, a := range alerts {
		t.Errorf("false alarm: %s %s=%s: %s", a.Rule, a.By, a.Subject, a.Detail)
	}
	t.Logf("%d events, %d alerts", len(evs), len(alerts))
}

// TestEachRuleFires: each default rule has a scenario that must alert,
// mixed into ordinary traffic, naming the right subject.
func TestEachRuleFires(t *testing.T) {
	base := normal(2, 3) // days 0-2 learn; the attacks come on day 3
	at := day0.Add(3*24*time.Hour + 10*time.Hour)
	scenarios := []struct {
		rule, subject string
		attack        func() []*audit.Event
	}{
		{"MON-VOLUME", "key07", func() (evs []*audit.Event) {
			// The key's usual ~4 a minute become 100 a minute.
			for i := range 600 {
				evs = append(evs, invoke(at.Add(time.Duration(i)*600*time.Millisecond), "key07", "10.7.0.9", "chat"))
			}
			return
		}},
		{"MON-TOKENS", "key03", func() (evs []*audit.Event) {
			for i := range 60 {
				ev := invoke(at.Add(time.Duration(i)*5*time.Second), "key03", "10.3.1.5", "chat")
				ev.Usage = &audit.Usage{PromptTokens: 2000, CompletionTokens: 8000}
				evs = append(evs, ev)
			}
			return
		}},
		{"MON-GUARD-BLOCKS-KEY", "key11", func() (evs []*audit.Event) {
			for i := range 12 {
				evs = append(evs, denied(at.Add(time.Duration(i)*10*time.Second), "key11", "10.11.0.4", "chat", "request_blocked", 400))
			}
			return
		}},
		{"MON-GUARD-BLOCKS-IP", "203.0.113.9", func() (evs []*audit.Event) {
			// Rotating keys, one address.
			for i := range 25 {
				evs = append(evs, denied(at.Add(time.Duration(i)*5*time.Second), fmt.Sprintf("key%02d", i%40), "203.0.113.9", "chat", "response_blocked", 502))
			}
			return
		}},
		{"MON-GUARD-BLOCKS-MODEL", "chat", func() (evs []*audit.Event) {
			for i := range 60 {
				evs = append(evs, denied(at.Add(time.Duration(i)*3*time.Second), fmt.Sprintf("key%02d", i%40), fmt.Sprintf("198.51.100.%d", i), "chat", "request_blocked", 400))
			}
			return
		}},
		{"MON-DENIED-MODELS", "key21", func() (evs []*audit.Event) {
			for i, m := range []string{"gpt-4o", "claude-3", "internal-finetune", "admin-model"} {
				evs = append(evs, denied(at.Add(time.Duration(i)*time.Minute), "key21", "10.21.0.7", m, "model_not_allowed", 403))
			}
			return
		}},
		{"MON-AUTH-FAILURES", "192.0.2.66", func() (evs []*audit.Event) {
			for i := range 30 {
				evs = append(evs, denied(at.Add(time.Duration(i)*time.Second), "", "192.0.2.66", "chat", "invalid_api_key", 401))
			}
			return
		}},
		{"MON-NEW-NETWORK", "key30", func() []*audit.Event {
			return []*audit.Event{invoke(at, "key30", "185.220.101.4", "chat")}
		}},
		{"MON-UNUSUAL-HOUR", "key05", func() []*audit.Event {
			return []*audit.Event{invoke(at.Add(15*time.Hour), "key05", "10.5.0.20", "chat")} // 01:00 UTC
		}},
		{"MON-NEGATIVE-FEEDBACK", "chat@v1", func() (evs []*audit.Event) {
			for i := range 60 {
				evs = append(evs, feedback(at.Add(time.Duration(i)*30*time.Second), fmt.Sprintf("key%02d", i%40), true))
			}
			return
		}},
		{"MON-SAME-PROMPT", "5e1f0c2a9b7d4e61", func() (evs []*audit.Event) {
			// One jailbreak (the gateway's fingerprint) from six keys.
			for i := range 6 {
				ev := invoke(at.Add(time.Duration(i)*20*time.Second), fmt.Sprintf("key%02d", 20+i), fmt.Sprintf("10.%d.0.9", 20+i), "chat")
				ev.Details = map[string]string{"prompt_fp": "5e1f0c2a9b7d4e61"}
				evs = append(evs, ev)
			}
			return
		}},
		{"MON-SAME-PROMPT-IP", "77aa01c3d2e4f5b6", func() (evs []*audit.Event) {
			// One prompt from twelve addresses, all with one key.
			for i := range 12 {
				ev := invoke(at.Add(time.Duration(i)*10*time.Second), "key12", fmt.Sprintf("203.0.113.%d", 10+i), "chat")
				ev.Details = map[string]string{"prompt_fp": "77aa01c3d2e4f5b6"}
				evs = append(evs, ev)
			}
			return
		}},
		{"MON-EXTRACTION", "key13", func() (evs []*audit.Event) {
			// A boundary walk: batches of near-duplicate inputs.
			for i := range 25 {
				ev := invoke(at.Add(time.Duration(i)*5*time.Second), "key13", "10.13.0.2", "fraud-scorer")
				ev.Details = map[string]string{"near_duplicates": "10"}
				evs = append(evs, ev)
			}
			return
		}},
		{"MON-DRIFT", "fraud-scorer", func() (evs []*audit.Event) {
			// The gateway marks a drifting route's events (see TestDrift).
			for i := range 30 {
				ev := invoke(at.Add(time.Duration(i)*10*time.Second), fmt.Sprintf("key%02d", i%5), "10.0.0.1", "fraud-scorer")
				ev.Details = map[string]string{"drift": "true", "drift_columns": "amount_norm,merchant_risk"}
				evs = append(evs, ev)
			}
			return
		}},
		{"MON-OFF-DISTRIBUTION", "key11", func() (evs []*audit.Event) {
			// The gateway marks one caller's unlike inputs (see
			// TestOffDistributionCaller).
			for i := range 20 {
				ev := invoke(at.Add(time.Duration(i)*time.Second), "key11", "10.11.0.5", "fraud-scorer")
				ev.Details = map[string]string{"off_distribution": "true", "off_distribution_columns": "a,b,c,d"}
				evs = append(evs, ev)
			}
			return
		}},
		{"MON-EXFILTRATION", "key09", func() (evs []*audit.Event) {
			for i := range 3 {
				ev := invoke(at.Add(time.Duration(i)*time.Minute), "key09", "10.9.1.3", "chat")
				ev.Guards = []audit.GuardResult{{Name: "pii", Stage: "output", Verdict: "redact", Entities: map[string]int64{"CREDIT_CARD": 2, "US_SSN": 1}}}
				evs = append(evs, ev)
			}
			return
		}},
	}
	defaults, _ := DefaultRules()
	for _, r := range defaults {
		if !slices.ContainsFunc(scenarios, func(sc struct {
			rule, subject string
			attack        func() []*audit.Event
		}) bool {
			return sc.rule == r.ID
		}) {
			t.Errorf("%s has no scenario", r.ID)
		}
	}
	day3 := normal(3, 1)
	for _, sc := range scenarios {
		t.Run(sc.rule, func(t *testing.T) {
			e := defaultEngine(t)
			if a := run(e, base, 1); len(a) != 0 {
				t.Fatalf("the learning days alerted: %+v", a[0])
			}
			attack := sc.attack()
			// The attack is interleaved with the same hour's ordinary
			// traffic of other days, shifted to day 3.
			var mixed []*audit.Event
			for _, ev := range day3 {
				c := *ev
				c.Time = ev.Time.Add(3 * 24 * time.Hour)
				if c.Time.Sub(at).Abs() < 15*time.Minute && c.Actor.ID != sc.subject {
					mixed = append(mixed, &c)
				}
			}
			mixed = append(mixed, attack...)
			slices.SortStableFunc(mixed, func(a, b *audit.Event) int { return a.Time.Compare(b.Time) })
			alerts := run(e, mixed, int64(len(base)+1))
			var hit *Alert
			for i, a := range alerts {
				if a.Rule == sc.rule && a.Subject == sc.subject {
					hit = &alerts[i]
				} else if a.Rule == sc.rule {
					t.Errorf("%s alerted on %s too: %s", a.Rule, a.Subject, a.Detail)
				}
			}
			if hit == nil {
				t.Fatalf("%s did not alert; alerts: %+v", sc.rule, alerts)
			}
			if len(hit.Events) == 0 || hit.Detail == "" && hit.Rule != "MON-UNUSUAL-HOUR" {
				t.Errorf("an alert without evidence: %+v", hit)
			}
			n := 0
			for _, a := range alerts {
				if a.Rule == sc.rule && a.Subject == sc.subject {
					n++
				}
			}
			if n != 1 {
				t.Errorf("%d alerts for one attack: grouping failed", n)
			}
		})
	}
}

func TestParseRules(t *testing.T) {
	for _, bad := range []string{
		"- {id: X, title: t, severity: high, kind: nope, window: 1m, threshold: 1}",
		"- {id: X, title: t, severity: urgent, kind: threshold, window: 1m, threshold: 1}",
		"- {id: X, title: t, severity: high, kind: threshold, threshold: 1}",
		"- {id: X, title: t, severity: high, kind: threshold, window: 1m, threshold: 1, by: user}",
		"- {id: X, title: t, severity: high, kind: threshold, window: 1m, threshold: 1, sum: bytes}",
		"- {id: X, title: t, severity: high, kind: anomaly, window: 1m, threshold: 1, sigma: 3, history: 1}",
		"- {id: X, title: t, severity: high, kind: new_network, learning: 0}",
		"- {id: X, title: t, severity: high, kind: new_network, learning: 5, by: ip}",
		"- {id: X, title: t, severity: high, kind: threshold, window: soon, threshold: 1}",
		"- {id: X, title: t, severity: high, kind: threshold, window: 1m, threshold: 1, colour: red}",
		"- {id: X, title: t, severity: high, kind: threshold, window: 1m, threshold: 1}\n- {id: X, title: t, severity: high, kind: threshold, window: 1m, threshold: 1}",
	} {
		if _, err := ParseRules("bad.yaml", []byte(bad)); err == nil {
			t.Errorf("accepted: %s", bad)
		}
	}
	user, err := ParseRules("user.yaml", []byte("- {id: MON-TOKENS, title: t, severity: low, kind: threshold, window: 1m, threshold: 5, sum: tokens}\n- {id: MY-RULE, title: mine, severity: low, kind: threshold, window: 1m, threshold: 2, match: {reasons: [rate_limit_exceeded]}}\n- {id: MON-UNUSUAL-HOUR, title: off, severity: low, kind: unusual_hour, learning: 1, disabled: true}"))
	if err != nil {
		t.Fatal(err)
	}
	defaults, _ := DefaultRules()
	e := NewEngine(Merge(defaults, user))
	var ids []string
	for _, r := range e.Rules() {
		ids = append(ids, r.ID)
		if r.ID == "MON-TOKENS" && r.Threshold != 5 {
			t.Errorf("the user's MON-TOKENS did not replace the default")
		}
	}
	if !slices.Contains(ids, "MY-RULE") || slices.Contains(ids, "MON-UNUSUAL-HOUR") || len(ids) != len(defaults) {
		t.Errorf("rules in force: %v", ids)
	}
	if !strings.Contains(strings.Join(ids, ","), "MON-VOLUME") {
		t.Error("defaults lost")
	}
}

func FuzzParseRules(f *testing.F) {
	f.Add(defaultRules)
	f.Fuzz(func(t *testing.T, b []byte) {
		rs, err := ParseRules("fuzz.yaml", b)
		if err != nil {
			return
		}
		e := NewEngine(rs)
		e.Observe(invoke(day0, "k", "10.0.0.1", "m"), 1)
		e.Observe(denied(day0, "", "::1", "m", "invalid_api_key", 401), 2)
	})
}

// BenchmarkObserve is the default rules' cost per event, on ordinary
// traffic with its blocks, failures and findings.
func BenchmarkObserve(b *testing.B) {
	evs := normal(4, 2)
	e := defaultEngine(b)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		e.Observe(evs[i%len(evs)], int64(i))
	}
}
