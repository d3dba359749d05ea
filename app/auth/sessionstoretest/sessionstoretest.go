// Package sessionstoretest is the conformance suite of the web-session
// store: auth.SessionStore, which every node reads so a session made on one
// node serves on all, and the expiry sweep of the cleanup task. Every store
// runs it, on every database it supports.
package sessionstoretest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"cadre/app/auth"
	"cadre/domain/object"
	"cadre/domain/security"
)

// Store is the session port of app/auth with the cleanup task's expiry sweep.
type Store interface {
	auth.SessionStore
	// SessionsDeleteExpired deletes the sessions that expired before now and
	// returns how many.
	SessionsDeleteExpired(ctx context.Context, now time.Time) (int64, error)
}

// Run runs the suite; newStore returns an empty, ready store per test.
func Run(t *testing.T, newStore func(t *testing.T) Store) {
	tests := []struct {
		name string
		run  func(t *testing.T, s Store)
	}{
		{"a stored session reads back whole; an unknown one is not found", addGet},
		{"a session id is stored once", addDuplicate},
		{"touch moves last seen and expiry of that session only", touch},
		{"delete ends one session", deleteOne},
		{"delete by user ends every session of that user only", deleteByUser},
		{"the sweep deletes only sessions expired before now", deleteExpired},
		{"concurrent logins, reads and logouts keep each session whole", concurrent},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.run(t, newStore(t)) })
	}
}

// t0 is a whole second, so every store keeps it exactly.
var t0 = time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)

func session(id, user string, created time.Time) security.Session {
	return security.Session{ID: id, UserOID: user, CSRFToken: "csrf-" + id, NodeID: "node1",
		CreatedAt: created, LastSeenAt: created, ExpiresAt: created.Add(security.SessionIdleTimeout)}
}

func add(t *testing.T, s Store, sess security.Session) {
	t.Helper()
	if err := s.SessionsAdd(context.Background(), sess); err != nil {
		t.Fatalf("add session %s: %v", sess.ID, err)
	}
}

// exists reports whether a session is stored, failing on any error other than not found.
func exists(t *testing.T, s Store, id string) bool {
	t.Helper()
	_, err := s.SessionsGet(context.Background(), id)
	if errors.Is(err, object.ErrNotFound) {
		return false
	}
	if err != nil {
		t.Fatalf("get session %s: %v", id, err)
	}
	return true
}

func equal(a, b security.Session) bool {
	return a.ID == b.ID && a.UserOID == b.UserOID && a.CSRFToken == b.CSRFToken && a.NodeID == b.NodeID &&
		a.CreatedAt.Equal(b.CreatedAt) && a.LastSeenAt.Equal(b.LastSeenAt) && a.ExpiresAt.Equal(b.ExpiresAt)
}

func addGet(t *testing.T, s Store) {
	want := session("s1", "u1", t0)
	add(t, s, want)
	got, err := s.SessionsGet(context.Background(), "s1")
	if err != nil {
		t.Fatal(err)
	}
	if !equal(got, want) || got.ExpiresAt.Location() != time.UTC {
		t.Fatalf("session = %+v, want %+v in UTC", got, want)
	}
	if _, err := s.SessionsGet(context.Background(), "nope"); !errors.Is(err, object.ErrNotFound) {
		t.Fatalf("get of an unknown session = %v, want object.ErrNotFound (auth answers 401)", err)
	}
}

func addDuplicate(t *testing.T, s Store) {
	add(t, s, session("s1", "u1", t0))
	if err := s.SessionsAdd(context.Background(), session("s1", "u2", t0)); err == nil {
		t.Fatal("a second session with the same id was stored")
	}
	if got, _ := s.SessionsGet(context.Background(), "s1"); got.UserOID != "u1" {
		t.Fatalf("session s1 belongs to %s, want the first login's u1", got.UserOID)
	}
}

