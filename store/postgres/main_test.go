package postgres

import (
	"os"
	"testing"

	"github.com/modelgate/modelgate/internal/testenv"
)

func TestMain(m *testing.M) {
	testenv.Announce("store/postgres", testenv.Postgres)
	os.Exit(m.Run())
}
