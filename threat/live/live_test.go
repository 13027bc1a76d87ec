package live

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/modelgate/modelgate/access"
	"github.com/modelgate/modelgate/config"
	"github.com/modelgate/modelgate/server"
	"github.com/modelgate/modelgate/store"
	"github.com/modelgate/modelgate/store/sqlite"
	"github.com/modelgate/modelgate/threat"
)

// TestGatherFromAGateway runs the gateway, calls it with two keys (one
// the model declares, one it does not), and checks that the state read
// back from its data directory has its routes, guards and keys, and the
// observed flows that show the undeclared caller.
func TestGatherFromAGateway(t *testing.T) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"id":"x","object":"chat.completion","choices":[{"index":0,"message":{"role":"assistant","content":"ok"},"finish_reason":"stop"}]}`)
	}))
	defer up.Close()
	dir := t.TempDir()
	cfg, err := config.Parse("modelgate.yaml", []byte(`
listen: 127.0.0.1:0
admin_listen: 127.0.0.1:0
data_dir: `+dir+`
guards:
  default: standard
  pipelines:
    standard:
      input: [{guard: injection}, {guard: pii}]
      output: [{guard: sanitize}]
routes:
  - {model: chat, protocol: openai, upstream: {url: "`+up.URL+`/v1"}}
`))
	if err != nil {
		t.Fatal(err)
	}
	s, err := server.New(context.Background(), cfg, server.Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	var keys []string
	for _, name := range []string{"webapp", "batch"} {
		_, k, err := access.CreateKey(context.Background(), s.Store(), access.KeySpec{Name: name, Scopes: []string{"inference:invoke"}, Models: []string{"chat"}}, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, k)
	}
	for _, k := range keys {
		req, _ := http.NewRequest("POST", "http://"+s.Addr().String()+"/v1/chat/completions", strings.NewReader(`{"model":"chat","messages":[{"role":"user","content":"hello"}]}`))
		req.Header.Set("Authorization", "Bearer "+k)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("request: %d", resp.StatusCode)
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}

	db, err := sqlite.OpenDir(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	adb, err := sqlite.OpenAudit(context.Background(), filepath.Join(dir, sqlite.AuditFileName))
	if err != nil {
		t.Fatal(err)
	}
	defer adb.Close()
	st, err := Gather(context.Background(), Sources{Config: cfg, Store: db, Registry: db, Audit: store.AuditStore(adb)})
	if err != nil {
		t.Fatal(err)
	}
	r := st.Routes["chat"]
	if len(r.InputGuards) != 2 || r.OutputGuards[0] != "sanitize" || r.Protocol != "openai" || len(st.Keys) != 2 || !st.AuditFailClosed {
		t.Errorf("state: %+v", st)
	}

	m, err := threat.Parse("m.yaml", strings.NewReader(`
system: {name: chat}
assets:
  - {id: app, type: service, ref: "key:webapp"}
  - {id: chat, type: model, ref: "route:chat", tags: [llm]}
flows:
  - {id: f1, from: app, to: chat, protocol: https, auth: key}
`))
	if err != nil {
		t.Fatal(err)
	}
	lib, _ := threat.DefaultLibrary()
	res := threat.Check(m, lib, st, time.Now())
	if len(res.Undeclared) != 1 || res.Undeclared[0].Caller != "key:batch" || res.Undeclared[0].Model != "chat" {
		t.Errorf("undeclared flows: %+v (observed %+v)", res.Undeclared, st.Observed)
	}
	for _, a := range res.Threats {
		if a.Threat.ID == "AI-LLM01-DIRECT" && a.Status != threat.StatusMitigated {
			t.Errorf("the route's injection guard is not seen: %+v", a)
		}
	}
}
