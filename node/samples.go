package node

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"cadre/interfaces/webui"
)

// sampleWindow is how far back the dashboard's charts reach.
const sampleWindow = 5 * time.Minute

// sampler keeps, for the dashboard's charts, what the cluster did over the
// last few minutes: buckets completed per node between check-ins and the
// running tasks per node. Every node samples the shared repository itself,
// so every node draws the same charts; the samples live in memory only.
type sampler struct {
	busy   atomic.Bool
	pruner eventPruner

	mu      sync.Mutex
	last    time.Time
	samples []webui.ClusterSample
}

// take reads one sample in the background (a sample still being read is not
// doubled), and prunes old cluster events once an hour.
func (s *sampler) take(n *Node) {
	s.pruner.maybePrune(n)
	if !s.busy.CompareAndSwap(false, true) {
		return
	}
	started := n.life.Go(func(ctx context.Context) {
		defer s.busy.Store(false)
		ctx, cancel := context.WithTimeout(ctx, n.Config.TaskManager.NodeRegistrationInterval+time.Second)
		defer cancel()
		now := n.now()
		s.mu.Lock()
		last := s.last
		s.mu.Unlock()
		if last.IsZero() {
			last = now.Add(-n.Config.TaskManager.NodeRegistrationInterval)
		}
		done, err := n.Store.BucketsCompletedBetween(ctx, last, now)
		if err != nil {
			n.Log.Debug("sample throughput", "err", err)
			return
		}
		running, err := n.Store.TasksRunningPerNode(ctx)
		if err != nil {
			n.Log.Debug("sample running tasks", "err", err)
			return
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		s.last = now
		s.samples = append(s.samples, webui.ClusterSample{At: now, Seconds: now.Sub(last).Seconds(), Completed: done, Running: running})
		cut := 0
		for cut < len(s.samples) && now.Sub(s.samples[cut].At) > sampleWindow {
			cut++
		}
		s.samples = s.samples[cut:]
	})
	if !started {
		s.busy.Store(false)
	}
}

// Samples returns the samples of the last sampleWindow, oldest first.
func (s *sampler) Samples() []webui.ClusterSample {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]webui.ClusterSample(nil), s.samples...)
}
