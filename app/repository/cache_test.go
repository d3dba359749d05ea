package repository_test

import (
	"context"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"cadre/app/repository"
	"cadre/db"
	"cadre/db/dbtest"
	"cadre/domain/object"
	"cadre/infrastructure/gormrepo"
)

// countingStore counts reads that reach the database.
type countingStore struct {
	repository.Store
	reads atomic.Int64
}

func (s *countingStore) Get(ctx context.Context, t object.Type, oid string) (object.Object, error) {
	s.reads.Add(1)
	return s.Store.Get(ctx, t, oid)
}

func (s *countingStore) Search(ctx context.Context, q object.Query) (object.Page, error) {
	s.reads.Add(1)
	return s.Store.Search(ctx, q)
}

type plainHasher struct{}

func (plainHasher) Hash(p string) (string, error) { return "plain:" + p, nil }

func setup(t *testing.T) (*countingStore, *repository.Service) {
	t.Helper()
	ctx := context.Background()
	d, err := db.Open(ctx, db.Options{URL: dbtest.SQLite(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	if _, err := d.Migrate(ctx, db.RepositoryMigrations(d.Dialect), db.ActionCreate, db.ActionUpgrade, slog.Default()); err != nil {
		t.Fatal(err)
	}
	base := &countingStore{Store: gormrepo.New(d)}
	svc := repository.NewService(base, plainHasher{}, time.Now, slog.Default())
	if _, err := svc.Bootstrap(ctx, "Secret123!x"); err != nil {
		t.Fatal(err)
	}
	return base, svc
}

func TestGlobalCache(t *testing.T) {
	ctx := context.Background()
	base, svc := setup(t)
	now := time.Now()
	clock := func() time.Time { return now }
	c := repository.NewGlobalCache(base, time.Minute, clock, nil)
	get := func() *object.SystemConfiguration {
		o, err := c.Get(ctx, object.TypeSystemConfiguration, object.SystemConfigurationOID)
		if err != nil {
			t.Fatal(err)
		}
		return o.(*object.SystemConfiguration)
	}
	get()
	before := base.reads.Load()
	get().DeploymentInformation.SubscriptionIdentifier = "mutated copy"
	if base.reads.Load() != before {
		t.Fatal("a second read of the system configuration reached the database")
	}
	if get().DeploymentInformation.SubscriptionIdentifier != "" {
		t.Fatal("a caller's change to a cached object leaked into the cache")
	}
	// A change made by another node arrives as an invalidation.
	if _, err := svc.ModifySystem(ctx, repository.ModifyInput{Type: object.TypeSystemConfiguration, OID: object.SystemConfigurationOID,
		Apply: func(o object.Object) error {
			o.(*object.SystemConfiguration).DeploymentInformation.SubscriptionIdentifier = "peer"
			return nil
		}}); err != nil {
		t.Fatal(err)
	}
	if get().DeploymentInformation.SubscriptionIdentifier != "" {
		t.Fatal("the cache saw a peer's change without an invalidation (test setup broken)")
	}
	c.Invalidate(object.TypeSystemConfiguration, object.SystemConfigurationOID)
	if get().DeploymentInformation.SubscriptionIdentifier != "peer" {
		t.Fatal("invalidation did not drop the cached object")
	}
	// A missed invalidation converges within the time-to-live.
	if _, err := svc.ModifySystem(ctx, repository.ModifyInput{Type: object.TypeSystemConfiguration, OID: object.SystemConfigurationOID,
		Apply: func(o object.Object) error {
			o.(*object.SystemConfiguration).DeploymentInformation.SubscriptionIdentifier = "missed"
			return nil
		}}); err != nil {
		t.Fatal(err)
	}
	now = now.Add(61 * time.Second)
	if get().DeploymentInformation.SubscriptionIdentifier != "missed" {
		t.Fatal("the time-to-live did not expire the entry")
	}
	// Users are never globally cached.
	before = base.reads.Load()
	_, _ = c.Search(ctx, object.Query{Type: object.TypeUser})
	_, _ = c.Search(ctx, object.Query{Type: object.TypeUser})
	if base.reads.Load()-before != 2 {
		t.Fatal("user searches were cached globally")
	}
}

func TestLocalCache(t *testing.T) {
	ctx := context.Background()
	base, svc := setup(t)
	local := repository.NewLocalCache(base, nil)
	run := svc.WithStore(local)
	role, err := run.AddSystem(ctx, repository.AddInput{Object: &object.Role{Meta: object.Meta{Name: "Ops"}}})
	if err != nil {
		t.Fatal(err)
	}
	before := base.reads.Load()
	for range 3 {
		if _, err := local.Get(ctx, object.TypeRole, role.ObjectMeta().OID); err != nil {
			t.Fatal(err)
		}
	}
	if n := base.reads.Load() - before; n != 1 {
		t.Fatalf("three reads in one run reached the database %d times; want 1", n)
	}
	changed, err := run.ModifySystem(ctx, repository.ModifyInput{Type: object.TypeRole, OID: role.ObjectMeta().OID,
		Apply: func(o object.Object) error { o.(*object.Role).Description = "changed"; return nil }})
	if err != nil {
		t.Fatal(err)
	}
	if local.Version(role.ObjectMeta().OID) != changed.ObjectMeta().Version {
		t.Fatal("the run's version cache did not record its write")
	}
	o, _ := local.Get(ctx, object.TypeRole, role.ObjectMeta().OID)
	if o.(*object.Role).Description != "changed" {
		t.Fatal("the run read its own stale copy after writing")
	}
}
