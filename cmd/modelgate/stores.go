package main

import (
	"context"

	"github.com/modelgate/modelgate/audit"
	"github.com/modelgate/modelgate/registry"
	"github.com/modelgate/modelgate/server"
	"github.com/modelgate/modelgate/store"
	"github.com/modelgate/modelgate/store/postgres"
	"github.com/modelgate/modelgate/store/sqlite"
)

// localStore is what the commands that change state work on: access data
// and the model registry. *sqlite.DB and *postgres.DB are both.
type localStore interface {
	store.Store
	registry.Store
}

// openLocal opens the store and the audit log that record a command's
// changes: the data directory's, or with --postgres-dsn-env the ones the
// replicas share. Close with the returned function.
func openLocal(ctx context.Context, g *globals) (localStore, *audit.Log, func(), error) {
	if g.postgresEnv != "" {
		dsn, err := postgresDSN(g)
		if err != nil {
			return nil, nil, nil, err
		}
		db, err := postgres.Open(ctx, dsn, postgres.Options{})
		if err != nil {
			return nil, nil, nil, err
		}
		l, err := server.OpenSharedAudit(ctx, db.Audit(), g.dataDir, audit.Options{})
		if err != nil {
			db.Close()
			return nil, nil, nil, err
		}
		return db, l, func() { l.Close(); db.Close() }, nil
	}
	st, err := sqlite.OpenDir(ctx, g.dataDir)
	if err != nil {
		return nil, nil, nil, err
	}
	// Changes made here are recorded in the audit log like any other, in
	// the same file a running server writes to.
	l, adb, err := server.OpenAudit(ctx, g.dataDir, audit.Options{})
	if err != nil {
		st.Close()
		return nil, nil, nil, err
	}
	return st, l, func() { l.Close(); adb.Close(); st.Close() }, nil
}
