package db_test

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"testing"

	"cadre/db"
	"cadre/db/dbtest"
)

// TestConcurrentMigrations: nodes starting together on an empty database all
// end at the latest version; none sees a half-migrated schema.
func TestConcurrentMigrations(t *testing.T) {
	for _, dialect := range dbtest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			url := dbtest.URL(t, dialect)
			ctx := context.Background()
			const nodes = 4
			var wg sync.WaitGroup
			errs := make([]error, nodes)
			versions := make([]int, nodes)
			for i := range nodes {
				wg.Add(1)
				go func() {
					defer wg.Done()
					d, err := db.Open(ctx, db.Options{URL: url, MaxPoolSize: 2})
					if err != nil {
						errs[i] = err
						return
					}
					defer d.Close()
					versions[i], errs[i] = d.Migrate(ctx, db.RepositoryMigrations(d.Dialect), db.ActionCreate, db.ActionStop, slog.Default())
				}()
			}
			wg.Wait()
			latest := db.RepositoryMigrations(db.SQLite).Latest()
			for i := range nodes {
				if errs[i] != nil || versions[i] != latest {
					t.Errorf("node %d: version %d, err %v; want %d", i, versions[i], errs[i], latest)
				}
			}
		})
	}
}

func TestSchemaActions(t *testing.T) {
	ctx := context.Background()
	d, err := db.Open(ctx, db.Options{URL: dbtest.SQLite(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	set := db.RepositoryMigrations(d.Dialect)
	if _, err := d.Migrate(ctx, set, db.ActionStop, db.ActionStop, slog.Default()); !errors.Is(err, db.ErrSchemaMissing) {
		t.Fatalf("missingSchemaAction=stop on an empty database: %v", err)
	}
	old := db.MigrationSet{Table: set.Table, Migrations: set.Migrations[:1]}
	if _, err := d.Migrate(ctx, old, db.ActionCreate, db.ActionStop, slog.Default()); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Migrate(ctx, set, db.ActionCreate, db.ActionStop, slog.Default()); !errors.Is(err, db.ErrSchemaOutdated) {
		t.Fatalf("upgradeableSchemaAction=stop with pending migrations: %v", err)
	}
	if v, err := d.Migrate(ctx, set, db.ActionCreate, db.ActionUpgrade, slog.Default()); err != nil || v != set.Latest() {
		t.Fatalf("upgrade: %d %v", v, err)
	}
	if _, err := d.Migrate(ctx, old, db.ActionCreate, db.ActionStop, slog.Default()); !errors.Is(err, db.ErrSchemaTooNew) {
		t.Fatalf("an older binary on a newer schema: %v", err)
	}
}
