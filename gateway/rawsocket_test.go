package gateway

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// rawExchange sends head (request line and headers, no body) on a fresh
// connection and returns the response and whether the server then closed
// the connection. It never sends the body the headers declare: that is
// the attack.
func rawExchange(t *testing.T, addr, head string) (*http.Response, bool) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(c, head); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("no response to a refusal: %v", err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	// The server must close its end rather than wait for the body.
	_, err = br.ReadByte()
	return resp, err == io.EOF
}

func rawPost(host, path, auth string, declared int) string {
	h := "POST " + path + " HTTP/1.1\r\nHost: " + host + "\r\nContent-Type: application/json\r\n"
	if auth != "" {
		h += "Authorization: Bearer " + auth + "\r\n"
	}
	return h + "Content-Length: " + strconv.Itoa(declared) + "\r\n\r\n"
}

// TestRefusalWithUndeliveredBodyIsDelivered: a request that declares a
// body it never sends gets its refusal at once and its connection closed,
// whether it is refused before the body is read (401, 403, 404, 405) or
// while the body is awaited (408).
func TestRefusalWithUndeliveredBodyIsDelivered(t *testing.T) {
	h := newHarness(t, func(o *Options) { o.Limits.BodyReadTimeout = 300 * time.Millisecond })
	key, _ := h.key(nil)
	addr := h.srv.Listener.Addr().String()
	for _, c := range []struct {
		name, head string
		status     int
	}{
		{"no key", rawPost(addr, "/v1/chat/completions", "", 1000), 401},
		{"bad key", rawPost(addr, "/v1/chat/completions", "mg_bogus", 200000), 401},
		{"wrong path", rawPost(addr, "/v1/nothing", key, 1000), 404},
		{"wrong method", strings.Replace(rawPost(addr, "/v1/models", key, 1000), "POST", "PUT", 1), 405},
		{"body never arrives", rawPost(addr, "/v1/chat/completions", key, 1000), 408},
	} {
		t.Run(c.name, func(t *testing.T) {
			resp, closed := rawExchange(t, addr, c.head)
			if resp.StatusCode != c.status {
				t.Fatalf("status %d, want %d", resp.StatusCode, c.status)
			}
			if !resp.Close || !closed {
				t.Errorf("the connection stayed open (Connection: close %v, closed %v)", resp.Close, closed)
			}
		})
	}
}

// TestManyStalledBodiesHoldNoConnections: hundreds of clients that declare
// bodies and never send them are all answered, and none of their
// connections outlives its answer.
func TestManyStalledBodiesHoldNoConnections(t *testing.T) {
	h := newHarness(t)
	var open atomic.Int64
	h.srv.Close()
	h.srv = httptest.NewUnstartedServer(h.gw)
	h.srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		switch s {
		case http.StateNew:
			open.Add(1)
		case http.StateClosed, http.StateHijacked:
			open.Add(-1)
		}
	}
	h.srv.Start()
	defer h.srv.Close()
	addr := h.srv.Listener.Addr().String()
	const clients = 200
	var wg sync.WaitGroup
	var answered atomic.Int64
	conns := make([]net.Conn, clients)
	for i := range clients {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		conns[i] = c
		defer c.Close()
		wg.Add(1)
		go func() {
			defer wg.Done()
			c.SetDeadline(time.Now().Add(10 * time.Second))
			io.WriteString(c, rawPost(addr, "/v1/chat/completions", "", 100000))
			if resp, err := http.ReadResponse(bufio.NewReader(c), nil); err == nil && resp.StatusCode == 401 {
				answered.Add(1)
			}
		}()
	}
	wg.Wait()
	if answered.Load() != clients {
		t.Fatalf("%d of %d stalled clients got their 401", answered.Load(), clients)
	}
	deadline := time.Now().Add(5 * time.Second)
	for open.Load() > 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := open.Load(); n > 0 {
		t.Fatalf("%d connections are still held after their refusals", n)
	}
}
