package auth_test

import (
	"context"
	"errors"
	"log/slog"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"cadre/app/auth"
	"cadre/app/repository"
	"cadre/db"
	"cadre/db/dbtest"
	"cadre/domain/object"
	"cadre/domain/security"
	"cadre/infrastructure/gormrepo"
)

// clock is a settable test clock.
type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

// nodes returns two authenticators over one repository database, as two
// nodes of a cluster have, and the repository with user "alice".
func nodes(t *testing.T, dialect string, th auth.Throttle, c *clock) (a, b *auth.Service) {
	t.Helper()
	ctx := t.Context()
	d, err := db.Open(ctx, db.Options{URL: dbtest.URL(t, dialect)})
	if err != nil {
		t.Fatalf("open database: %v", err)
	}
	t.Cleanup(func() { d.Close() })
	if _, err := d.Migrate(ctx, db.RepositoryMigrations(d.Dialect), "create", "upgrade", slog.Default()); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	store := gormrepo.New(d)
	repo := repository.NewService(store, auth.BcryptHasher{Cost: bcrypt.MinCost}, time.Now, slog.Default())
	if _, err := repo.AddSystem(ctx, repository.AddInput{Object: &object.User{Meta: object.Meta{Name: "alice"}, Enabled: true},
		Password: "Right-Password1"}); err != nil {
		t.Fatalf("add alice: %v", err)
	}
	th.Store = store
	a, b = auth.NewService(store, store, "node1", c.now), auth.NewService(store, store, "node2", c.now)
	a.UseThrottle(&th)
	b.UseThrottle(&th)
	return a, b
}

// TestThrottleAcrossNodes: failed logins counted on one node throttle the
// user and the client on the other; 429 lasts until the window ends, even
// with the right password; a success clears the user's count.
func TestThrottleAcrossNodes(t *testing.T) {
	for _, dialect := range dbtest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			ctx := context.Background()
			c := &clock{t: time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)}
			a, b := nodes(t, dialect, auth.Throttle{PerUser: 3, PerClient: 5, Window: time.Minute}, c)
			throttled := func(err error) time.Duration {
				var te *security.ThrottledError
				if !errors.As(err, &te) {
					return 0
				}
				return te.RetryAfter
			}

			// Two failures on node1, one on node2: alice's three.
			for i, s := range []*auth.Service{a, a, b} {
				if _, err := s.Basic(ctx, "10.0.0.1", "alice", "wrong"); !errors.Is(err, security.ErrBadCredentials) {
					t.Fatalf("attempt %d: %v, want bad credentials", i+1, err)
				}
				c.t = c.t.Add(time.Second)
			}
			// Both nodes now refuse alice, from any client, right password or not.
			for _, s := range []*auth.Service{a, b} {
				_, err := s.Basic(ctx, "10.0.0.2", "alice", "Right-Password1")
				if wait := throttled(err); wait <= 0 || wait > time.Minute {
					t.Fatalf("alice after 3 failures: %v, want throttled for up to a minute", err)
				}
			}
			// Window over: the right password works and clears the count.
			c.t = c.t.Add(time.Minute)
			if _, err := b.Basic(ctx, "10.0.0.2", "alice", "Right-Password1"); err != nil {
				t.Fatalf("after the window: %v", err)
			}
			for range 2 {
				_, _ = a.Basic(ctx, "10.0.0.3", "alice", "wrong")
			}
			if _, err := a.Basic(ctx, "10.0.0.3", "alice", "Right-Password1"); err != nil {
				t.Fatalf("2 failures after a success must not throttle: %v", err)
			}

			// Per client: one address guessing many names (known or not).
			for i, name := range []string{"bob", "carol", "dave", "erin", "frank"} {
				if _, err := a.Basic(ctx, "10.0.0.9", name, "x"); !errors.Is(err, security.ErrBadCredentials) {
					t.Fatalf("guess %d: %v", i+1, err)
				}
			}
			if _, err := b.Basic(ctx, "10.0.0.9", "alice", "Right-Password1"); throttled(err) <= 0 {
				t.Fatalf("a client after 5 failures: %v, want throttled", err)
			}
			if _, err := b.Basic(ctx, "10.0.0.10", "alice", "Right-Password1"); err != nil {
				t.Fatalf("another client: %v", err)
			}
		})
	}
}
