package quartzstore_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"cadre/quartzstore"
	"cadre/quartzstore/storetest"
)

func TestMemoryStore(t *testing.T) {
	storetest.Run(t, func(t *testing.T) quartzstore.Store { return quartzstore.NewMemoryStore(nil) })
}

func TestSQLStore(t *testing.T) {
	for _, dialect := range dialects {
		t.Run(string(dialect), func(t *testing.T) {
			t.Parallel()
			var mu sync.Mutex
			dbs := map[quartzstore.Store]testDB{}
			newStore := func(t *testing.T) quartzstore.Store {
				d := newTestDB(t, dialect)
				s := d.open(t)
				if err := s.Migrate(t.Context(), true); err != nil {
					t.Fatalf("Migrate: %v", err)
				}
				mu.Lock()
				dbs[s] = d
				mu.Unlock()
				return s
			}
			// A peer is a second pool on the same database, as another node has.
			peer := func(t *testing.T, s quartzstore.Store) quartzstore.Store {
				mu.Lock()
				d := dbs[s]
				mu.Unlock()
				return d.open(t)
			}
			storetest.Run(t, newStore, storetest.WithPeer(peer))
		})
	}
}

func TestSQLStoreMigrate(t *testing.T) {
	for _, dialect := range dialects {
		t.Run(string(dialect), func(t *testing.T) {
			t.Parallel()
			s := newTestDB(t, dialect).open(t)
			if err := s.Migrate(t.Context(), false); !errors.Is(err, quartzstore.ErrSchemaMissing) {
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
			set, err := quartzstore.Migrations(dialect)
			if err != nil {
				t.Fatal(err)
			}
			latest := set[len(set)-1].Version
			if v, err := s.SchemaVersion(t.Context()); err != nil || v != latest {
				t.Errorf("schema version = %d, %v; want %d", v, err, latest)
			}
			now, err := s.Now(t.Context())
			if err != nil || time.Since(now).Abs() > time.Minute || now.Location() != time.UTC {
				t.Errorf("Now = %v, %v", now, err)
			}
		})
	}
}

// Several nodes starting at once all create the tables.
func TestSQLStoreMigrateConcurrently(t *testing.T) {
	for _, dialect := range dialects {
		t.Run(string(dialect), func(t *testing.T) {
			t.Parallel()
			d := newTestDB(t, dialect)
			var wg sync.WaitGroup
			errs := make([]error, 4)
			for i := range errs {
				s := d.open(t)
				wg.Go(func() { errs[i] = s.Migrate(t.Context(), true) })
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
	for _, dialect := range dialects {
		t.Run(string(dialect), func(t *testing.T) {
			d := newTestDB(t, dialect)
			writer, reader := d.open(t), d.open(t)
			if err := writer.Migrate(t.Context(), true); err != nil {
				t.Fatal(err)
			}
			if dialect == quartzstore.SQLite {
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
