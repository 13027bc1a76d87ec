// Package cluster runs several `modelgate serve` processes that share
// PostgreSQL and Redis, for the multi-replica tests and benchmarks.
package cluster

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/modelgate/modelgate/access"
	"github.com/modelgate/modelgate/audit"
	"github.com/modelgate/modelgate/store"
	"github.com/modelgate/modelgate/store/postgres"
)

// Upstream starts an OpenAI-compatible upstream that answers every request
// at once with a short completion. Close it when done.
func Upstream() *httptest.Server {
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"choices":[{"message":{"content":"ok"}}],"usage":{"prompt_tokens":1,"completion_tokens":1}}`)
	}))
}

// Build compiles the modelgate binary into dir.
func Build(dir, pkg string) (string, error) {
	path := filepath.Join(dir, "modelgate")
	out, err := exec.Command("go", "build", "-o", path, pkg).CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go build: %v\n%s", err, out)
	}
	return path, nil
}

// Options describe a cluster.
type Options struct {
	Binary    string // the modelgate binary
	Dir       string // where replicas keep their data directories
	DSN       string // PostgreSQL
	RedisAddr string
	Upstream  string // base URL of an OpenAI-compatible upstream (without /v1)
	// Extra is YAML appended to each replica's configuration.
	Extra string
	// Log receives each replica's log lines that are not Info (nil:
	// discarded).
	Log func(replica int, line string)
}

// Cluster is a set of running replicas.
type Cluster struct {
	opts     Options
	keys     string
	DB       *postgres.DB
	Replicas []*Replica
}

// Replica is one running `modelgate serve`.
type Replica struct {
	Cmd     *exec.Cmd
	Gateway string // http://host:port
	Admin   string
	DataDir string
	Exited  chan struct{}
	// Sequencing is set once the replica has logged that it sequences
	// the shared audit log.
	Sequencing atomic.Bool
}

// Start starts n replicas. All sign audit checkpoints with one key pair,
// as a real deployment must.
func Start(ctx context.Context, o Options, n int) (*Cluster, error) {
	c := &Cluster{opts: o, keys: filepath.Join(o.Dir, "audit-keys")}
	if _, _, err := audit.LoadOrCreateKeys(c.keys); err != nil {
		return nil, err
	}
	var err error
	if c.DB, err = postgres.Open(ctx, o.DSN, postgres.Options{}); err != nil {
		return nil, err
	}
	for i := range n {
		if err := c.start(i); err != nil {
			c.Stop()
			return nil, err
		}
	}
	return c, nil
}

func (c *Cluster) start(i int) error {
	data := filepath.Join(c.opts.Dir, fmt.Sprintf("replica%d", i))
	if err := os.MkdirAll(data, 0o700); err != nil {
		return err
	}
	for _, f := range []string{audit.SignerKeyFile, audit.VerifierKeyFile} {
		b, err := os.ReadFile(filepath.Join(c.keys, f))
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(data, f), b, 0o600); err != nil {
			return err
		}
	}
	cfg := fmt.Sprintf(`listen: 127.0.0.1:0
admin_listen: 127.0.0.1:0
data_dir: %s
log: {format: json, level: info}
store: {driver: postgres, dsn_env: MODELGATE_CLUSTER_PG}
redis: {addr: %s}
routes:
  - model: m
    protocol: openai
    upstream: {url: %s/v1}
%s`, data, c.opts.RedisAddr, c.opts.Upstream, c.opts.Extra)
	path := filepath.Join(data, "modelgate.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		return err
	}
	cmd := exec.Command(c.opts.Binary, "serve", "--config", path)
	cmd.Env = append(os.Environ(), "MODELGATE_CLUSTER_PG="+c.opts.DSN)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	r := &Replica{Cmd: cmd, DataDir: data, Exited: make(chan struct{})}
	addrs := make(chan [2]string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		sent := false
		for sc.Scan() {
			var line struct{ Msg, Gateway, Admin string }
			if json.Unmarshal(sc.Bytes(), &line) == nil && line.Msg == "modelgate serving" && !sent {
				addrs <- [2]string{line.Gateway, line.Admin}
				sent = true
			}
			if strings.Contains(line.Msg, "now sequences the shared log") {
				r.Sequencing.Store(true)
			}
			if c.opts.Log != nil && !strings.Contains(sc.Text(), `"level":"INFO"`) {
				c.opts.Log(i, sc.Text())
			}
		}
		cmd.Wait()
		close(r.Exited)
	}()
	select {
	case a := <-addrs:
		r.Gateway, r.Admin = a[0], a[1]
	case <-r.Exited:
		return fmt.Errorf("replica %d exited before serving", i)
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		return fmt.Errorf("replica %d did not start", i)
	}
	c.Replicas = append(c.Replicas, r)
	return nil
}

// DSN returns the database the replicas share.
func (c *Cluster) DSN() string { return c.opts.DSN }

// Stop stops every replica still running (SIGTERM, then SIGKILL after
// 10 s) and closes the database.
func (c *Cluster) Stop() {
	for _, r := range c.Replicas {
		r.Stop()
	}
	if c.DB != nil {
		c.DB.Close()
	}
}

// Stop stops one replica gracefully.
func (r *Replica) Stop() {
	select {
	case <-r.Exited:
		return
	default:
	}
	r.Cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-r.Exited:
	case <-time.After(10 * time.Second):
		r.Cmd.Process.Kill()
		<-r.Exited
	}
}

// Kill kills one replica at once (SIGKILL).
func (r *Replica) Kill() error {
	if err := r.Cmd.Process.Kill(); err != nil {
		return err
	}
	<-r.Exited
	return nil
}

// Key creates an API key in the shared store and returns its secret.
func (c *Cluster) Key(ctx context.Context, mutate func(*store.Key)) (string, *store.Key, error) {
	id, full, hash := access.NewKey()
	k := &store.Key{ID: id, Name: "cluster", SecretHash: hash, CreatedAt: time.Now(),
		Scopes: []string{"inference:invoke", "admin"}, Models: []string{"*"}}
	if mutate != nil {
		mutate(k)
	}
	return full, k, c.DB.CreateKey(ctx, k)
}

// Client is an HTTP client for load against replicas.
var Client = &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 256}}

// Call sends one chat request to a replica and returns the status and the
// request id.
func (r *Replica) Call(key string) (int, string, error) {
	req, _ := http.NewRequest("POST", r.Gateway+"/v1/chat/completions", strings.NewReader(`{"model":"m","messages":[{"role":"user","content":"hi"}]}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := Client.Do(req)
	if err != nil {
		return 0, "", err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, resp.Header.Get("X-Request-Id"), nil
}
