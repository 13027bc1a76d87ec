package config

import (
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/modelgate/modelgate/monitor"
	"github.com/modelgate/modelgate/store"
)

const full = `
listen: 0.0.0.0:8443
insecure_plaintext: true
admin_listen: 127.0.0.1:9090
data_dir: /var/lib/modelgate
log:
  level: debug
  format: text
  requests: false
limits:
  max_body_bytes: 2097152
  max_messages: 50
  request_timeout: 2m
rate_limits:
  key: {rpm: 120, tpm: 50000, burst: 10, max_concurrent: 8}
  ip: {rpm: 0}
access:
  trusted_proxies: [10.0.0.0/8]
  ip_deny: [192.0.2.0/24, 2001:db8::1]
routes:
  - model: chat
    protocol: openai
    upstream:
      url: http://127.0.0.1:11434/v1
      model: llama3:8b
      model_version: sha256:abc
      timeout: 90s
      credential: {env: CONFIG_TEST_KEY}
  - model: fraud
    protocol: kserve_v2
    upstream:
      url: https://models.internal:8443
`

func TestParseFull(t *testing.T) {
	t.Setenv("CONFIG_TEST_KEY", "x")
	c, err := Parse("m.yaml", []byte(full))
	if err != nil {
		t.Fatal(err)
	}
	if c.Listen != "0.0.0.0:8443" || c.AdminListen != "127.0.0.1:9090" || c.DataDir != "/var/lib/modelgate" {
		t.Errorf("addresses: %+v", c)
	}
	if c.Log.Level != slog.LevelDebug || c.Log.Format != "text" || c.Log.Requests {
		t.Errorf("log: %+v", c.Log)
	}
	if c.Limits.MaxBodyBytes != 2<<20 || c.Limits.MaxMessages != 50 || c.Limits.RequestTimeout != 2*time.Minute {
		t.Errorf("limits: %+v", c.Limits)
	}
	if k := c.RateLimits.Key; k.RPM != 120 || k.TPM != 50000 || k.Burst != 10 || k.MaxConcurrent != 8 {
		t.Errorf("key limits: %+v", k)
	}
	if c.RateLimits.IP.RPM != 0 {
		t.Errorf("an explicit 0 must mean no limit, got %d", c.RateLimits.IP.RPM)
	}
	if len(c.TrustedProxies) != 1 || len(c.IPRules) != 2 || c.IPRules[0].Action != store.IPDeny {
		t.Errorf("access: %v %v", c.TrustedProxies, c.IPRules)
	}
	if len(c.Routes) != 2 || c.Routes[0].Upstream.Model != "llama3:8b" || time.Duration(c.Routes[0].Upstream.Timeout) != 90*time.Second ||
		c.Routes[0].Source != store.SourceConfig || c.Routes[1].Protocol != store.ProtocolKServeV2 {
		t.Errorf("routes: %+v", c.Routes)
	}
}

func TestDefaults(t *testing.T) {
	c, err := Parse("empty.yaml", []byte(""))
	if err != nil {
		t.Fatal(err)
	}
	d := Default()
	if c.Listen != d.Listen || c.RateLimits.Key.RPM != 600 || c.RateLimits.IP.RPM != 6000 || !c.Log.Requests {
		t.Errorf("defaults not applied: %+v", c)
	}
}

