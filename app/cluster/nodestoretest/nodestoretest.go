// Package nodestoretest is the conformance suite of cluster.NodeStore, the
// node registry: every store runs it, on every database it supports, so a
// new backend proves that registration judges under a lock, that liveness
// is stamped by the database clock, and that a death is declared once.
package nodestoretest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	appcluster "cadre/app/cluster"
	"cadre/domain/cluster"
)

// Option adjusts Run.
type Option func(*options)

type options struct {
	peer func(t *testing.T, s appcluster.NodeStore) appcluster.NodeStore
}

// WithPeer supplies a second handle on the same store, as another node
// process has (for a database store: another pool on the same database).
// The race tests split their callers between the two. Without it, the
// store is its own peer.
func WithPeer(peer func(t *testing.T, s appcluster.NodeStore) appcluster.NodeStore) Option {
	return func(o *options) { o.peer = peer }
}

// Run runs the suite; newStore returns an empty, ready store per test.
func Run(t *testing.T, newStore func(t *testing.T) appcluster.NodeStore, opts ...Option) {
	o := options{peer: func(_ *testing.T, s appcluster.NodeStore) appcluster.NodeStore { return s }}
	for _, opt := range opts {
		opt(&o)
	}
	tests := []struct {
		name string
		run  func(t *testing.T, s, peer appcluster.NodeStore)
	}{
		{"registration stamps database time and shows the judge every other node", registerNew},
		{"a judge's refusal writes nothing", registerRefused},
		{"a take-over keeps the secret and urlOverride and fences the old instance", takeOver},
		{"the domain's judge refuses a live instance's id", registerLiveConflict},
		{"check-in stamps the database clock, not the caller's", checkInDatabaseClock},
		{"check-in reports a DOWN mark from peers and brings the node UP", checkInAfterDown},
		{"a node checking in is not marked down", markDownOnlySilent},
		{"of concurrent callers on two connections one marks a dead node down", markDownOnce},
		{"of concurrent callers on two connections one marks a crashed instance down", markCrashedOnce},
		{"urlOverride is set, kept by check-in and cleared", urlOverride},
		{"a graceful stop marks only its own instance down", setDown},
		{"list is ordered by id; delete removes the row", listAndDelete},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := newStore(t)
			tc.run(t, s, o.peer(t, s))
		})
	}
}

// timeout is the node timeout the rows carry.
const timeout = 30 * time.Second

func node(id, instance string) *cluster.Node {
	return &cluster.Node{ID: id, InternalID: instance, Hostname: "host-" + id, HTTPPort: 8080, URL: "http://" + id + ":8080",
		Clustered: true, Version: "test", OperationalState: cluster.Up, SchedulerState: cluster.SchedulerRunning,
		Timeout: timeout, LivenessLock: cluster.LivenessLockKey(id), Settings: map[string]string{"jobStore": "repository"}}
}

func accept(*cluster.Node, []*cluster.Node, time.Time) error { return nil }

func register(t *testing.T, s appcluster.NodeStore, n *cluster.Node) {
	t.Helper()
	if err := s.NodesRegister(context.Background(), n, accept); err != nil {
		t.Fatalf("register %s/%s: %v", n.ID, n.InternalID, err)
	}
}

func get(t *testing.T, s appcluster.NodeStore, id string) *cluster.Node {
	t.Helper()
	n, err := s.NodesGet(context.Background(), id)
	if err != nil {
		t.Fatalf("get %s: %v", id, err)
	}
	return n
}

