package posture

import (
	"context"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/modelgate/modelgate/posture/probe"
)

// A hardened estate: every rule passes it. Each test case breaks one
// thing in one file and expects exactly the rule that judges it. The
// names an attacker or a careless author would use to slip past a rule
// (TOKENIZERS_PARALLELISM, HF_TOKEN_PATH, a ${VAR} reference, a bucket
// configured in another file) are in the passing fixture on purpose.
var hardened = map[string]string{
	"Dockerfile": "FROM golang:1.26@sha256:aaaa AS build\nRUN go build -o /app .\nFROM gcr.io/distroless/static@sha256:bbbb\n" +
		"ADD --checksum=sha256:24454f830cdb571e2c4ad15481119c43b3cafd48dd869a9b2945d1036d1dc68d https://example.com/tokenizer.json /models/\n" +
		"COPY --from=build /app /app\nENV TOKENIZERS_PARALLELISM=false HF_TOKEN_PATH=/run/secrets/hf\nUSER 65532:65532\nENTRYPOINT [\"/app\"]\n",
	"k8s/deploy.yaml": `apiVersion: apps/v1
kind: Deployment
metadata: {name: llm, namespace: llm}
spec:
  template:
    spec:
      automountServiceAccountToken: false
      securityContext: {runAsNonRoot: true}
      containers:
      - name: server
        image: vllm/vllm-openai:v0.6.3@sha256:cccc
        env:
        - {name: HF_TOKEN, valueFrom: {secretKeyRef: {name: hf, key: token}}}
        - {name: MAX_TOKENS, value: "4096"}
        securityContext:
          allowPrivilegeEscalation: false
          readOnlyRootFilesystem: true
          capabilities: {drop: [ALL]}
        resources: {limits: {cpu: "8", memory: 32Gi, nvidia.com/gpu: 1}}
`,
	"k8s/svc.yaml": "apiVersion: v1\nkind: Service\nmetadata: {name: llm, namespace: llm}\nspec:\n  type: ClusterIP\n  ports: [{name: http, port: 80, targetPort: 8000}]\n",
	"k8s/ingress.yaml": `apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: llm
  namespace: llm
  annotations:
    nginx.ingress.kubernetes.io/auth-url: https://auth.example.com/check
    nginx.ingress.kubernetes.io/ssl-protocols: TLSv1.2 TLSv1.3
spec:
  tls: [{hosts: [llm.example.com], secretName: llm-tls}]
  rules:
  - host: llm.example.com
    http:
      paths: [{path: /, pathType: Prefix, backend: {service: {name: llm, port: {name: http}}}}]
---
apiVersion: v1
kind: ConfigMap
metadata: {name: ingress-nginx-controller, namespace: ingress-nginx}
data: {ssl-protocols: TLSv1.2 TLSv1.3, TOKENIZERS_PARALLELISM: "false", MAX_TOKENS: "4096"}
`,
	"k8s/netpol.yaml": `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: default-deny, namespace: llm}
spec: {podSelector: {}, policyTypes: [Ingress, Egress]}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: default-deny, namespace: training}
spec: {podSelector: {}}
`,
	"k8s/train.yaml": `apiVersion: kubeflow.org/v1
kind: PyTorchJob
metadata: {name: finetune, namespace: training}
spec:
  pytorchReplicaSpecs:
    Worker:
      replicas: 2
      template:
        spec:
          securityContext: {runAsUser: 1000}
          containers:
          - name: pytorch
            image: ghcr.io/acme/train:1.4@sha256:dddd
            securityContext: {allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: {drop: [all]}}
            resources: {limits: {cpu: "16", memory: 64Gi, nvidia.com/gpu: 8}}
`,
	"compose.yaml": `services:
  ollama:
    image: ollama/ollama:0.5.7@sha256:eeee
    user: "65532"
    ports: ["127.0.0.1:11434:11434"]
    environment: {HF_TOKEN: "${HF_TOKEN}", OLLAMA_DEBUG: "0"}
  gateway:
    image: ghcr.io/modelgate/modelgate:1.0@sha256:ffff
    ports: ["8443:8443"]
    environment: [OPENAI_API_KEY=$OPENAI_API_KEY]
`,
	"tf/main.tf": `resource "aws_s3_bucket" "models" { bucket = "acme-models" }
`,
	// The bucket's settings in a file of their own: no false positive.
	"tf/bucket-settings.tf": `
resource "aws_s3_bucket_server_side_encryption_configuration" "models" {
  bucket = aws_s3_bucket.models.id
  rule {
    apply_server_side_encryption_by_default { sse_algorithm = "aws:kms" }
  }
}
resource "aws_s3_bucket_public_access_block" "models" {
  bucket                  = "acme-models"
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}
resource "aws_s3_bucket_versioning" "models" {
  bucket = aws_s3_bucket.models.id
  versioning_configuration { status = "Enabled" }
}
`,
	"tf/gcs.tf": `
resource "google_storage_bucket" "datasets" {
  name                     = "acme-datasets"
  location                 = "EU"
  public_access_prevention = "enforced"
  versioning { enabled = true }
  encryption { default_kms_key_name = google_kms_crypto_key.data.id }
}
resource "google_storage_bucket_iam_member" "reader" {
  bucket = google_storage_bucket.datasets.name
  role   = "roles/storage.objectViewer"
  member = "serviceAccount:train@acme.iam.gserviceaccount.com"
}
`,
	"tf/azure.tf": `
resource "azurerm_storage_account" "models" {
  name                            = "acmemodels"
  min_tls_version                 = "TLS1_2"
  https_traffic_only_enabled      = true
  allow_nested_items_to_be_public = false
  blob_properties { versioning_enabled = true }
}
resource "azurerm_storage_account_customer_managed_key" "models" {
  storage_account_id = azurerm_storage_account.models.id
  key_vault_id       = azurerm_key_vault.kv.id
  key_name           = "models"
}
resource "azurerm_storage_container" "weights" {
  name                  = "weights"
  storage_account_id    = azurerm_storage_account.models.id
  container_access_type = "private"
}
`,
}