// TestErrorsNameKeyAndLine checks each kind of mistake is reported with
// the key it concerns and the line it is on.
func TestErrorsNameKeyAndLine(t *testing.T) {
	tests := []struct {
		name, yaml, key string
		line            int
		inMessage       string
	}{
		{"unknown key", "listen: x\nlisen: y\n", "", 2, `unknown key "lisen"`},
		{"nested unknown key", "routes:\n  - model: m\n    protocol: openai\n    upstream:\n      url: http://a\n      api_key: sk-123\n", "", 6, `unknown key "api_key"`},
		{"bad type", "limits:\n  max_body_bytes: lots\n", "", 2, "lots"},
		{"negative", "limits:\n  max_messages: -1\n", "limits.max_messages", 2, "negative"},
		{"bad duration", "limits:\n  request_timeout: soon\n", "limits.request_timeout", 2, "duration"},
		{"bad log level", "log:\n  level: loud\n", "log.level", 2, "debug, info"},
		{"bad url", "routes:\n  - model: m\n    protocol: openai\n    upstream:\n      url: ftp://x\n", "routes[0].upstream.url", 5, "http or https"},
		{"url with password", "routes:\n  - model: m\n    protocol: openai\n    upstream:\n      url: http://u:p@x\n", "routes[0].upstream.url", 5, "credentials"},
		{"bad protocol", "routes:\n  - model: m\n    protocol: grpc\n    upstream:\n      url: http://x\n", "routes[0].protocol", 3, "openai"},
		{"duplicate route", "routes:\n  - model: m\n    protocol: openai\n    upstream: {url: 'http://x'}\n  - model: m\n    protocol: openai\n    upstream: {url: 'http://y'}\n", "routes[1].model", 5, "twice"},
		{"unset env credential", "routes:\n  - model: m\n    protocol: openai\n    upstream:\n      url: http://x\n      credential:\n        env: CONFIG_TEST_SURELY_UNSET\n", "routes[0].upstream.credential.env", 7, "unset"},
		{"bad cidr", "access:\n  ip_deny:\n    - 10.0.0.0/33\n", "access.ip_deny[0]", 3, "CIDR"},
		{"tls min version", "tls:\n  cert_file: /nonexistent\n  key_file: /nonexistent\n  min_version: '1.1'\n", "tls.min_version", 4, "1.3"},
		{"same listeners", "listen: 127.0.0.1:1\nadmin_listen: 127.0.0.1:1\n", "admin_listen", 2, "differ"},
		{"identity without ca", "identities:\n  - name: a\n    common_name: a\n    scopes: [admin]\n    models: ['*']\n", "identities", 1, "client_ca"},
		{"identity bad scope", "tls:\n  cert_file: x\n  key_file: y\n  client_ca: z\nidentities:\n  - name: a\n    common_name: a\n    scopes: [root]\n    models: ['*']\n", "identities[0]", 6, "unknown scope"},
		{"audit mode", "audit:\n  mode: sometimes\n", "audit.mode", 2, "fail_closed"},
		{"audit capture", "audit:\n  capture:\n    input: everything\n", "audit.capture.input", 3, "full, redacted"},
		{"route capture", "routes:\n  - model: m\n    protocol: openai\n    capture: {output: raw}\n    upstream: {url: 'http://x'}\n", "routes[0].capture.output", 4, "full, redacted"},
		{"checkpoint every", "audit:\n  checkpoint_every: 0\n", "audit.checkpoint_every", 2, "at least 1"},
		{"batch wait too long", "audit:\n  batch_wait: 1s\n", "audit.batch_wait", 2, "100ms"},
		{"batch max", "audit:\n  batch_max: 0\n", "audit.batch_max", 2, "between"},
		{"retention", "audit:\n  payload_retention: forever\n", "audit.payload_retention", 2, ""},
		{"forwarder without name", "audit:\n  forwarders:\n    - type: file\n      path: /tmp/x\n", "audit.forwarders[0].name", 3, "required"},
		{"forwarder type", "audit:\n  forwarders:\n    - name: a\n      type: kafka\n", "audit.forwarders[0].type", 4, "syslog, webhook"},
		{"syslog address", "audit:\n  forwarders:\n    - name: a\n      type: syslog\n", "audit.forwarders[0].address", 3, "host:port"},
		{"webhook format", "audit:\n  forwarders:\n    - name: a\n      type: webhook\n      url: https://siem\n      format: cef\n", "audit.forwarders[0].format", 6, "jsonl or ocsf"},
		{"duplicate forwarder", "audit:\n  forwarders:\n    - {name: a, type: file, path: /tmp/a}\n    - {name: a, type: file, path: /tmp/b}\n", "audit.forwarders[1].name", 4, "twice"},
		{"witness dir and url", "audit:\n  witnesses:\n    - {dir: /w, url: 'https://w'}\n", "audit.witnesses[0]", 3, "exactly one"},
		{"witness url", "audit:\n  witnesses:\n    - url: ftp://w\n", "audit.witnesses[0].url", 3, "http(s)"},
		{"witness key", "audit:\n  witnesses:\n    - url: https://w\n      key: nope\n", "audit.witnesses[0].key", 4, "name+hash"},
		{"require no witnesses", "audit:\n  require_witnesses: true\n", "audit.require_witnesses", 2, "needs witnesses"},
		{"witness server logs", "audit:\n  witness_server:\n    dir: /w\n    key_file: /k\n", "audit.witness_server.logs", 2, "none"},
		{"not yaml", "listen: [\n", "", 1, ""},
		{"store driver", "store:\n  driver: mysql\n", "store.driver", 2, "sqlite or postgres"},
		{"postgres without dsn", "store:\n  driver: postgres\n", "store.dsn_env", 1, "must name"},
		{"postgres dsn unset", "store:\n  driver: postgres\n  dsn_env: CONFIG_TEST_SURELY_UNSET\n", "store.dsn_env", 3, "unset"},
		{"redis without addr", "redis:\n  on_error: fail_open\n", "redis.addr", 1, "host:port"},
		{"redis on_error", "redis:\n  addr: 127.0.0.1:6379\n  on_error: shrug\n", "redis.on_error", 3, "fail_closed or fail_open"},
		{"registry stage", "routes:\n  - model: fraud@staging\n    protocol: openai\n    upstream: {url: 'http://x'}\n", "routes[0].model", 2, "only a registry model's production"},
		{"registry name", "routes:\n  - model: m\n    registry: a/b\n    protocol: openai\n    upstream: {url: 'http://x'}\n", "routes[0].registry", 3, "not a registry model name"},
		{"unknown guard", "guards:\n  pipelines:\n    p:\n      input:\n        - guard: antivirus\n", "guards.pipelines.p.input[0].guard", 5, "unknown guard"},
		{"sanitize on input", "guards:\n  pipelines:\n    p:\n      input:\n        - guard: sanitize\n", "guards.pipelines.p.input[0].guard", 5, "output"},
		{"mask on output", "guards:\n  pipelines:\n    p:\n      output:\n        - guard: pii\n          action: mask\n", "guards.pipelines.p.output[0].action", 6, "mask is for input"},
		{"bad action", "guards:\n  pipelines:\n    p:\n      input:\n        - guard: pii\n          action: shred\n", "guards.pipelines.p.input[0].action", 6, "unknown action"},
		{"unknown entity", "guards:\n  pipelines:\n    p:\n      input:\n        - guard: pii\n          entities: {PASSPORT: block}\n", "guards.pipelines.p.input[0].entities.PASSPORT", 6, "no entity type"},
		{"unknown gitleaks rule", "guards:\n  pipelines:\n    p:\n      input:\n        - guard: secrets\n          entities: {NOT_A_RULE: flag}\n", "guards.pipelines.p.input[0].entities.NOT_A_RULE", 6, "no entity type"},
		{"hash without key", "guards:\n  pipelines:\n    p:\n      input:\n        - guard: pii\n          action: hash\n", "guards", 1, "hash_key_env"},
		{"small holdback", "guards:\n  pipelines:\n    p:\n      holdback: 8\n", "guards.pipelines.p.holdback", 4, "at least"},
		{"fail mode", "guards:\n  pipelines:\n    p:\n      fail_mode: maybe\n", "guards.pipelines.p.fail_mode", 4, "closed or open"},
		{"unknown default pipeline", "guards:\n  default: strict\n", "guards.default", 2, "no pipeline"},
		{"remote injection url", "guards:\n  pipelines:\n    p:\n      input:\n        - guard: injection_remote\n          url: ftp://x\n", "guards.pipelines.p.input[0].url", 6, "http or https"},
		{"injection model file", "guards:\n  pipelines:\n    p:\n      input:\n        - guard: injection\n          model: /nonexistent/model.bin\n", "guards.pipelines.p.input[0].model", 6, "no such file"},
		{"route names unknown pipeline", "routes:\n  - model: m\n    protocol: openai\n    guards: strict\n    upstream: {url: 'http://x'}\n", "routes[0].guards", 4, "no pipeline"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("modelgate.yaml", []byte(tc.yaml))
			var ce *Error
			if !errors.As(err, &ce) {
				t.Fatalf("want a config error, got %v", err)
			}
			for _, p := range ce.Problems {
				if p.Key == tc.key && p.Line == tc.line && strings.Contains(p.Message, tc.inMessage) {
					if !strings.Contains(err.Error(), "modelgate.yaml") {
						t.Errorf("error does not name the file: %v", err)
					}
					return
				}
			}
			t.Fatalf("no problem with key %q line %d mentioning %q in:\n%v", tc.key, tc.line, tc.inMessage, err)
		})
	}
}

