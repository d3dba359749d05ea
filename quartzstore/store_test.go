package quartzstore_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"cadre/db"
	"cadre/db/dbtest"
	"cadre/quartzstore"
	"cadre/quartzstore/storetest"
)

func TestMemoryStore(t *testing.T) {
	storetest.Run(t, func(t *testing.T) quartzstore.Store { return quartzstore.NewMemoryStore(nil) })
}

func TestGormStore(t *testing.T) {
	for _, dialect := range dbtest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			var mu sync.Mutex
			urls := map[quartzstore.Store]string{}
			open := func(t *testing.T, url string) *quartzstore.GormStore {
				t.Helper()
				d, err := db.Open(t.Context(), db.Options{URL: url})
				if err != nil {
					t.Fatalf("open %s: %v", dialect, err)
				}
				t.Cleanup(func() { _ = d.Close() })
				return quartzstore.NewGormStore(d)
			}
			newStore := func(t *testing.T) quartzstore.Store {
				url := dbtest.URL(t, dialect)
				s := open(t, url)
				if err := s.Migrate(t.Context(), true); err != nil {
					t.Fatalf("Migrate: %v", err)
				}
				mu.Lock()
				urls[s] = url
				mu.Unlock()
				return s
			}
			// A peer is a second pool on the same database, as another node has.
			peer := func(t *testing.T, s quartzstore.Store) quartzstore.Store {
				mu.Lock()
				url := urls[s]
				mu.Unlock()
				return open(t, url)
			}
			storetest.Run(t, newStore, storetest.WithPeer(peer))
		})
	}
}

func TestGormStoreMigrate(t *testing.T) {
	for _, dialect := range dbtest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			d, err := db.Open(t.Context(), db.Options{URL: dbtest.URL(t, dialect)})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = d.Close() })
			s := quartzstore.NewGormStore(d)
			if err := s.Migrate(t.Context(), false); !errors.Is(err, db.ErrSchemaMissing) {
				t.Fatalf("Migrate(createTables=false) on an empty database = %v, want ErrSchemaMissing", err)
			}
			for range 2 {
				if err := s.Migrate(t.Context(), true); err != nil {
					t.Fatalf("Migrate(createTables=true): %v", err)
				}
			}
			if err := s.Migrate(t.Context(), false); err != nil {
				t.Fatalf("Migrate(createTables=false) on a migrated database: %v", err)
			}
			set, _ := quartzstore.Migrations(d.Dialect)
			if v, err := d.SchemaVersion(t.Context(), set); err != nil || v != set.Latest() {
				t.Errorf("schema version = %d, %v; want %d", v, err, set.Latest())
			}
			now, err := s.Now(t.Context())
			if err != nil || time.Since(now).Abs() > time.Minute || now.Location() != time.UTC {
				t.Errorf("Now = %v, %v", now, err)
			}
		})
	}
}

// Several nodes starting at once all create the tables.
func TestGormStoreMigrateConcurrently(t *testing.T) {
	for _, dialect := range dbtest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			url := dbtest.URL(t, dialect)
			var wg sync.WaitGroup
			errs := make([]error, 4)
			for i := range errs {
				d, err := db.Open(t.Context(), db.Options{URL: url})
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { _ = d.Close() })
				wg.Go(func() { errs[i] = quartzstore.NewGormStore(d).Migrate(t.Context(), true) })
			}
			wg.Wait()
			for i, err := range errs {
				if err != nil {
					t.Errorf("node %d: Migrate: %v", i, err)
				}
			}
		})
	}
}

// TestNotifyWakesPeers: on PostgreSQL a trigger upserted through one pool
// wakes a scheduler on another pool at once, though that scheduler polls only
// once a minute; on SQLite the store says it has no notifications.
func TestNotifyWakesPeers(t *testing.T) {
	for _, dialect := range dbtest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			url := dbtest.URL(t, dialect)
			open := func() *quartzstore.GormStore {
				d, err := db.Open(t.Context(), db.Options{URL: url})
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { _ = d.Close() })
				return quartzstore.NewGormStore(d)
			}
			writer, reader := open(), open()
			if err := writer.Migrate(t.Context(), true); err != nil {
				t.Fatal(err)
			}
			if dialect == "sqlite" {
				if err := reader.TriggersListen(t.Context(), func(string) {}); !errors.Is(err, quartzstore.ErrListenUnsupported) {
					t.Fatalf("TriggersListen on SQLite = %v, want ErrListenUnsupported", err)
				}
				return
			}
			ran := make(chan string, 1)
			sched := quartzstore.NewScheduler(reader, quartzstore.SchedulerConfig{
				InstanceID: "reader", IdleWait: time.Minute, CheckInInterval: time.Minute,
				Groups: func() []string { return []string{"", "reader"} },
				Runner: func(_ context.Context, f quartzstore.FiredTrigger) error { ran <- f.JobKey; return nil },
			})
			if err := sched.Start(t.Context()); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = sched.Stop(context.Background()) })
			time.Sleep(300 * time.Millisecond) // let the first poll pass and the listener connect
			if err := writer.JobsUpsert(t.Context(), quartzstore.Job{Key: "job", Group: "reader"}); err != nil {
				t.Fatal(err)
			}
			if err := writer.TriggersUpsert(t.Context(), quartzstore.Trigger{Key: "job", JobKey: "job", Kind: quartzstore.KindOnce}); err != nil {
				t.Fatal(err)
			}
			select {
			case key := <-ran:
				if key != "job" {
					t.Fatalf("ran %q, want job", key)
				}
			case <-time.After(20 * time.Second):
				t.Fatal("the trigger did not run within 20 s: the notification did not wake the scheduler (it polls once a minute)")
			}
		})
	}
}
