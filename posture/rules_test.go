package posture

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// A hardened workload and its Dockerfile: every rule passes them.
const (
	goodDockerfile = "FROM golang:1.26@sha256:aaaa AS build\nRUN go build -o /app .\nFROM gcr.io/distroless/static@sha256:bbbb\nCOPY --from=build /app /app\nUSER 65532:65532\nENTRYPOINT [\"/app\"]\n"
	goodDeployment = `apiVersion: apps/v1
kind: Deployment
metadata: {name: llm}
spec:
  template:
    spec:
      automountServiceAccountToken: false
      securityContext: {runAsNonRoot: true}
      containers:
      - name: server
        image: vllm/vllm-openai:v0.6.3@sha256:cccc
        securityContext:
          allowPrivilegeEscalation: false
          readOnlyRootFilesystem: true
          capabilities: {drop: [ALL]}
        resources: {limits: {cpu: "8", memory: 32Gi, nvidia.com/gpu: 1}}
`
	goodService   = "apiVersion: v1\nkind: Service\nmetadata: {name: llm}\nspec:\n  type: ClusterIP\n  ports: [{port: 8000}]\n"
	goodTerraform = `
resource "aws_s3_bucket" "models" { bucket = "acme-models" }
`
	// The bucket's settings in a file of their own: no false positive.
	goodTerraformSettings = `
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
`
)

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
	got := evaluate(t, map[string]string{"Dockerfile": goodDockerfile, "k8s/deploy.yaml": goodDeployment, "k8s/svc.yaml": goodService,
		"tf/main.tf": goodTerraform, "tf/bucket-settings.tf": goodTerraformSettings})
	if len(got) != 0 {
		t.Errorf("a hardened configuration has findings: %v", got)
	}
}

// TestEachRuleFires breaks one thing at a time in the hardened
// configuration and expects exactly the rule that judges it.
func TestEachRuleFires(t *testing.T) {
	replace := func(s, old, new string) string {
		t.Helper()
		if !strings.Contains(s, old) {
			t.Fatalf("fixture lacks %q", old)
		}
		return strings.Replace(s, old, new, 1)
	}
	cases := []struct {
		rule  string
		files map[string]string
	}{
		{"PS-DF-001", map[string]string{"Dockerfile": replace(goodDockerfile, "USER 65532:65532\n", "")}},
		{"PS-DF-001", map[string]string{"app.dockerfile": replace(goodDockerfile, "USER 65532:65532", "USER 0")}},
		{"PS-DF-002", map[string]string{"Dockerfile": replace(goodDockerfile, "gcr.io/distroless/static@sha256:bbbb", "python:latest")}},
		{"PS-DF-003", map[string]string{"Dockerfile": replace(goodDockerfile, "USER 65532:65532", "ENV HF_TOKEN=hf_x LOG=1\nUSER 65532:65532")}},
		{"PS-DF-003", map[string]string{"Dockerfile": replace(goodDockerfile, "RUN go build", "ARG OPENAI_API_KEY\nRUN go build")}},
		{"PS-K8S-001", map[string]string{"d.yaml": replace(goodDeployment, "securityContext: {runAsNonRoot: true}", "securityContext: {}")}},
		{"PS-K8S-002", map[string]string{"d.yaml": replace(goodDeployment, "allowPrivilegeEscalation: false", "allowPrivilegeEscalation: true")}},
		{"PS-K8S-003", map[string]string{"d.yaml": replace(goodDeployment, "readOnlyRootFilesystem: true", "readOnlyRootFilesystem: false")}},
		{"PS-K8S-004", map[string]string{"d.yaml": replace(goodDeployment, "capabilities: {drop: [ALL]}", "capabilities: {add: [NET_ADMIN]}")}},
		{"PS-K8S-005", map[string]string{"d.yaml": replace(goodDeployment, "limits: {cpu: \"8\", memory: 32Gi, nvidia.com/gpu: 1}", "requests: {nvidia.com/gpu: 1}")}},
		{"PS-K8S-006", map[string]string{"d.yaml": replace(goodDeployment, "      containers:", "      volumes: [{name: models, hostPath: {path: /data/models}}]\n      containers:")}},
		{"PS-K8S-007", map[string]string{"d.yaml": replace(goodDeployment, "automountServiceAccountToken: false", "automountServiceAccountToken: true")}},
		{"PS-K8S-008", map[string]string{"s.yaml": replace(goodService, "type: ClusterIP", "type: LoadBalancer")}},
		{"PS-K8S-008", map[string]string{"s.yaml": replace(replace(goodService, "type: ClusterIP", "type: NodePort"), "port: 8000", "port: 80, targetPort: 11434")}},
		{"PS-TF-001", map[string]string{"main.tf": goodTerraform, "s.tf": replace(goodTerraformSettings, "aws_s3_bucket_server_side_encryption_configuration", "aws_kms_key")}},
		{"PS-TF-002", map[string]string{"main.tf": goodTerraform, "s.tf": replace(goodTerraformSettings, `bucket                  = "acme-models"`, `bucket                  = "other"`)}},
		{"PS-TF-003", map[string]string{"main.tf": goodTerraform, "s.tf": replace(goodTerraformSettings, `status = "Enabled"`, `status = "Suspended"`)}},
	}
	for _, c := range cases {
		base := map[string]string{"Dockerfile": goodDockerfile, "k8s/deploy.yaml": goodDeployment, "k8s/svc.yaml": goodService,
			"tf/main.tf": goodTerraform, "tf/bucket-settings.tf": goodTerraformSettings}
		// The broken file replaces its counterpart.
		for name := range c.files {
			switch filepath.Ext(name) {
			case ".yaml":
				if c.rule == "PS-K8S-008" {
					delete(base, "k8s/svc.yaml")
				} else {
					delete(base, "k8s/deploy.yaml")
				}
			case ".tf":
				delete(base, "tf/main.tf")
				delete(base, "tf/bucket-settings.tf")
			default:
				delete(base, "Dockerfile")
			}
		}
		for k, v := range c.files {
			base[k] = v
		}
		got := evaluate(t, base)
		var rules []string
		for r := range got {
			rules = append(rules, r)
		}
		slices.Sort(rules)
		if len(rules) != 1 || rules[0] != c.rule {
			t.Errorf("%s: rules %v fired", c.rule, rules)
		}
	}
}