func TestAllProblemsReportedAtOnce(t *testing.T) {
	_, err := Parse("m.yaml", []byte("log:\n  level: loud\n  format: xml\nlimits:\n  max_messages: -3\n"))
	var ce *Error
	if !errors.As(err, &ce) || len(ce.Problems) != 3 {
		t.Fatalf("want 3 problems, got %v", err)
	}
	if ce.Problems[0].Line != 2 || ce.Problems[2].Line != 5 {
		t.Errorf("problems not in line order: %+v", ce.Problems)
	}
}

func TestLoadMissingFile(t *testing.T) {
	_, err := Load(filepath.Join(t.TempDir(), "nope.yaml"))
	if !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("want not-exist, got %v", err)
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(full))
	f.Add([]byte("routes:\n  - model: m\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse("f.yaml", data)
		if (c == nil) == (err == nil) {
			t.Fatalf("config %v and error %v", c, err)
		}
	})
}

// TestExampleConfig keeps examples/modelgate.yaml valid: it must parse,
// with only the files it names missing (they are placeholders).
func TestExampleConfig(t *testing.T) {
	t.Setenv("OPENAI_API_KEY", "placeholder")
	t.Setenv("ANTHROPIC_API_KEY", "placeholder")
	data, err := os.ReadFile("../examples/modelgate.yaml")
	if err != nil {
		t.Fatal(err)
	}
	_, err = Parse("examples/modelgate.yaml", data)
	var ce *Error
	if !errors.As(err, &ce) {
		t.Fatalf("the example should fail only on its placeholder files, got %v", err)
	}
	for _, p := range ce.Problems {
		if !strings.Contains(p.Message, "no such file") {
			t.Errorf("example config: line %d: %s: %s", p.Line, p.Key, p.Message)
		}
	}
}

