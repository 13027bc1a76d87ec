package gateway

import (
	"context"
	"testing"

	"github.com/modelgate/modelgate/store"
	"github.com/modelgate/modelgate/store/sqlite"
)

// reopen opens a second handle on the harness's database file.
func reopen(t *testing.T, h *harness) store.Store {
	t.Helper()
	var path string
	switch s := h.store.(type) {
	case interface{ Path() string }:
		path = s.Path()
	default:
		t.Fatalf("store %T has no path", h.store)
	}
	s, err := sqlite.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}
