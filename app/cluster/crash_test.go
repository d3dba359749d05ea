package cluster

import (
	"context"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"cadre/domain/cluster"
)

// fakeStore is the part of NodeStore crash detection uses.
type fakeStore struct {
	NodeStore
	mu      sync.Mutex
	crashed map[string]string // node id → instance marked DOWN
}

func (s *fakeStore) NodesMarkCrashed(_ context.Context, id, internalID string) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, done := s.crashed[id]; done {
		return false, nil
	}
	s.crashed[id] = internalID
	return true, nil
}

type fakeRecoverer struct{ recovered []string }

func (r *fakeRecoverer) RecoverNode(_ context.Context, node string) (int, int64, error) {
	r.recovered = append(r.recovered, node)
	return 1, 2, nil
}
func (r *fakeRecoverer) Maintain(context.Context) error { return nil }

type fakeLocks struct{ free []int64 }

func (l fakeLocks) FreeLocks(context.Context, []int64) ([]int64, error) { return l.free, nil }

type fakeStatus map[string]bool // node id → its URL refuses connections

func (s fakeStatus) Refused(_ context.Context, n cluster.Node) bool { return s[n.ID] }

type noScheduler struct{}

func (noScheduler) Pause()       {}
func (noScheduler) Resume()      {}
func (noScheduler) Paused() bool { return false }

// TestProbeCrashes: a free lock is death only when the node's URL refuses
// connections too; each death is recovered once; nodes without a lock, DOWN
// nodes and this node are never probed into death.
func TestProbeCrashes(t *testing.T) {
	node := func(id string, lock bool, state cluster.OperationalState) *cluster.Node {
		n := &cluster.Node{ID: id, InternalID: id + "-i", OperationalState: state, LastCheckIn: time.Now()}
		if lock {
			n.LivenessLock = cluster.LivenessLockKey(id)
		}
		return n
	}
	store, rec := &fakeStore{crashed: map[string]string{}}, &fakeRecoverer{}
	m := New(Config{Clustered: true, Interval: time.Second, Timeout: 10 * time.Second}, "me", "me-i", store, rec, noScheduler{}, nil, nil,
		slog.New(slog.NewTextHandler(io.Discard, nil)))
	m.registered = true
	m.nodes = []*cluster.Node{node("me", true, cluster.Up), node("crashed", true, cluster.Up), node("lockdropped", true, cluster.Up),
		node("nolock", false, cluster.Up), node("gone", true, cluster.Down)}
	var free []int64
	for _, id := range []string{"me", "crashed", "lockdropped", "nolock", "gone"} {
		free = append(free, cluster.LivenessLockKey(id))
	}
	m.SetCrashDetection(fakeLocks{free: free}, fakeStatus{"crashed": true, "nolock": true, "gone": true, "me": true})

	for range 2 {
		if err := m.probeCrashes(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
	if len(rec.recovered) != 1 || rec.recovered[0] != "crashed" {
		t.Fatalf("recovered %v; want only the crashed node, once", rec.recovered)
	}
	if store.crashed["crashed"] != "crashed-i" || len(store.crashed) != 1 {
		t.Fatalf("marked %v; want crashed's instance only", store.crashed)
	}

	// A node that may not schedule (in ERROR, say) declares nobody dead.
	m.self.ErrorReason = cluster.ReasonNotClustered
	m.nodes = []*cluster.Node{node("crashed2", true, cluster.Up)}
	m.locks = fakeLocks{free: []int64{cluster.LivenessLockKey("crashed2")}}
	m.status = fakeStatus{"crashed2": true}
	if err := m.probeCrashes(t.Context()); err != nil || len(rec.recovered) != 1 {
		t.Fatalf("a node in ERROR recovered %v (%v)", rec.recovered, err)
	}
}
