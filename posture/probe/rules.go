package probe

import (
	"cmp"
	"slices"

	"github.com/modelgate/modelgate/finding"
)

// Rule describes what a probe issue means and what to do about it.
type Rule struct {
	ID          string
	Severity    finding.Severity
	Title       string
	Remediation string
	Refs        []string
}

// Rules are the probe's rules by id.
var Rules = map[string]Rule{
	"PS-EP-001": {Severity: finding.Medium, Title: "endpoint served over plain HTTP", Remediation: "serve TLS (modelgate: tls.cert_file and tls.key_file), or keep the listener on loopback behind a TLS proxy", Refs: []string{"CWE-319", "LLM02"}},
	"PS-EP-002": {Severity: finding.High, Title: "TLS below 1.2 accepted", Remediation: "set the minimum version to TLS 1.2 (modelgate: tls.min_version)", Refs: []string{"NIST-SP-800-52r2", "CWE-327"}},
	"PS-EP-003": {Severity: finding.High, Title: "weak cipher suite accepted", Remediation: "offer only AEAD suites with forward secrecy (ECDHE with AES-GCM or ChaCha20-Poly1305)", Refs: []string{"NIST-SP-800-52r2", "CWE-327"}},
	"PS-EP-004": {Severity: finding.High, Title: "certificate does not verify", Remediation: "serve a certificate for the host name, within its validity, with its chain, from a CA the clients trust", Refs: []string{"CWE-295"}},
	"PS-EP-005": {Severity: finding.Low, Title: "certificate expires within 30 days", Remediation: "renew it (automate renewal: cert-manager, ACME)", Refs: []string{"CWE-298"}},
	"PS-EP-006": {Severity: finding.Critical, Title: "inference without credentials", Remediation: "put the endpoint behind an authenticating gateway (modelgate keys or mTLS identities) and keep the model server unreachable otherwise", Refs: []string{"LLM10", "AML.T0040", "CWE-306"}},
	"PS-EP-007": {Severity: finding.Medium, Title: "inference path accepts methods other than POST", Remediation: "answer 405 to everything but POST (and OPTIONS for CORS) on inference paths", Refs: []string{"CWE-650", "OWASP-API8"}},
	"PS-EP-008": {Severity: finding.Medium, Title: "cross-origin calls allowed", Remediation: "allow only the origins of your own front ends, never reflect any origin with credentials, and never allow cross-origin calls to an unauthenticated model server", Refs: []string{"CWE-942", "LLM10"}},
	"PS-EP-009": {Severity: finding.Medium, Title: "no request body limit", Remediation: "refuse large bodies with 413 before reading them (modelgate: limits.max_body_bytes)", Refs: []string{"LLM10", "CWE-770"}},
	"PS-EP-010": {Severity: finding.Medium, Title: "no rate limit within the burst", Remediation: "limit requests and tokens per caller (modelgate: rate_limits and per-key rpm/tpm)", Refs: []string{"LLM10", "AML.T0034", "CWE-770"}},
	"PS-EP-011": {Severity: finding.Low, Title: "429 without Retry-After", Remediation: "say when to retry (Retry-After), so that clients back off instead of hammering", Refs: []string{"RFC-6585"}},
	"PS-EP-012": {Severity: finding.Medium, Title: "error answers reveal internals", Remediation: "answer errors with a stable code and message; log the trace, never return it", Refs: []string{"CWE-209", "LLM02"}},
	"PS-EP-013": {Severity: finding.Low, Title: "server software and version disclosed", Remediation: "drop or generalise the Server and X-Powered-By headers", Refs: []string{"CWE-200"}},
	"PS-EP-014": {Severity: finding.High, Title: "model-server or ML-platform admin API open", Remediation: "never expose admin APIs (Ollama, Triton, TorchServe management, Ray, MLflow, Jupyter) beyond loopback or a private network; put authentication in front", Refs: []string{"LLM10", "AML.T0049", "CWE-306", "CVE-2023-48022"}},
	"PS-EP-015": {Severity: finding.High, Title: "endpoint does not enforce its configuration", Remediation: "find out why the limit the configuration sets is not applied (another path to the upstream, a proxy in front, a stale replica)", Refs: []string{"LLM10", "CWE-770"}},
}

// Report turns probe results into a findings report: one file per URL.
func Report(results []*Result) *finding.Report {
	rep := &finding.Report{Files: []finding.File{}}
	for _, res := range results {
		f := finding.File{Path: res.URL, Format: "endpoint", Findings: []finding.Finding{}}
		for _, is := range res.Issues {
			r := Rules[is.Rule]
			f.Findings = append(f.Findings, finding.Finding{RuleID: is.Rule, Severity: r.Severity, Title: r.Title,
				Location: res.URL, Evidence: is.Evidence, Remediation: r.Remediation, References: r.Refs})
		}
		slices.SortFunc(f.Findings, func(a, b finding.Finding) int {
			return cmp.Or(-cmp.Compare(a.Severity, b.Severity), cmp.Compare(a.RuleID, b.RuleID))
		})
		rep.Files = append(rep.Files, f)
	}
	rep.Summarise()
	return rep
}
