package testenv

import (
	"strings"
	"testing"
)

func TestAnnounceNamesWhatIsMissing(t *testing.T) {
	t.Setenv(Postgres.Env, "")
	t.Setenv(Redis.Env, "127.0.0.1:6379")
	var b strings.Builder
	announceTo(&b, "store/postgres", []Service{Postgres, Redis})
	out := b.String()
	if strings.Count(out, "\n") != 1 || !strings.Contains(out, "store/postgres: PostgreSQL integration tests skipped: MODELGATE_TEST_POSTGRES_DSN is not set") {
		t.Errorf("%q", out)
	}
	t.Setenv(Postgres.Env, "postgres://x")
	b.Reset()
	announceTo(&b, "store/postgres", []Service{Postgres, Redis})
	if b.Len() != 0 {
		t.Errorf("announced with every service set: %q", b.String())
	}
}