// dbNow reads the store's clock.
func dbNow(t *testing.T, s appcluster.NodeStore) time.Time {
	t.Helper()
	now, err := s.Now(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return now
}

// between asserts that got was stamped between two readings of the store's
// clock (with a millisecond of slack for the column's precision).
func between(t *testing.T, what string, got, before, after time.Time) {
	t.Helper()
	if got.Before(before.Add(-time.Millisecond)) || got.After(after.Add(time.Millisecond)) {
		t.Fatalf("%s = %s, want the database clock between %s and %s", what, got, before, after)
	}
}

func registerNew(t *testing.T, s, _ appcluster.NodeStore) {
	ctx := context.Background()
	register(t, s, node("a", "ia"))
	me := node("b", "ib")
	before := dbNow(t, s)
	var judged struct {
		existing *cluster.Node
		others   []*cluster.Node
		now      time.Time
	}
	err := s.NodesRegister(ctx, me, func(existing *cluster.Node, others []*cluster.Node, now time.Time) error {
		judged.existing, judged.others, judged.now = existing, others, now
		return nil
	})
	after := dbNow(t, s)
	if err != nil {
		t.Fatal(err)
	}
	if judged.existing != nil || len(judged.others) != 1 || judged.others[0].ID != "a" {
		t.Fatalf("judge saw existing %v and others %v, want none and [a]", judged.existing, judged.others)
	}
	between(t, "judge's now", judged.now, before, after)
	got := get(t, s, "b")
	between(t, "last check-in", got.LastCheckIn, before, after)
	if !got.StartedAt.Equal(got.LastCheckIn) || got.InternalID != "ib" || got.URL != me.URL || got.Timeout != timeout ||
		got.LivenessLock != me.LivenessLock || got.Settings["jobStore"] != "repository" || !got.Clustered {
		t.Fatalf("registered row = %+v, want what was registered with started = last check-in", got)
	}
	if !got.Live(dbNow(t, s), timeout) {
		t.Fatal("a node just registered is not live by the database clock")
	}
}

func registerRefused(t *testing.T, s, _ appcluster.NodeStore) {
	refuse := errors.New("refused")
	err := s.NodesRegister(context.Background(), node("a", "ia"), func(*cluster.Node, []*cluster.Node, time.Time) error { return refuse })
	if !errors.Is(err, refuse) {
		t.Fatalf("register = %v, want the judge's error", err)
	}
	if _, err := s.NodesGet(context.Background(), "a"); !errors.Is(err, cluster.ErrNotFound) {
		t.Fatalf("get after a refused registration = %v, want ErrNotFound", err)
	}
}

func takeOver(t *testing.T, s, _ appcluster.NodeStore) {
	ctx := context.Background()
	old := node("a", "old")
	old.Secret = "s3cret"
	register(t, s, old)
	if err := s.NodesSetURLOverride(ctx, "a", "https://a.example.com"); err != nil {
		t.Fatal(err)
	}
	twin := node("a", "new")
	var existing *cluster.Node
	if err := s.NodesRegister(ctx, twin, func(e *cluster.Node, _ []*cluster.Node, _ time.Time) error { existing = e; return nil }); err != nil {
		t.Fatal(err)
	}
	if existing == nil || existing.InternalID != "old" {
		t.Fatalf("judge saw existing %+v, want the old instance's row", existing)
	}
	got := get(t, s, "a")
	if got.InternalID != "new" || got.Secret != "s3cret" || got.URLOverride != "https://a.example.com" {
		t.Fatalf("row after take-over = %+v, want instance new with the old secret and urlOverride", got)
	}
	if _, err := s.NodesCheckIn(ctx, old); !errors.Is(err, cluster.ErrTakenOver) {
		t.Fatalf("check-in of the replaced instance = %v, want ErrTakenOver", err)
	}
	if _, err := s.NodesCheckIn(ctx, node("nobody", "x")); !errors.Is(err, cluster.ErrTakenOver) {
		t.Fatalf("check-in without a row = %v, want ErrTakenOver", err)
	}
}

// registerLiveConflict runs the domain's judge inside the store: a second
// instance may not take the id of one that checks in, and may once that one
// was declared dead.
func registerLiveConflict(t *testing.T, s, _ appcluster.NodeStore) {
	ctx := context.Background()
	register(t, s, node("a", "first"))
	second := node("a", "second")
	reg := cluster.Registration{Node: second, Timeout: timeout}
	if err := s.NodesRegister(ctx, second, reg.Judge); !errors.Is(err, cluster.ErrIDConflict) {
		t.Fatalf("register over a live instance = %v, want ErrIDConflict", err)
	}
	if got := get(t, s, "a"); got.InternalID != "first" {
		t.Fatalf("row belongs to %s after a refused registration, want first", got.InternalID)
	}
	if won, err := s.NodesMarkCrashed(ctx, "a", "first"); err != nil || !won {
		t.Fatalf("mark crashed = %v, %v", won, err)
	}
	if err := s.NodesRegister(ctx, second, reg.Judge); err != nil {
		t.Fatalf("register over a DOWN instance = %v, want it to take the id", err)
	}
}

func checkInDatabaseClock(t *testing.T, s, _ appcluster.NodeStore) {
	ctx := context.Background()
	n := node("a", "ia")
	register(t, s, n)
	// The caller's idea of time is ignored: a node whose host clock is
	// years off still checks in at database time.
	n.LastCheckIn = time.Date(2001, 1, 1, 0, 0, 0, 0, time.UTC)
	n.SchedulerState, n.URL, n.Timeout = cluster.SchedulerPaused, "http://a:9090", 45*time.Second
	before := dbNow(t, s)
	wasDown, err := s.NodesCheckIn(ctx, n)
	after := dbNow(t, s)
	if err != nil || wasDown {
		t.Fatalf("check-in = %v, %v; want not down", wasDown, err)
	}
	between(t, "check-in returned to the caller", n.LastCheckIn, before, after)
	got := get(t, s, "a")
	between(t, "stored last check-in", got.LastCheckIn, before, after)
	if got.SchedulerState != cluster.SchedulerPaused || got.URL != "http://a:9090" || got.Timeout != 45*time.Second {
		t.Fatalf("row after check-in = %+v, want the node's new state fields", got)
	}
	if !got.CheckingIn(after, timeout) {
		t.Fatal("a node that just checked in is not checking in by the database clock")
	}
}

func checkInAfterDown(t *testing.T, s, peer appcluster.NodeStore) {
	ctx := context.Background()
	n := node("a", "ia")
	register(t, s, n)
	// A peer whose clock ran past the lease declares the node dead.
	if won, err := peer.NodesMarkDown(ctx, "a", dbNow(t, peer).Add(time.Hour)); err != nil || !won {
		t.Fatalf("mark down = %v, %v", won, err)
	}
	if got := get(t, s, "a"); got.OperationalState != cluster.Down || got.CheckingIn(dbNow(t, s), timeout) {
		t.Fatalf("row after mark down = %s, want DOWN and not checking in", got.OperationalState)
	}
	if wasDown, err := s.NodesCheckIn(ctx, n); err != nil || !wasDown {
		t.Fatalf("check-in after DOWN = %v, %v; want wasDown", wasDown, err)
	}
	if got := get(t, s, "a"); got.OperationalState != cluster.Up {
		t.Fatalf("state after check-in = %s, want UP", got.OperationalState)
	}
	if wasDown, err := s.NodesCheckIn(ctx, n); err != nil || wasDown {
		t.Fatalf("second check-in = %v, %v; want not down", wasDown, err)
	}
}

func markDownOnlySilent(t *testing.T, s, peer appcluster.NodeStore) {
	ctx := context.Background()
	n := node("a", "ia")
	register(t, s, n)
	if _, err := s.NodesCheckIn(ctx, n); err != nil {
		t.Fatal(err)
	}
	// A peer judges silence by the database clock minus the lease: a node
	// that checked in within it is left alone.
	deadBefore := dbNow(t, peer).Add(-n.Lease(timeout))
	if won, err := peer.NodesMarkDown(ctx, "a", deadBefore); err != nil || won {
		t.Fatalf("mark down of a node checking in = %v, %v; want no change", won, err)
	}
	if won, err := peer.NodesMarkDown(ctx, "nobody", deadBefore); err != nil || won {
		t.Fatalf("mark down of an unknown node = %v, %v; want no change", won, err)
	}
	if got := get(t, s, "a"); got.OperationalState != cluster.Up {
		t.Fatalf("state = %s, want UP", got.OperationalState)
	}
}

// race runs fn on callers goroutines split between two store handles and
// returns how many reported a win.
func race(t *testing.T, s, peer appcluster.NodeStore, fn func(s appcluster.NodeStore) (bool, error)) int64 {
	t.Helper()
	const callers = 8
	var (
		wins  atomic.Int64
		wg    sync.WaitGroup
		start = make(chan struct{})
		errs  = make(chan error, callers)
	)
	for i := range callers {
		store := s
		if i%2 == 1 {
			store = peer
		}
		wg.Go(func() {
			<-start
			won, err := fn(store)
			if err != nil {
				errs <- fmt.Errorf("caller %d: %w", i, err)
			}
			if won {
				wins.Add(1)
			}
		})
	}
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	return wins.Load()
}

func markDownOnce(t *testing.T, s, peer appcluster.NodeStore) {
	register(t, s, node("a", "ia"))
	deadBefore := dbNow(t, s).Add(time.Hour)
	wins := race(t, s, peer, func(s appcluster.NodeStore) (bool, error) {
		return s.NodesMarkDown(context.Background(), "a", deadBefore)
	})
	if wins != 1 {
		t.Fatalf("%d callers marked the node down, want exactly 1 (its work is recovered once)", wins)
	}
}

func markCrashedOnce(t *testing.T, s, peer appcluster.NodeStore) {
	register(t, s, node("a", "ia"))
	if won, err := s.NodesMarkCrashed(context.Background(), "a", "another-instance"); err != nil || won {
		t.Fatalf("crash mark naming another instance = %v, %v; want no change", won, err)
	}
	wins := race(t, s, peer, func(s appcluster.NodeStore) (bool, error) {
		return s.NodesMarkCrashed(context.Background(), "a", "ia")
	})
	if wins != 1 {
		t.Fatalf("%d callers marked the crashed instance down, want exactly 1", wins)
	}
	if got := get(t, s, "a"); got.OperationalState != cluster.Down {
		t.Fatalf("state = %s, want DOWN", got.OperationalState)
	}
}

func urlOverride(t *testing.T, s, _ appcluster.NodeStore) {
	ctx := context.Background()
	n := node("a", "ia")
	register(t, s, n)
	if err := s.NodesSetURLOverride(ctx, "a", "https://a.example.com"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.NodesCheckIn(ctx, n); err != nil {
		t.Fatal(err)
	}
	if got := get(t, s, "a"); got.URLOverride != "https://a.example.com" {
		t.Fatalf("urlOverride after check-in = %q, want it kept", got.URLOverride)
	}
	if err := s.NodesSetURLOverride(ctx, "a", ""); err != nil {
		t.Fatal(err)
	}
	if got := get(t, s, "a"); got.URLOverride != "" {
		t.Fatalf("urlOverride after clearing = %q", got.URLOverride)
	}
	if err := s.NodesSetURLOverride(ctx, "nobody", "https://x.example.com"); !errors.Is(err, cluster.ErrNotFound) {
		t.Fatalf("override of an unknown node = %v, want ErrNotFound", err)
	}
}

func setDown(t *testing.T, s, _ appcluster.NodeStore) {
	ctx := context.Background()
	register(t, s, node("a", "ia"))
	if err := s.NodesSetDown(ctx, "a", "stale-instance"); err != nil {
		t.Fatal(err)
	}
	if got := get(t, s, "a"); got.OperationalState != cluster.Up {
		t.Fatalf("state after another instance's stop = %s, want UP", got.OperationalState)
	}
	if err := s.NodesSetDown(ctx, "a", "ia"); err != nil {
		t.Fatal(err)
	}
	if got := get(t, s, "a"); got.OperationalState != cluster.Down {
		t.Fatalf("state after its own stop = %s, want DOWN", got.OperationalState)
	}
}

func listAndDelete(t *testing.T, s, _ appcluster.NodeStore) {
	ctx := context.Background()
	for _, id := range []string{"c", "a", "b"} {
		register(t, s, node(id, "i"+id))
	}
	ids := func() []string {
		ns, err := s.NodesList(ctx)
		if err != nil {
			t.Fatal(err)
		}
		out := make([]string, len(ns))
		for i, n := range ns {
			out[i] = n.ID
		}
		return out
	}
	if got := fmt.Sprint(ids()); got != "[a b c]" {
		t.Fatalf("list = %s, want [a b c]", got)
	}
	if err := s.NodesDelete(ctx, "b"); err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(ids()); got != "[a c]" {
		t.Fatalf("list after delete = %s, want [a c]", got)
	}
	if _, err := s.NodesGet(ctx, "b"); !errors.Is(err, cluster.ErrNotFound) {
		t.Fatalf("get of a deleted node = %v, want ErrNotFound", err)
	}
}
