package gormrepo_test

import (
	"context"
	"log/slog"
	"testing"

	"cadre/app/repository"
	"cadre/app/repository/repotest"
	"cadre/app/taskmanager"
	"cadre/app/taskmanager/taskstoretest"
	"cadre/db"
	"cadre/db/dbtest"
)

func TestRepositoryContract(t *testing.T) {
	for _, dialect := range dbtest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			dbs := newDatabases(dialect)
			repotest.Run(t, func(t *testing.T) repository.Store { return dbs.fresh(t) },
				repotest.WithPeer(func(t *testing.T, s repository.Store) repository.Store { return dbs.peer(t, s) }))
		})
	}
}

func openMigrated(t *testing.T, dialect string) *db.DB {
	t.Helper()
	ctx := context.Background()
	d, err := db.Open(ctx, db.Options{URL: dbtest.URL(t, dialect)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	if _, err := d.Migrate(ctx, db.RepositoryMigrations(d.Dialect), db.ActionCreate, db.ActionUpgrade, slog.Default()); err != nil {
		t.Fatal(err)
	}
	return d
}

func TestTaskStoreContract(t *testing.T) {
	for _, dialect := range dbtest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			dbs := newDatabases(dialect)
			taskstoretest.Run(t, func(t *testing.T) taskmanager.TaskStore { return dbs.fresh(t) },
				taskstoretest.WithPeer(func(t *testing.T, s taskmanager.TaskStore) taskmanager.TaskStore { return dbs.peer(t, s) }))
		})
	}
}
