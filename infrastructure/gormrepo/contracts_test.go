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

func TestNodeStoreContract(t *testing.T) {
	for _, dialect := range dbtest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			var mu sync.Mutex
			urls := map[appcluster.NodeStore]string{}
			newStore := func(t *testing.T) appcluster.NodeStore {
				url := dbtest.URL(t, dialect)
				r := openURL(t, url)
				mu.Lock()
				urls[r] = url
				mu.Unlock()
				return r
			}
			// A peer is a second pool on the same database, as another node has.
			peer := func(t *testing.T, s appcluster.NodeStore) appcluster.NodeStore {
				mu.Lock()
				url := urls[s]
				mu.Unlock()
				return openURL(t, url)
			}
			nodestoretest.Run(t, newStore, nodestoretest.WithPeer(peer))
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
