package cluster_test

import (
	"testing"
	"time"

	"cadre/domain/cluster"
)

// TestLiveness: a node is judged by its own lease against the database
// clock; DOWN ends checking in at once, ERROR keeps a node checking in but
// not live.
func TestLiveness(t *testing.T) {
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	const fallback = 30 * time.Second
	tests := []struct {
		name       string
		state      cluster.OperationalState
		scheduler  cluster.SchedulerState
		silent     time.Duration // now - last check-in
		lease      time.Duration // the row's own nodeTimeout; 0 = fallback
		checkingIn bool
		live       bool
	}{
		{"fresh check-in", cluster.Up, cluster.SchedulerRunning, time.Second, 0, true, true},
		{"silent exactly the lease", cluster.Up, cluster.SchedulerRunning, fallback, 0, true, true},
		{"silent past the lease", cluster.Up, cluster.SchedulerRunning, fallback + time.Millisecond, 0, false, false},
		{"own shorter lease wins", cluster.Up, cluster.SchedulerRunning, 10 * time.Second, 5 * time.Second, false, false},
		{"own longer lease wins", cluster.Up, cluster.SchedulerRunning, time.Minute, 2 * time.Minute, true, true},
		{"DOWN is dead however fresh", cluster.Down, cluster.SchedulerRunning, 0, 0, false, false},
		{"starting checks in but is not live", cluster.Starting, cluster.SchedulerRunning, 0, 0, true, false},
		{"scheduler error checks in but is not live", cluster.Up, cluster.SchedulerError, 0, 0, true, false},
		{"paused scheduler is live", cluster.Up, cluster.SchedulerPaused, 0, 0, true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := &cluster.Node{OperationalState: tt.state, SchedulerState: tt.scheduler, LastCheckIn: now.Add(-tt.silent), Timeout: tt.lease}
			if got := n.CheckingIn(now, fallback); got != tt.checkingIn {
				t.Errorf("CheckingIn = %v, want %v", got, tt.checkingIn)
			}
			if got := n.Live(now, fallback); got != tt.live {
				t.Errorf("Live = %v, want %v", got, tt.live)
			}
		})
	}
}

func TestLivenessLockKey(t *testing.T) {
	a, b := cluster.LivenessLockKey("node1"), cluster.LivenessLockKey("node2")
	if a == 0 || b == 0 || a == b || a != cluster.LivenessLockKey("node1") {
		t.Fatalf("keys %d and %d: want stable, distinct and non-zero", a, b)
	}
}
