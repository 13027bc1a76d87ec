package posture

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseDockerfile(t *testing.T) {
	src := "# syntax=docker/dockerfile:1\nARG BASE=python:3.12\nFROM golang:1.26 AS build\nRUN go build \\\n    -o /app .\n\nFROM ${BASE}@sha256:abcd\nENV HF_TOKEN=xyz\nCOPY --from=build /app /app\nUSER 65532:65532\nCMD [\"/app\"]\n"
	d, err := ParseDockerfile("Dockerfile", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	c := d.Content.(map[string]any)
	stages := c["stages"].([]any)
	if len(stages) != 2 || len(c["global"].([]any)) != 1 {
		t.Fatalf("stages %d global %v", len(stages), c["global"])
	}
	build, final := stages[0].(map[string]any), stages[1].(map[string]any)
	if build["image"] != "golang:1.26" || build["name"] != "build" || final["image"] != "${BASE}@sha256:abcd" {
		t.Errorf("stages: %v / %v", build, final)
	}
	ins := final["instructions"].([]any)
	var cmds []string
	for _, i := range ins {
		cmds = append(cmds, i.(map[string]any)["cmd"].(string))
	}
	if strings.Join(cmds, " ") != "from env copy user cmd" {
		t.Errorf("instructions %v", cmds)
	}
	copyIns := ins[2].(map[string]any)
	if copyIns["flags"].([]any)[0] != "--from=build" || copyIns["line"] != 9 {
		t.Errorf("COPY: %v", copyIns)
	}
	if run := build["instructions"].([]any)[1].(map[string]any); run["line"] != 4 {
		t.Errorf("RUN across lines starts at %v", run["line"])
	}
	if _, err := ParseDockerfile("Dockerfile", []byte("RUN echo no base\n")); err == nil {
		t.Error("a Dockerfile without FROM parsed")
	}
}

func TestParseTerraform(t *testing.T) {
	src := `
variable "name" { default = "models" }

resource "aws_s3_bucket" "models" {
  bucket = "acme-${var.name}"
  tags   = { team = "ml", tier = 2 }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "models" {
  bucket = aws_s3_bucket.models.id
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm = "aws:kms"
    }
  }
}
`
	d, err := ParseTerraform("main.tf", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	rs := d.Content.(map[string]any)["resources"].([]any)
	if len(rs) != 2 {
		t.Fatalf("%d resources", len(rs))
	}
	b := rs[0].(map[string]any)
	attrs := b["attrs"].(map[string]any)
	if b["address"] != "aws_s3_bucket.models" || attrs["bucket"].(map[string]any)["ref"] != `"acme-${var.name}"` ||
		attrs["tags"].(map[string]any)["tier"] != int64(2) || b["line"] != 4 {
		t.Errorf("bucket: %v", b)
	}
	enc := rs[1].(map[string]any)["attrs"].(map[string]any)
	if enc["bucket"].(map[string]any)["ref"] != "aws_s3_bucket.models.id" {
		t.Errorf("reference: %v", enc["bucket"])
	}
	rule := enc["rule"].([]any)[0].(map[string]any)
	if rule["apply_server_side_encryption_by_default"].([]any)[0].(map[string]any)["sse_algorithm"] != "aws:kms" {
		t.Errorf("nested blocks: %v", rule)
	}
	if _, err := ParseTerraform("bad.tf", []byte("resource \"x\" {")); err == nil || !strings.Contains(err.Error(), "bad.tf") {
		t.Errorf("bad HCL: %v", err)
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{
		"deploy/k8s.yaml":    "apiVersion: v1\nkind: Service\nmetadata: {name: a}\n---\n# a comment only\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {name: b}\n---\napiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: ConfigMap\n  metadata: {name: c}\n",
		"compose.yml":        "services:\n  llm:\n    image: ollama/ollama\n",
		"values.yaml":        "replicas: 3\n", // Helm values: not a document
		"infra/main.tf":      "resource \"google_storage_bucket\" \"data\" {\n  name = \"d\"\n}\n",
		"app/Dockerfile":     "FROM scratch\nCOPY app /app\n",
		"node_modules/x.yml": "apiVersion: v1\nkind: Pod\n",
		"README.md":          "# not config\n",
	}
	for name, body := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		os.MkdirAll(filepath.Dir(p), 0o755)
		os.WriteFile(p, []byte(body), 0o644)
	}
	docs, err := Load([]string{dir})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, d := range docs {
		kind := d.Kind
		if m, ok := d.Content.(map[string]any); ok && m["kind"] != nil {
			kind += "/" + m["kind"].(string)
		}
		got = append(got, filepath.Base(d.Path)+":"+kind)
	}
	want := "Dockerfile:dockerfile compose.yml:compose k8s.yaml:kubernetes/Service k8s.yaml:kubernetes/Deployment k8s.yaml:kubernetes/List k8s.yaml:kubernetes/ConfigMap main.tf:terraform"
	if strings.Join(got, " ") != want {
		t.Errorf("documents:\n%s\nwant:\n%s", strings.Join(got, " "), want)
	}
	if docs[3].Line != 7 {
		t.Errorf("the Deployment starts at line %d", docs[3].Line)
	}
	// The documents are what Rego reads: they must be JSON.
	if _, err := json.Marshal(docs); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "broken.yaml"), []byte("a: [\n"), 0o644)
	if _, err := Load([]string{dir}); err == nil || !strings.Contains(err.Error(), "broken.yaml") {
		t.Errorf("broken YAML: %v", err)
	}
	if _, err := Load([]string{filepath.Join(dir, "README.md")}); err == nil {
		t.Error("a named file of no kind loaded")
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte("FROM a AS b\nRUN x\n"), uint8(0))
	f.Add([]byte("resource \"a\" \"b\" { x = 1\n y { z = [1, \"s\"] } }\n"), uint8(1))
	f.Add([]byte("apiVersion: v1\nkind: Pod\n---\nservices: {a: {image: x}}\n"), uint8(2))
	f.Fuzz(func(t *testing.T, b []byte, which uint8) {
		var docs []Document
		switch which % 3 {
		case 0:
			if d, err := ParseDockerfile("f", b); err == nil {
				docs = append(docs, d)
			}
		case 1:
			if d, err := ParseTerraform("f", b); err == nil {
				docs = append(docs, d)
			}
		default:
			docs, _ = ParseYAML("f", b)
		}
		if _, err := json.Marshal(docs); err != nil {
			t.Fatalf("a document is not JSON: %v", err)
		}
	})
}
