package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestConfigCheck: config check reports every problem of a file in one
// run, and offline checks a production file on a machine without its
// secrets; guard test reads such a file's pipelines the same way.
func TestConfigCheck(t *testing.T) {
	dir := t.TempDir()
	prod := filepath.Join(dir, "prod.yaml")
	os.WriteFile(prod, []byte(`
tls: {cert_file: /etc/modelgate/server.crt, key_file: /etc/modelgate/server.key}
listen: 0.0.0.0:8443
guards:
  default: strict
  pipelines:
    strict:
      input: [{guard: secrets}]
routes:
  - model: chat
    protocol: openai
    upstream: {url: 'https://api.example.com/v1', credential: {env: CONFIG_CHECK_TEST_UNSET}}
`), 0o600)
	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(bad, []byte("listen: 0.0.0.0:8080\nlgo: x\nroutes:\n  - model: m\n    protocol: grpc\n    upstream: {url: 'ftp://x'}\n"), 0o600)

	code, _, errOut := cli(t, "config", "check", prod)
	if code != exitUsage || !strings.Contains(errOut, "tls.cert_file") || !strings.Contains(errOut, "CONFIG_CHECK_TEST_UNSET") {
		t.Errorf("online: %d %s", code, errOut)
	}
	code, out, errOut := cli(t, "config", "check", "--offline", prod)
	if code != 0 || !strings.Contains(out, "valid: 1 route(s), 1 guard pipeline(s)") || !strings.Contains(out, "offline") {
		t.Errorf("offline: %d %q %q", code, out, errOut)
	}
	code, out, _ = cli(t, "config", "check", "--offline", "--format", "json", bad)
	var report configReport
	if err := json.Unmarshal([]byte(out), &report); err != nil || code != exitUsage || report.Valid || len(report.Problems) != 4 {
		t.Fatalf("json: %d %s (%v)", code, out, err)
	}
	for _, p := range report.Problems {
		if p.Line == 0 || p.Message == "" {
			t.Errorf("problem without its line: %+v", p)
		}
	}
	if code, _, errOut := cli(t, "config", "check", filepath.Join(dir, "none.yaml")); code != exitUsage || !strings.Contains(errOut, "no such file") {
		t.Errorf("missing file: %d %s", code, errOut)
	}
	code, out, errOut = cli(t, "guard", "test", "--config", prod, "key AKIAZ3MSJV4WWNKWW5FG")
	if code != exitFindings || !strings.Contains(out, "block") {
		t.Errorf("guard test --config on a file whose secrets are elsewhere: %d %s %s", code, out, errOut)
	}
}