func TestParseAudit(t *testing.T) {
	c, err := Parse("m.yaml", []byte(`
audit:
  mode: best_effort
  capture: {input: full, output: none}
  checkpoint_every: 500
  checkpoint_interval: 30s
  batch_max: 256
  batch_wait: 0s
  payload_retention: 30d
  forwarders:
    - {name: siem, type: syslog, address: 'siem:6514', format: cef, tls: {ca_file: /etc/ca.pem}}
    - {name: hook, type: webhook, url: 'https://siem/in', batch_size: 50, credential: {env: HOME}}
    - {name: disk, type: file, path: /var/log/mg.jsonl, max_bytes: 1048576, max_files: 3}
`))
	if err != nil {
		t.Fatal(err)
	}
	a := c.Audit
	if a.Mode != "best_effort" || a.Capture.Input != "full" || a.Capture.Output != "none" || a.CheckpointEvery != 500 ||
		a.CheckpointInterval != 30*time.Second || a.BatchMax != 256 || a.BatchWait != 0 || a.PayloadRetention != 30*24*time.Hour {
		t.Errorf("audit: %+v", a)
	}
	if len(a.Forwarders) != 3 || a.Forwarders[0].TLS == nil || a.Forwarders[0].TLS.CAFile != "/etc/ca.pem" ||
		a.Forwarders[1].BatchSize != 50 || a.Forwarders[1].Credential == nil || a.Forwarders[2].MaxFiles != 3 {
		t.Errorf("forwarders: %+v", a.Forwarders)
	}
	d := Default().Audit
	if d.Mode != "fail_closed" || d.Capture.Input != "hash" || d.BatchWait != 2*time.Millisecond {
		t.Errorf("audit defaults: %+v", d)
	}
}