func touch(t *testing.T, s Store) {
	ctx := context.Background()
	add(t, s, session("s1", "u1", t0))
	add(t, s, session("s2", "u1", t0))
	later := t0.Add(time.Hour)
	if err := s.SessionsTouch(ctx, "s1", later, later.Add(security.SessionIdleTimeout)); err != nil {
		t.Fatal(err)
	}
	got, _ := s.SessionsGet(ctx, "s1")
	if !got.LastSeenAt.Equal(later) || !got.ExpiresAt.Equal(later.Add(security.SessionIdleTimeout)) || !got.CreatedAt.Equal(t0) {
		t.Fatalf("touched session = %+v, want last seen %s, expiry 8 h later, created unchanged", got, later)
	}
	if other, _ := s.SessionsGet(ctx, "s2"); !other.LastSeenAt.Equal(t0) {
		t.Fatalf("untouched session's last seen = %s, want %s", other.LastSeenAt, t0)
	}
	if err := s.SessionsTouch(ctx, "gone", later, later); err != nil {
		t.Fatalf("touch of a session logged out meanwhile = %v, want no error", err)
	}
}

func deleteOne(t *testing.T, s Store) {
	ctx := context.Background()
	add(t, s, session("s1", "u1", t0))
	add(t, s, session("s2", "u1", t0))
	if err := s.SessionsDelete(ctx, "s1"); err != nil {
		t.Fatal(err)
	}
	if exists(t, s, "s1") || !exists(t, s, "s2") {
		t.Fatal("delete did not end exactly the one session")
	}
	if err := s.SessionsDelete(ctx, "s1"); err != nil {
		t.Fatalf("a second logout = %v, want no error", err)
	}
}

func deleteByUser(t *testing.T, s Store) {
	ctx := context.Background()
	for _, sess := range []security.Session{session("a1", "alice", t0), session("a2", "alice", t0), session("b1", "bob", t0)} {
		add(t, s, sess)
	}
	ids, err := s.SessionsDeleteByUser(ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(ids)
	if fmt.Sprint(ids) != "[a1 a2]" {
		t.Fatalf("deleted ids = %v, want [a1 a2] (peers drop their cached principals by them)", ids)
	}
	if exists(t, s, "a1") || exists(t, s, "a2") || !exists(t, s, "b1") {
		t.Fatal("delete by user did not end exactly alice's sessions")
	}
	if ids, err := s.SessionsDeleteByUser(ctx, "alice"); err != nil || len(ids) != 0 {
		t.Fatalf("second delete by user = %v, %v; want nothing", ids, err)
	}
}

func deleteExpired(t *testing.T, s Store) {
	ctx := context.Background()
	old := session("old", "u1", t0.Add(-10*time.Hour)) // expired 2 h before t0
	edge := session("edge", "u1", t0.Add(-security.SessionIdleTimeout))
	fresh := session("fresh", "u1", t0)
	for _, sess := range []security.Session{old, edge, fresh} {
		add(t, s, sess)
	}
	n, err := s.SessionsDeleteExpired(ctx, t0)
	if err != nil {
		t.Fatal(err)
	}
	if n != 1 || exists(t, s, "old") || !exists(t, s, "edge") || !exists(t, s, "fresh") {
		t.Fatalf("sweep deleted %d; want only the session that expired before now (one expiring at now stays for auth to refuse)", n)
	}
}

func concurrent(t *testing.T, s Store) {
	const users, perUser = 4, 10
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make(chan error, users)
	for u := range users {
		wg.Go(func() {
			user := fmt.Sprintf("user%d", u)
			for i := range perUser {
				id := fmt.Sprintf("%s-%d", user, i)
				if err := s.SessionsAdd(ctx, session(id, user, t0)); err != nil {
					errs <- err
					return
				}
				got, err := s.SessionsGet(ctx, id)
				if err != nil || got.UserOID != user {
					errs <- fmt.Errorf("read back %s = %+v, %v", id, got, err)
					return
				}
				if i%2 == 1 {
					if err := s.SessionsDelete(ctx, id); err != nil {
						errs <- err
						return
					}
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	for u := range users {
		user := fmt.Sprintf("user%d", u)
		ids, err := s.SessionsDeleteByUser(ctx, user)
		if err != nil {
			t.Fatal(err)
		}
		if len(ids) != perUser/2 {
			t.Fatalf("%s has %d sessions left, want %d", user, len(ids), perUser/2)
		}
	}
}
