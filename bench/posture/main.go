// Command posture measures `posture scan` on 1,000 generated files: 300
// Dockerfiles, 300 Kubernetes manifests (a GPU Deployment and a Service
// each), 100 with an Ingress and a NetworkPolicy, 100 compose files and
// 200 Terraform files (S3, GCS and Azure storage with settings in other
// resources), half of them hardened and half not, in 20 namespaces. It times loading the files, preparing the rules
// and judging them together, in process, median of five. Goal: ≤ 2 s.
//
//	go run ./bench/posture [-files 1000]
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/modelgate/modelgate/posture"
)

func main() {
	n := flag.Int("files", 1000, "files to generate")
	flag.Parse()
	dir, err := os.MkdirTemp("", "mg-posture-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	for i := range *n {
		var name, body string
		user := "USER 65532\n"
		if i%2 == 1 {
			user = ""
		}
		ns := fmt.Sprintf("team%d", i%20)
		switch i % 10 {
		case 0, 1, 2:
			name = fmt.Sprintf("svc%d/Dockerfile", i)
			body = fmt.Sprintf("FROM golang:1.26 AS build\nRUN go build -o /app ./cmd/%d\nFROM gcr.io/distroless/static@sha256:%064d\nCOPY --from=build /app /app\nENV PORT=%d\n%sENTRYPOINT [\"/app\"]\n", i, i, 8000+i%100, user)
		case 3, 4, 5:
			name = fmt.Sprintf("k8s/app%d.yaml", i)
			body = fmt.Sprintf("apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: app%d, namespace: %s}\nspec:\n  template:\n    spec:\n      containers:\n      - name: s\n        image: vllm/vllm-openai:v0.6.%d\n        env: [{name: HF_TOKEN, valueFrom: {secretKeyRef: {name: hf, key: t}}}]\n        securityContext: {runAsNonRoot: %v, allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: {drop: [ALL]}}\n        resources: {limits: {cpu: \"4\", memory: 16Gi, nvidia.com/gpu: 1}}\n---\napiVersion: v1\nkind: Service\nmetadata: {name: app%d, namespace: %s}\nspec:\n  type: %s\n  ports: [{port: 8000}]\n",
				i, ns, i%10, i%2 == 0, i, ns, map[bool]string{true: "ClusterIP", false: "LoadBalancer"}[i%2 == 0])
		case 6:
			name = fmt.Sprintf("k8s/edge%d.yaml", i)
			body = fmt.Sprintf("apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata: {name: app%d, namespace: %s, annotations: {nginx.ingress.kubernetes.io/ssl-protocols: TLSv1.2 TLSv1.3}}\nspec:\n  tls: [{hosts: [a.example.com]}]\n  rules: [{http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: app%d, port: {number: 8000}}}}]}}]\n---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: deny, namespace: %s}\nspec: {podSelector: {}}\n", i, ns, i-3, ns)
		case 7:
			name = fmt.Sprintf("compose/c%d/compose.yaml", i)
			body = fmt.Sprintf("services:\n  ollama:\n    image: ollama/ollama:0.5.%d\n    ports: [\"%s11434:11434\"]\n    environment: {HF_TOKEN: \"${HF_TOKEN}\"}\n", i%10, map[bool]string{true: "127.0.0.1:", false: ""}[i%2 == 0])
		default:
			name = fmt.Sprintf("tf/b%d.tf", i)
			switch i % 3 {
			case 0:
				body = fmt.Sprintf("resource \"aws_s3_bucket\" \"b%d\" { bucket = \"acme-%d\" }\nresource \"aws_s3_bucket_versioning\" \"b%d\" {\n  bucket = aws_s3_bucket.b%d.id\n  versioning_configuration { status = \"Enabled\" }\n}\n", i, i, i, i)
			case 1:
				body = fmt.Sprintf("resource \"google_storage_bucket\" \"b%d\" {\n  name = \"acme-%d\"\n  public_access_prevention = \"enforced\"\n  versioning { enabled = true }\n}\n", i, i)
			default:
				body = fmt.Sprintf("resource \"azurerm_storage_account\" \"b%d\" {\n  name = \"acme%d\"\n  min_tls_version = \"TLS1_2\"\n  allow_nested_items_to_be_public = false\n}\nresource \"azurerm_storage_container\" \"c%d\" {\n  name = \"models\"\n  storage_account_id = azurerm_storage_account.b%d.id\n  container_access_type = \"private\"\n}\n", i, i, i, i)
			}
		}
		p := filepath.Join(dir, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			log.Fatal(err)
		}
	}
	var times, loads, prepares, evals []time.Duration
	var findings, docs int
	for range 5 {
		began := time.Now()
		ds, err := posture.Load([]string{dir})
		if err != nil {
			log.Fatal(err)
		}
		loaded := time.Now()
		e, err := posture.NewEngine(context.Background(), "")
		if err != nil {
			log.Fatal(err)
		}
		prepared := time.Now()
		rep, err := e.Evaluate(context.Background(), ds)
		if err != nil {
			log.Fatal(err)
		}
		end := time.Now()
		times = append(times, end.Sub(began))
		loads, prepares, evals = append(loads, loaded.Sub(began)), append(prepares, prepared.Sub(loaded)), append(evals, end.Sub(prepared))
		findings, docs = rep.Summary.Findings, len(ds)
	}
	median := func(d []time.Duration) time.Duration { slices.Sort(d); return d[len(d)/2].Round(time.Millisecond) }
	fmt.Printf("%d files (%d documents), %d findings: %s (median of 5; goal ≤ 2 s): load %s, prepare rules %s, evaluate %s\n",
		*n, docs, findings, median(times), median(loads), median(prepares), median(evals))
}