func TestRegistryRoute(t *testing.T) {
	c, err := Parse("t.yaml", []byte("routes:\n  - model: fraud-detector@production\n    protocol: openai\n    upstream: {url: 'http://x'}\n  - model: public\n    registry: internal-name\n    protocol: openai\n    upstream: {url: 'http://y'}\n  - model: vendor@2024\n    protocol: openai\n    upstream: {url: 'http://z'}\n"))
	if err != nil {
		t.Fatal(err)
	}
	got := [][2]string{}
	for _, r := range c.Routes {
		got = append(got, [2]string{r.Model, r.Registry})
	}
	want := [][2]string{{"fraud-detector", "fraud-detector"}, {"public", "internal-name"}, {"vendor@2024", ""}}
	if !slices.Equal(got, want) {
		t.Fatalf("routes %v, want %v", got, want)
	}
}

// TestEveryProblemAtOnce: one run reports everything wrong with a file: an
// unknown key does not stop the checks, a missing variable and a plaintext
// listener come together, and a bad protocol does not hide a bad URL.
func TestEveryProblemAtOnce(t *testing.T) {
	bad := `
listen: 0.0.0.0:8080
lgo: {level: debug}
log:
  level: loud
routes:
  - model: chat
    protocol: kserve
    upstream:
      url: ftp://models
      credential: {env: CONFIG_TEST_UNSET_VARIABLE}
  - model: other
    protocol: openai
    upstream: {url: 'http://127.0.0.1:1/v1', max_response_bytes: lots}
`
	_, err := Parse("bad.yaml", []byte(bad))
	var ce *Error
	if !errors.As(err, &ce) {
		t.Fatalf("got %v, want *Error", err)
	}
	for _, want := range []string{
		`unknown key "lgo"`,
		"log.level: must be debug",
		"routes[0].protocol: must be",
		"routes[0].upstream.url: must be an absolute http or https URL",
		"routes[0].upstream.credential.env: environment variable CONFIG_TEST_UNSET_VARIABLE is empty or unset",
		"listen: 0.0.0.0:8080 has no TLS",
		"cannot unmarshal",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("missing %q in:\n%v", want, err)
		}
	}
	if _, err := ParseWith("bad.yaml", []byte("listen: 0.0.0.0:8080\n"), Options{InsecurePlaintext: true}); err != nil {
		t.Errorf("--insecure-plaintext: %v", err)
	}
}

// TestOfflineCheck: offline, the file is checked alone: variables and files
// it names need not exist, but everything the file itself says is checked.
func TestOfflineCheck(t *testing.T) {
	cfg := `
tls: {cert_file: /nonexistent/cert.pem, key_file: /nonexistent/key.pem}
listen: 0.0.0.0:8443
store: {driver: postgres, dsn_env: CONFIG_TEST_UNSET_DSN}
redis: {addr_env: CONFIG_TEST_UNSET_REDIS}
guards:
  hash_key_env: CONFIG_TEST_UNSET_HASH
  pipelines:
    p:
      input:
        - {guard: pii, action: hash}
        - {guard: injection, model: /nonexistent/model.bin}
routes:
  - model: chat
    protocol: openai
    upstream:
      url: https://api.example.com/v1
      credential: {file: /nonexistent/key}
      tls: {ca_file: /nonexistent/ca.pem}
`
	_, err := Parse("prod.yaml", []byte(cfg))
	if err == nil {
		t.Fatal("online, the missing files and variables must be reported")
	}
	for _, want := range []string{"tls.cert_file", "store.dsn_env", "redis.addr_env", "guards.hash_key_env", "input[1].model",
		"routes[0].upstream.credential.file", "routes[0].upstream.tls.ca_file"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("online: missing %q in %v", want, err)
		}
	}
	if _, err := ParseWith("prod.yaml", []byte(cfg), Options{Offline: true}); err != nil {
		t.Errorf("offline: %v", err)
	}
	broken := strings.Replace(cfg, "protocol: openai", "protocol: grpc", 1)
	if _, err := ParseWith("prod.yaml", []byte(broken), Options{Offline: true}); err == nil || !strings.Contains(err.Error(), "routes[0].protocol") {
		t.Errorf("offline still checks the file itself: %v", err)
	}
}

