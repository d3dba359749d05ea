package gormrepo_test

import (
	"context"
	"log/slog"
	"sync"
	"testing"

	"cadre/app/auth/sessionstoretest"
	appcluster "cadre/app/cluster"
	"cadre/app/cluster/nodestoretest"
	"cadre/db"
	"cadre/db/dbtest"
	"cadre/infrastructure/gormrepo"
)

// openURL opens (and migrates) the database at url on a pool of its own, as
// one node process has; closed when the test ends.
func openURL(t *testing.T, url string) *gormrepo.Repo {
	t.Helper()
	ctx := context.Background()
	d, err := db.Open(ctx, db.Options{URL: url})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	if _, err := d.Migrate(ctx, db.RepositoryMigrations(d.Dialect), db.ActionCreate, db.ActionUpgrade, slog.Default()); err != nil {
		t.Fatal(err)
	}
	return gormrepo.New(d)
}

// databases opens repos on fresh databases and remembers which, so that a
// suite's peer is a second pool on the same database, as another node has.
type databases struct {
	dialect string
	mu      sync.Mutex
	urls    map[any]string
}

func newDatabases(dialect string) *databases {
	return &databases{dialect: dialect, urls: map[any]string{}}
}

// fresh opens a repo on a new, migrated database.
func (d *databases) fresh(t *testing.T) *gormrepo.Repo {
	url := dbtest.URL(t, d.dialect)
	r := openURL(t, url)
	d.mu.Lock()
	d.urls[r] = url
	d.mu.Unlock()
	return r
}

// peer opens a second pool on the database of a repo made by fresh.
func (d *databases) peer(t *testing.T, of any) *gormrepo.Repo {
	d.mu.Lock()
	url := d.urls[of]
	d.mu.Unlock()
	return openURL(t, url)
}

func TestNodeStoreContract(t *testing.T) {
	for _, dialect := range dbtest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			dbs := newDatabases(dialect)
			nodestoretest.Run(t, func(t *testing.T) appcluster.NodeStore { return dbs.fresh(t) },
				nodestoretest.WithPeer(func(t *testing.T, s appcluster.NodeStore) appcluster.NodeStore { return dbs.peer(t, s) }))
		})
	}
}

func TestSessionStoreContract(t *testing.T) {
	for _, dialect := range dbtest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			sessionstoretest.Run(t, func(t *testing.T) sessionstoretest.Store {
				return gormrepo.New(openMigrated(t, dialect))
			})
		})
	}
}
