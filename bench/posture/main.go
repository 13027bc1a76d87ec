// Command posture measures `posture scan` on 1,000 generated files: 400
// Dockerfiles, 400 Kubernetes manifests (a Deployment and a Service each)
// and 200 Terraform files (a bucket and its settings), half of them
// hardened and half not. It times loading the files, preparing the rules
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
		switch {
		case i%5 < 2:
			name = fmt.Sprintf("svc%d/Dockerfile", i)
			body = fmt.Sprintf("FROM golang:1.26 AS build\nRUN go build -o /app ./cmd/%d\nFROM gcr.io/distroless/static@sha256:%064d\nCOPY --from=build /app /app\nENV PORT=%d\n%sENTRYPOINT [\"/app\"]\n", i, i, 8000+i%100, user)
		case i%5 < 4:
			name = fmt.Sprintf("k8s/app%d.yaml", i)
			body = fmt.Sprintf("apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: app%d}\nspec:\n  template:\n    spec:\n      containers:\n      - name: s\n        image: vllm/vllm-openai:v0.6.%d\n        securityContext: {runAsNonRoot: %v, allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: {drop: [ALL]}}\n        resources: {limits: {cpu: \"4\", memory: 16Gi}}\n---\napiVersion: v1\nkind: Service\nmetadata: {name: app%d}\nspec:\n  type: %s\n  ports: [{port: 8000}]\n",
				i, i%10, i%2 == 0, i, map[bool]string{true: "ClusterIP", false: "LoadBalancer"}[i%2 == 0])
		default:
			name = fmt.Sprintf("tf/b%d.tf", i)
			body = fmt.Sprintf("resource \"aws_s3_bucket\" \"b%d\" { bucket = \"acme-%d\" }\nresource \"aws_s3_bucket_versioning\" \"b%d\" {\n  bucket = aws_s3_bucket.b%d.id\n  versioning_configuration { status = \"Enabled\" }\n}\n", i, i, i, i)
		}
		p := filepath.Join(dir, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			log.Fatal(err)
		}
	}
	var times []time.Duration
	var findings, docs int
	for range 5 {
		began := time.Now()
		ds, err := posture.Load([]string{dir})
		if err != nil {
			log.Fatal(err)
		}
		e, err := posture.NewEngine(context.Background(), "")
		if err != nil {
			log.Fatal(err)
		}
		rep, err := e.Evaluate(context.Background(), ds)
		if err != nil {
			log.Fatal(err)
		}
		times = append(times, time.Since(began))
		findings, docs = rep.Summary.Findings, len(ds)
	}
	slices.Sort(times)
	fmt.Printf("%d files (%d documents), %d findings: %s (median of 5; goal ≤ 2 s)\n", *n, docs, findings, times[2].Round(time.Millisecond))
}