func evaluate(t *testing.T, files map[string]string) map[string]int {
	t.Helper()
	dir := t.TempDir()
	for name, body := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	docs, err := Load([]string{dir})
	if err != nil {
		t.Fatal(err)
	}
	e, err := NewEngine(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	rep, err := e.Evaluate(context.Background(), docs)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]int{}
	for _, f := range rep.Files {
		for _, fd := range f.Findings {
			got[fd.RuleID]++
			if fd.Title == "" || fd.Remediation == "" || len(fd.References) == 0 {
				t.Errorf("%s lacks its metadata: %+v", fd.RuleID, fd)
			}
		}
	}
	return got
}

func TestHardenedPasses(t *testing.T) {
	if got := evaluate(t, hardened); len(got) != 0 {
		t.Errorf("a hardened configuration has findings: %v", got)
	}
}

// TestEachRuleFires breaks one thing at a time in the hardened estate and
// expects exactly the rule that judges it, as often as it says.
func TestEachRuleFires(t *testing.T) {
	type edit struct{ old, new string }
	cases := []struct {
		rule  string
		file  string
		edits []edit // applied in order; none with del removes the file
		del   bool
		n     int // findings expected; 0 means 1
		// also replaces, in another file, the text before its first
		// newline-free prefix match (old is the value's first line).
		also map[string]string
	}{
		{rule: "PS-DF-001", file: "Dockerfile", edits: []edit{{"USER 65532:65532\n", ""}}},
		{rule: "PS-DF-001", file: "Dockerfile", edits: []edit{{"USER 65532:65532", "USER 0:0"}}},
		{rule: "PS-DF-001", file: "Dockerfile", edits: []edit{{"USER 65532:65532", "USER 65532\nUSER root"}}},
		{rule: "PS-DF-002", file: "Dockerfile", edits: []edit{{"gcr.io/distroless/static@sha256:bbbb", "python:latest"}}},
		{rule: "PS-DF-002", file: "Dockerfile", edits: []edit{{"golang:1.26@sha256:aaaa", "golang:1.26"}}},
		{rule: "PS-DF-003", file: "Dockerfile", edits: []edit{{"USER 65532:65532", "ENV HF_TOKEN=hf_x LOG=1\nUSER 65532:65532"}}},
		{rule: "PS-DF-003", file: "Dockerfile", edits: []edit{{"RUN go build", "ARG OPENAI_API_KEY\nRUN go build"}}},
		{rule: "PS-DF-003", file: "Dockerfile", edits: []edit{{"RUN go build", "ENV aws_secret_access_key abc\nRUN go build"}}},
		{rule: "PS-DF-003", file: "Dockerfile", edits: []edit{{"RUN go build", "ARG OPENAI_KEY\nRUN go build"}}},
		{rule: "PS-DF-003", file: "Dockerfile", edits: []edit{{"RUN go build", "ENV SETTINGS=hf_abcdefghijklmnopqrstuvwxyz0123456789\nRUN go build"}}},
		{rule: "PS-DF-003", file: "Dockerfile", edits: []edit{{"FROM golang", "ARG HF_TOKEN\nFROM golang"}}},
		{rule: "PS-DF-004", file: "Dockerfile", edits: []edit{{"COPY --from=build", "ADD https://huggingface.co/acme/m/resolve/main/model.safetensors /models/\nCOPY --from=build"}}},
		{rule: "PS-DF-004", file: "Dockerfile", edits: []edit{{"RUN go build", "RUN curl -fsSL https://get.example.com/install.sh | sh && go build"}}},
		{rule: "PS-K8S-001", file: "k8s/deploy.yaml", edits: []edit{{"securityContext: {runAsNonRoot: true}", "securityContext: {}"}}},
		{rule: "PS-K8S-001", file: "k8s/deploy.yaml", edits: []edit{{"allowPrivilegeEscalation: false", "allowPrivilegeEscalation: false\n          runAsUser: 0"}}},
		{rule: "PS-K8S-001", file: "k8s/train.yaml", edits: []edit{{"runAsUser: 1000", "runAsUser: 0"}}},
		{rule: "PS-K8S-002", file: "k8s/deploy.yaml", edits: []edit{{"allowPrivilegeEscalation: false", "allowPrivilegeEscalation: true"}}},
		{rule: "PS-K8S-002", file: "k8s/train.yaml", edits: []edit{{"allowPrivilegeEscalation: false, ", ""}}},
		{rule: "PS-K8S-003", file: "k8s/deploy.yaml", edits: []edit{{"readOnlyRootFilesystem: true", "readOnlyRootFilesystem: false"}}},
		{rule: "PS-K8S-004", file: "k8s/deploy.yaml", edits: []edit{{"capabilities: {drop: [ALL]}", "capabilities: {add: [NET_ADMIN]}"}}},
		{rule: "PS-K8S-005", file: "k8s/deploy.yaml", edits: []edit{{"limits: {cpu: \"8\", memory: 32Gi, nvidia.com/gpu: 1}", "limits: {cpu: \"8\", memory: 32Gi}, requests: {nvidia.com/gpu: 1}"}}},
		{rule: "PS-K8S-005", file: "k8s/train.yaml", edits: []edit{{"limits: {cpu: \"16\", ", "limits: {"}}},
		{rule: "PS-K8S-006", file: "k8s/deploy.yaml", edits: []edit{{"      containers:", "      volumes: [{name: models, hostPath: {path: /data/models}}]\n      containers:"}}},
		{rule: "PS-K8S-007", file: "k8s/deploy.yaml", edits: []edit{{"automountServiceAccountToken: false", "automountServiceAccountToken: true"}}},
		{rule: "PS-K8S-008", file: "k8s/svc.yaml", edits: []edit{{"type: ClusterIP", "type: LoadBalancer"}}},
		{rule: "PS-K8S-008", file: "k8s/svc.yaml", edits: []edit{{"type: ClusterIP", "type: NodePort"}, {"port: 80, targetPort: 8000", "port: 80, targetPort: 11434"}}},
		{rule: "PS-K8S-008", file: "k8s/ingress.yaml", edits: []edit{{"    nginx.ingress.kubernetes.io/auth-url: https://auth.example.com/check\n", ""}}},
		{rule: "PS-K8S-008", file: "k8s/svc.yaml", edits: []edit{{"type: ClusterIP", "type: LoadBalancer"}, {"port: 80, targetPort: 8000", "port: 443, targetPort: api"}}, also: map[string]string{
			"k8s/deploy.yaml": "image: vllm/vllm-openai:v0.6.3@sha256:cccc\n        ports: [{name: api, containerPort: 8000}]"}},
		{rule: "PS-K8S-009", file: "k8s/ingress.yaml", edits: []edit{{"ssl-protocols: TLSv1.2 TLSv1.3\n", "ssl-protocols: TLSv1 TLSv1.1 TLSv1.2\n"}}},
		{rule: "PS-K8S-009", file: "k8s/ingress.yaml", edits: []edit{{"data: {ssl-protocols: TLSv1.2 TLSv1.3", "data: {ssl-protocols: TLSv1.1 TLSv1.2"}}},
		{rule: "PS-K8S-009", file: "k8s/tlsoption.yaml", edits: []edit{{"", "apiVersion: traefik.io/v1alpha1\nkind: TLSOption\nmetadata: {name: default}\nspec: {minVersion: VersionTLS10}\n"}}},
		{rule: "PS-K8S-010", file: "k8s/ingress.yaml", edits: []edit{{"  tls: [{hosts: [llm.example.com], secretName: llm-tls}]\n", ""}}},
		{rule: "PS-K8S-011", file: "k8s/netpol.yaml", del: true, n: 2},
		{rule: "PS-K8S-011", file: "k8s/netpol.yaml", edits: []edit{{"spec: {podSelector: {}}", "spec: {podSelector: {matchLabels: {app: x}}}"}}},
		{rule: "PS-K8S-011", file: "k8s/netpol.yaml", edits: []edit{{"spec: {podSelector: {}}", "spec: {podSelector: {}, ingress: [{}]}"}}},
		{rule: "PS-K8S-012", file: "k8s/deploy.yaml", edits: []edit{{"{name: HF_TOKEN, valueFrom: {secretKeyRef: {name: hf, key: token}}}", "{name: HF_TOKEN, value: hf_abcdef}"}}},
		{rule: "PS-K8S-012", file: "k8s/deploy.yaml", edits: []edit{{`{name: MAX_TOKENS, value: "4096"}`, `{name: UPSTREAM, value: sk-proj-abcdefghijklmnopqrstuvwxyz}`}}},
		{rule: "PS-K8S-012", file: "k8s/ingress.yaml", edits: []edit{{"MAX_TOKENS: \"4096\"", "OPENAI_API_KEY: sk-abc"}}},
		{rule: "PS-K8S-013", file: "k8s/deploy.yaml", edits: []edit{{"vllm/vllm-openai:v0.6.3@sha256:cccc", "vllm/vllm-openai:latest"}}},
		{rule: "PS-CMP-001", file: "compose.yaml", edits: []edit{{`user: "65532"`, `user: root`}}},
		{rule: "PS-CMP-001", file: "compose.yaml", edits: []edit{{`user: "65532"`, `user: "65532"` + "\n    privileged: true"}}},
		{rule: "PS-CMP-002", file: "compose.yaml", edits: []edit{{`"127.0.0.1:11434:11434"`, `"11434:11434"`}}},
		{rule: "PS-CMP-002", file: "compose.yaml", edits: []edit{{`"127.0.0.1:11434:11434"`, `{target: 11434, published: 80}`}}},
		{rule: "PS-CMP-002", file: "compose.yaml", edits: []edit{{`"8443:8443"`, `"0.0.0.0:7000-8001:7000-8001/tcp"`}}},
		{rule: "PS-CMP-003", file: "compose.yaml", edits: []edit{{`HF_TOKEN: "${HF_TOKEN}"`, `HF_TOKEN: hf_abc`}}},
		{rule: "PS-CMP-003", file: "compose.yaml", edits: []edit{{`OPENAI_API_KEY=$OPENAI_API_KEY`, `OPENAI_API_KEY=sk-abc`}}},
		{rule: "PS-CMP-004", file: "compose.yaml", edits: []edit{{"ollama/ollama:0.5.7@sha256:eeee", "ollama/ollama"}}},
		{rule: "PS-TF-001", file: "tf/bucket-settings.tf", edits: []edit{{"aws_s3_bucket_server_side_encryption_configuration", "aws_kms_key"}}},
		{rule: "PS-TF-001", file: "tf/gcs.tf", edits: []edit{{"  encryption { default_kms_key_name = google_kms_crypto_key.data.id }\n", ""}}},
		{rule: "PS-TF-001", file: "tf/azure.tf", edits: []edit{{"azurerm_storage_account.models.id\n  key_vault_id", "azurerm_storage_account.other.id\n  key_vault_id"}}},
		{rule: "PS-TF-002", file: "tf/bucket-settings.tf", edits: []edit{{`bucket                  = "acme-models"`, `bucket                  = "other"`}}},
		{rule: "PS-TF-002", file: "tf/bucket-settings.tf", edits: []edit{{"restrict_public_buckets = true", "restrict_public_buckets = false"}}},
		{rule: "PS-TF-002", file: "tf/gcs.tf", edits: []edit{{`public_access_prevention = "enforced"`, `public_access_prevention = "inherited"`}}},
		{rule: "PS-TF-002", file: "tf/gcs.tf", edits: []edit{{`"serviceAccount:train@acme.iam.gserviceaccount.com"`, `"allUsers"`}}},
		{rule: "PS-TF-002", file: "tf/azure.tf", edits: []edit{{"allow_nested_items_to_be_public = false\n", ""}}},
		{rule: "PS-TF-002", file: "tf/azure.tf", edits: []edit{{`container_access_type = "private"`, `container_access_type = "blob"`}}},
		{rule: "PS-TF-002", file: "tf/main.tf", edits: []edit{{"", "resource \"aws_s3_bucket\" \"models\" {\n  bucket = \"acme-models\"\n  acl    = \"public-read\"\n}\n"}}},
		{rule: "PS-TF-003", file: "tf/bucket-settings.tf", edits: []edit{{`status = "Enabled"`, `status = "Suspended"`}}},
		// A bucket whose name is a variable: the settings that refer to it
		// still count, the one that named it by its literal no longer does.
		{rule: "PS-TF-002", file: "tf/main.tf", edits: []edit{{`bucket = "acme-models"`, `bucket = var.models_bucket`}}},
		{rule: "PS-TF-003", file: "tf/gcs.tf", edits: []edit{{"versioning { enabled = true }", "versioning { enabled = false }"}}},
		{rule: "PS-TF-003", file: "tf/azure.tf", edits: []edit{{"  blob_properties { versioning_enabled = true }\n", ""}}},
		{rule: "PS-TF-004", file: "tf/azure.tf", edits: []edit{{`"TLS1_2"`, `"TLS1_0"`}}},
		{rule: "PS-TF-004", file: "tf/azure.tf", edits: []edit{{"https_traffic_only_enabled      = true", "https_traffic_only_enabled      = false"}}},
	}
	for _, c := range cases {
		files := maps.Clone(hardened)
		if c.del {
			delete(files, c.file)
		}
		for _, e := range c.edits {
			if e.old == "" {
				files[c.file] = e.new
				continue
			}
			if !strings.Contains(files[c.file], e.old) {
				t.Fatalf("%s: %s lacks %q", c.rule, c.file, e.old)
			}
			files[c.file] = strings.Replace(files[c.file], e.old, e.new, 1)
		}
		for f, repl := range c.also {
			old, _, _ := strings.Cut(repl, "\n")
			if !strings.Contains(files[f], old) {
				t.Fatalf("%s: %s lacks %q", c.rule, f, old)
			}
			files[f] = strings.Replace(files[f], old, repl, 1)
		}
		got := evaluate(t, files)
		want := map[string]int{c.rule: max(c.n, 1)}
		if !maps.Equal(got, want) {
			t.Errorf("%s (%s, %v): got %v", c.rule, c.file, c.edits, got)
		}
	}
}

