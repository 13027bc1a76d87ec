package sqlite_test

import (
	"context"
	"testing"

	"github.com/modelgate/modelgate/store"
	"github.com/modelgate/modelgate/store/sqlite"
	"github.com/modelgate/modelgate/store/storetest"
)

func TestAuditConformance(t *testing.T) {
	storetest.RunAudit(t, func(t *testing.T) store.AuditStore {
		db, err := sqlite.OpenAuditDir(context.Background(), t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		return db
	})
}
