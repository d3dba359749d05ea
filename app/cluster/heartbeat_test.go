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

// beatStore records check-ins; the rest of a round reads one node.
type beatStore struct {
	NodeStore
	mu       sync.Mutex
	checkIns int
}

func (s *beatStore) NodesCheckIn(_ context.Context, n *cluster.Node) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.checkIns++
	n.LastCheckIn = time.Now()
	return false, nil
}

func (s *beatStore) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.checkIns
}

func (s *beatStore) NodesList(context.Context) ([]*cluster.Node, error) { return nil, nil }
func (s *beatStore) Now(context.Context) (time.Time, error)             { return time.Now(), nil }

// slowRecoverer's Maintain takes as long as bulk work can make it.
type slowRecoverer struct{ fakeRecoverer }

func (slowRecoverer) Maintain(ctx context.Context) error {
	select {
	case <-ctx.Done():
	case <-time.After(time.Minute):
	}
	return nil
}

// TestCheckInWhileMaintenanceIsSlow: a round whose task maintenance hangs
// (counting a million buckets on a busy database) does not stop the node's
// check-ins; the heartbeat keeps them within 1.5 intervals or so.
func TestCheckInWhileMaintenanceIsSlow(t *testing.T) {
	const interval = 40 * time.Millisecond
	store := &beatStore{}
	m := New(Config{Clustered: true, Interval: interval, Timeout: 10 * interval}, "me", "me-i", store, &slowRecoverer{}, noScheduler{}, nil, nil,
		slog.New(slog.NewTextHandler(io.Discard, nil)))
	m.registered = true
	ctx, cancel := context.WithCancel(t.Context())
	m.stop, m.done, m.beatDone = cancel, make(chan struct{}), make(chan struct{})
	go m.loop(ctx)
	go m.heartbeat(ctx)
	time.Sleep(50 * interval) // the first round's Maintain hangs for all of it
	cancel()
	<-m.done
	<-m.beatDone
	// About 50 / 1.5 ≈ 33 check-ins; without the heartbeat, one.
	if n := store.count(); n < 15 {
		t.Errorf("%d check-ins in 50 intervals while maintenance hung; want one about every 1.5 intervals", n)
	}
}