// TestPinnedDigest fails when a rule changes and posture/rules.sha256 is
// not updated with it: the pinned digest is what reports name.
func TestPinnedDigest(t *testing.T) {
	mods, err := DefaultRules()
	if err != nil {
		t.Fatal(err)
	}
	got := PackDigest(mods)
	if strings.TrimSpace(pinnedDigest) != got {
		t.Fatalf("the rules changed: review them and write %s to posture/rules.sha256", got)
	}
	// A build from a changed tree refuses to judge.
	saved := pinnedDigest
	defer func() { pinnedDigest = saved }()
	pinnedDigest = strings.Repeat("0", 64)
	if _, err := NewEngine(context.Background(), ""); err == nil || !strings.Contains(err.Error(), "unreviewed") {
		t.Errorf("NewEngine with a stale pin: %v", err)
	}
}

// TestEveryRuleHasAFailingFixture keeps TestEachRuleFires complete: a
// rule added to the pack needs a case that breaks it.
func TestEveryRuleHasAFailingFixture(t *testing.T) {
	rules := packRules(t)
	src, err := os.ReadFile("rules_test.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rules {
		if !strings.Contains(string(src), `{rule: "`+r.ID+`"`) {
			t.Errorf("%s has no case in TestEachRuleFires", r.ID)
		}
		if r.Severity == "" || r.Title == "" || r.Remediation == "" || len(r.Refs) == 0 {
			t.Errorf("%s lacks metadata: %+v", r.ID, r)
		}
	}
	if len(rules) == 0 {
		t.Error("no rules")
	}
}

