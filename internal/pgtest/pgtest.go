// Package pgtest gives tests and benchmarks a PostgreSQL database of their
// own: a fresh schema in the database named by MODELGATE_TEST_POSTGRES_DSN,
// dropped when they end. Tests skip, saying why, when the variable is
// unset.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/modelgate/modelgate/internal/testenv"
)

// EnvDSN names the variable holding the test database's DSN.
var EnvDSN = testenv.Postgres.Env

// DSN returns the DSN of a new empty schema (as search_path), dropped when
// t ends.
func DSN(t testing.TB) string {
	t.Helper()
	base := os.Getenv(EnvDSN)
	if base == "" {
		t.Skip(testenv.Postgres.SkipMessage())
	}
	dsn, drop, err := NewSchema(context.Background(), base, "mg_test_")
	if err != nil {
		t.Fatalf("%s: %v", EnvDSN, err)
	}
	t.Cleanup(drop)
	return dsn
}

// NewSchema creates a schema named prefix plus random hex in the database
// at base and returns the DSN that selects it and a function that drops
// it.
func NewSchema(ctx context.Context, base, prefix string) (dsn string, drop func(), err error) {
	u, err := url.Parse(base)
	if err != nil || u.Scheme == "" {
		return "", nil, fmt.Errorf("the DSN must be a URL (postgres://...)")
	}
	var b [6]byte
	rand.Read(b[:])
	schema := prefix + hex.EncodeToString(b[:])
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		return "", nil, err
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		return "", nil, err
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String(), func() {
		conn, err := pgx.Connect(context.Background(), base)
		if err != nil {
			return
		}
		defer conn.Close(context.Background())
		conn.Exec(context.Background(), "DROP SCHEMA "+schema+" CASCADE")
	}, nil
}