// TestLogDurationsAsText: durations in logs read as durations ("30s"),
// not as nanoseconds, in JSON and text alike.
func TestLogDurationsAsText(t *testing.T) {
	for _, format := range []string{"json", "text"} {
		var b strings.Builder
		slog.New(Log{Level: slog.LevelInfo, Format: format}.Handler(&b)).Info("drained", "grace", 30*time.Second, slog.Group("req", "took", 1500*time.Microsecond))
		out := b.String()
		want := []string{`"grace":"30s"`, `"took":"1.5ms"`}
		if format == "text" {
			want = []string{"grace=30s", "req.took=1.5ms"}
		}
		for _, w := range want {
			if !strings.Contains(out, w) {
				t.Errorf("%s: %s lacks %s", format, out, w)
			}
		}
	}
}

// TestOutputControls: a classifier route's output controls are read, and
// set on a chat route they are an error naming the field.
func TestOutputControls(t *testing.T) {
	c, err := Parse("t.yaml", []byte("routes:\n  - model: fraud\n    protocol: kserve_v2\n    outputs: {keep: [label], decimals: 2, top_k: 1}\n    upstream: {url: 'http://x'}\n"))
	if err != nil {
		t.Fatal(err)
	}
	o := c.Routes[0].Outputs
	if o == nil || !slices.Equal(o.Keep, []string{"label"}) || o.Decimals == nil || *o.Decimals != 2 || o.TopK != 1 {
		t.Fatalf("outputs %+v", o)
	}
	_, err = Parse("t.yaml", []byte("routes:\n  - model: chat\n    protocol: openai\n    outputs: {decimals: 2}\n    upstream: {url: 'http://x'}\n"))
	if err == nil || !strings.Contains(err.Error(), "routes[0].outputs") {
		t.Fatalf("a chat route with output controls: %v", err)
	}
}

func TestMonitoring(t *testing.T) {
	dir := t.TempDir()
	rules := filepath.Join(dir, "rules.yaml")
	os.WriteFile(rules, []byte("- {id: MON-TOKENS, title: t, severity: low, kind: threshold, window: 1m, threshold: 5, sum: tokens}\n"), 0o644)
	c, err := Parse("t.yaml", []byte("monitoring:\n  rules_file: "+rules+"\n  alerts:\n    - {name: soc, type: email, smtp: 'mail.example.com:587', from: a@example.com, to: [b@example.com], username: u, credential: {env: SMTP_PASSWORD}}\n    - {name: chat, type: slack, url: 'https://hooks.example.com/x'}\n"))
	if err != nil {
		t.Fatal(err)
	}
	m := c.Monitoring
	if m.Disabled || len(m.Alerts) != 2 || m.Alerts[0].SMTP != "mail.example.com:587" || m.Rules[slices.IndexFunc(m.Rules, func(r monitor.Rule) bool { return r.ID == "MON-TOKENS" })].Threshold != 5 {
		t.Fatalf("%+v", m)
	}
	for _, bad := range []string{
		"monitoring: {alerts: [{name: x, type: pager, url: 'https://x'}]}",
		"monitoring: {alerts: [{name: x, type: webhook, url: 'ftp://x'}]}",
		"monitoring: {alerts: [{name: x, type: email, smtp: nohost, from: a@x, to: [b@x]}]}",
		"monitoring: {alerts: [{name: x, type: email, smtp: 'h:25', from: a@x, to: [b@x], username: u}]}",
		"monitoring: {alerts: [{name: x, type: slack, url: 'https://x'}, {name: x, type: slack, url: 'https://y'}]}",
		"monitoring: {rules_file: /nonexistent/rules.yaml}",
		"monitoring: {drift: [{route: r}]}",
		"monitoring: {drift: [{route: r, baseline: /nonexistent/profile.json}]}",
		"monitoring: {drift: [{route: r, baseline: " + rules + ", window: 5}]}",
		"monitoring: {drift: [{route: r, baseline: " + rules + ", p: 2}]}",
		"monitoring: {fingerprint_secret: {env: A, file: b}}",
	} {
		if _, err := Parse("t.yaml", []byte(bad)); err == nil {
			t.Errorf("accepted: %s", bad)
		}
	}
	if c, err := Parse("t.yaml", []byte("monitoring: {enabled: false}")); err != nil || !c.Monitoring.Disabled {
		t.Errorf("enabled: false: %v", err)
	}
}