// TestOwnArtefactsPass: modelgate's own image and manifests meet the
// rules it asks of others, at every severity.
func TestOwnArtefactsPass(t *testing.T) {
	docs, err := Load([]string{"../Dockerfile", "../deploy/kubernetes"})
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[string]int{}
	for _, d := range docs {
		if m, ok := d.Content.(map[string]any); ok && d.Kind == KindKubernetes {
			kinds[m["kind"].(string)]++
		} else {
			kinds[d.Kind]++
		}
	}
	for _, k := range []string{KindDockerfile, "Deployment", "Service", "NetworkPolicy", "PodDisruptionBudget"} {
		if kinds[k] == 0 {
			t.Errorf("no %s among modelgate's own artefacts: %v", k, kinds)
		}
	}
	e, err := NewEngine(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	rep, err := e.Evaluate(context.Background(), docs)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range rep.Files {
		for _, fd := range f.Findings {
			t.Errorf("%s: %s %s: %s", f.Path, fd.RuleID, fd.Title, fd.Evidence)
		}
	}
}

// TestDocsListEveryRule keeps docs/posture.md complete.
func TestDocsListEveryRule(t *testing.T) {
	doc, err := os.ReadFile("../docs/posture.md")
	if err != nil {
		t.Fatal(err)
	}
	rules := packRules(t)
	ids := slices.Collect(maps.Keys(probe.Rules))
	for _, r := range rules {
		ids = append(ids, r.ID)
	}
	for _, id := range ids {
		if !strings.Contains(string(doc), "| "+id+" |") {
			t.Errorf("docs/posture.md does not list %s", id)
		}
	}
}

func packRules(t *testing.T) []Rule {
	t.Helper()
	e, err := NewEngine(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	rules, err := e.Rules(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return rules
}
