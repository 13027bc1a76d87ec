// Command signing measures model hashing and signing on a generated
// multi-gigabyte model: four 1 GB files of random-looking bytes, hashed in
// parallel (files mode and 1 GB shards), then signed and verified, then
// registered and gated as the model registry does.
//
//	go run ./bench/signing [-gb 4]
package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"flag"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"runtime"
	"time"

	"github.com/modelgate/modelgate/policy"
	"github.com/modelgate/modelgate/registry"
	"github.com/modelgate/modelgate/signing"
	"github.com/modelgate/modelgate/store/sqlite"
)

func main() {
	gb := flag.Int("gb", 4, "model size in GB (one file per GB)")
	flag.Parse()
	dir, err := os.MkdirTemp("", "mg-sign-bench")
	must(err)
	defer os.RemoveAll(dir)
	model := filepath.Join(dir, "model")
	must(os.MkdirAll(model, 0o755))
	chunk := make([]byte, 4<<20)
	for i := range chunk {
		chunk[i] = byte(i*2654435761>>13) ^ byte(i)
	}
	for f := range *gb {
		w, err := os.Create(filepath.Join(model, fmt.Sprintf("model-%05d-of-%05d.safetensors", f+1, *gb)))
		must(err)
		for written := 0; written < 1<<30; written += len(chunk) {
			chunk[0]++
			_, err := w.Write(chunk)
			must(err)
		}
		must(w.Close())
	}
	size := float64(*gb) * (1 << 30)
	fmt.Printf("bench/signing: a %d GB model (%d files), GOMAXPROCS=%d; files read from the page cache after a first pass\n\n| step | time | throughput |\n|---|---:|---:|\n", *gb, *gb, runtime.GOMAXPROCS(0))
	signing.BuildManifest(model, signing.Serialization{}) // warm the page cache
	for _, ser := range []signing.Serialization{{Method: "files"}, {Method: "shards"}} {
		start := time.Now()
		_, err := signing.BuildManifest(model, ser)
		must(err)
		d := time.Since(start)
		fmt.Printf("| manifest, %s | %.2f s | %.2f GB/s |\n", ser.Method, d.Seconds(), size/d.Seconds()/1e9)
	}
	priv, _, err := signing.Keygen(filepath.Join(dir, "keys"), elliptic.P256())
	must(err)
	key, err := signing.LoadPrivateKey(priv)
	must(err)
	start := time.Now()
	_, err = signing.Sign(model, signing.SignOptions{Key: key})
	must(err)
	d := time.Since(start)
	fmt.Printf("| sign (hash + sign) | %.2f s | %.2f GB/s |\n", d.Seconds(), size/d.Seconds()/1e9)
	start = time.Now()
	_, err = signing.Verify(model, signing.VerifyOptions{PublicKey: &key.PublicKey})
	must(err)
	d = time.Since(start)
	fmt.Printf("| verify (hash + check) | %.2f s | %.2f GB/s |\n", d.Seconds(), size/d.Seconds()/1e9)

	// The registry: its manifest (shards, with file sizes and formats),
	// then register (scan, manifest, verify) and the gate check a
	// promotion runs (manifest again, verify, policies).
	start = time.Now()
	_, err = registry.BuildManifest(model, nil)
	must(err)
	d = time.Since(start)
	fmt.Printf("| registry manifest | %.2f s | %.2f GB/s |\n", d.Seconds(), size/d.Seconds()/1e9)
	ctx := context.Background()
	db, err := sqlite.OpenDir(ctx, filepath.Join(dir, "data"))
	must(err)
	defer db.Close()
	gate, err := policy.New(ctx, "")
	must(err)
	reg := &registry.Registry{Store: db, Gate: gate, Trust: &registry.Trust{Keys: []*ecdsa.PublicKey{&key.PublicKey}}}
	start = time.Now()
	m, err := reg.RegisterModel(ctx, registry.ModelRequest{Name: "bench", Version: "1", Path: model})
	must(err)
	d = time.Since(start)
	if !m.Signature.Valid {
		log.Fatalf("signature: %s", m.Signature.Error)
	}
	fmt.Printf("| models register (scan + manifest + verify) | %.2f s | %.2f GB/s of model |\n", d.Seconds(), size/d.Seconds()/1e9)
	start = time.Now()
	_, _, err = reg.Check(ctx, "bench@1")
	must(err)
	d = time.Since(start)
	fmt.Printf("| gate check (manifest + verify + policies) | %.2f s | %.2f GB/s of model |\n", d.Seconds(), size/d.Seconds()/1e9)
}

func must(err error) {
	if err != nil {
		log.Fatal(err)
	}
}
