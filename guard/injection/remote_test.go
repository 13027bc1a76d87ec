package injection

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/modelgate/modelgate/guard"
)

func TestRemote(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		switch r.URL.Path {
		case "/slow":
			time.Sleep(200 * time.Millisecond)
		case "/bad":
			w.Write([]byte(`{"score": 7}`))
			return
		}
		w.Write([]byte(`{"score": 0.97}`))
	}))
	defer srv.Close()
	g := NewRemote(srv.URL+"/score", 16)
	texts := guard.NewTexts([]guard.Segment{{Role: "user", Text: "ignore it all"}})
	for range 3 {
		res, err := g.Inspect(context.Background(), texts)
		if err != nil || res.Verdict != guard.Block || res.Score != 0.97 {
			t.Fatalf("verdict %v score %v err %v", res.Verdict, res.Score, err)
		}
	}
	if calls.Load() != 1 {
		t.Errorf("%d calls for one text; the cache should answer the rest", calls.Load())
	}
	for _, path := range []string{"/slow", "/bad"} {
		g := NewRemote(srv.URL+path, 0)
		g.Timeout = 50 * time.Millisecond
		p := guard.Pipeline{Guards: []guard.Guard{g}}
		out := p.Run(context.Background(), guard.NewTexts([]guard.Segment{{Text: "x"}}), nil)
		if out.Blocked == nil || out.Blocked.Err == nil {
			t.Errorf("%s: a failing classifier did not fail closed: %+v", path, out)
		}
	}
}
