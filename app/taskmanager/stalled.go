package taskmanager

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"cadre/domain/task"
)

// Defaults of stalled-task detection (midPoint's stalledTasksThreshold and a
// check interval shorter than midPoint's, so a stall shows within a minute).
const (
	DefaultStalledThreshold     = 600 * time.Second
	DefaultStalledCheckInterval = 60 * time.Second
)

// StalledStore records stall marks on task rows and lists the marked tasks.
type StalledStore interface {
	// TasksStalled lists the RUNNING tasks marked stalled, on any node,
	// longest stalled first.
	TasksStalled(ctx context.Context) ([]*task.Task, error)
	// TasksMarkStalled sets a task's stalledSince (nil clears it) while it is
	// RUNNING on node; clearing needs only the node.
	TasksMarkStalled(ctx context.Context, oid, node string, since *time.Time) error
}

// beat is when a run's progress last moved (unix nanoseconds of the
// manager's clock); the handler's Progress calls and the stall check touch
// it from different goroutines.
type beat struct{ at atomic.Int64 }

func (b *beat) mark(now time.Time) { b.at.Store(now.UnixNano()) }

func (b *beat) last() time.Time { return time.Unix(0, b.at.Load()).UTC() }

// moved records progress at now when items or errors were added.
func (b *beat) moved(items, errs int64, now func() time.Time) {
	if items != 0 || errs != 0 {
		b.mark(now())
	}
}

// stalledState is what the stall check remembers between rounds: the runs
// it marked, by task OID, with the time their mark says.
type stalledState struct {
	mu       sync.Mutex
	marked   map[string]time.Time
	watching bool // the check's goroutine is running
}

// StalledTasks lists the tasks marked stalled anywhere in the cluster (none
// when the store cannot mark tasks).
func (m *Manager) StalledTasks(ctx context.Context) ([]*task.Task, error) {
	st, ok := m.store.(StalledStore)
	if !ok {
		return nil, nil
	}
	return st.TasksStalled(ctx)
}

// ensureStallWatch starts the node's stall check unless it runs: Execute
// calls it for every run, and the check ends by itself once nothing runs
// here and no mark is left to clear (midPoint checks only local tasks too).
func (m *Manager) ensureStallWatch() {
	if _, ok := m.store.(StalledStore); !ok {
		return
	}
	m.stalled.mu.Lock()
	defer m.stalled.mu.Unlock()
	if !m.stalled.watching {
		m.stalled.watching = m.cfg.Go(m.watchStalled)
	}
}

// watchStalled checks this node's runs every StalledCheckInterval until
// nothing is left to watch or ctx ends.
func (m *Manager) watchStalled(ctx context.Context) {
	tick := time.NewTicker(m.cfg.StalledCheckInterval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			m.stopStallWatch(true)
			return
		case <-tick.C:
		}
		m.checkStalled(ctx)
		if m.stopStallWatch(false) {
			return
		}
	}
}

// stopStallWatch ends the watch when forced or when nothing runs here and
// nothing is marked; it decides under both locks, so a run that starts
// meanwhile either is seen here or starts a new watch.
func (m *Manager) stopStallWatch(force bool) bool {
	m.stalled.mu.Lock()
	defer m.stalled.mu.Unlock()
	m.mu.Lock()
	idle := len(m.running) == 0
	m.mu.Unlock()
	if force || (idle && len(m.stalled.marked) == 0) {
		m.stalled.watching = false
		return true
	}
	return false
}

// checkStalled runs one round of the stall check: a RUNNING run whose
// progress has not moved for StalledThreshold gets stalledSince (when it
// last moved, or when it started) and a warning in the log; a marked run
// that moved again, or that ended, is cleared.
func (m *Manager) checkStalled(ctx context.Context) {
	st := m.store.(StalledStore) // ensureStallWatch starts no check without it
	now := m.now()
	type seen struct {
		oid  string
		last time.Time
	}
	m.mu.Lock()
	runs := make([]seen, 0, len(m.running))
	for oid, r := range m.running {
		runs = append(runs, seen{oid, r.beat.last()})
	}
	m.mu.Unlock()

	m.stalled.mu.Lock()
	defer m.stalled.mu.Unlock()
	if m.stalled.marked == nil {
		m.stalled.marked = map[string]time.Time{}
	}
	live := make(map[string]bool, len(runs))
	for _, r := range runs {
		live[r.oid] = true
		since, isMarked := m.stalled.marked[r.oid]
		stalled := now.Sub(r.last) >= m.cfg.StalledThreshold
		switch {
		case stalled && (!isMarked || !since.Equal(r.last)):
			last := r.last
			if err := st.TasksMarkStalled(ctx, r.oid, m.cfg.NodeID, &last); err != nil {
				m.log.Warn("mark task stalled", "task", r.oid, "err", err)
				continue
			}
			m.stalled.marked[r.oid] = last
			m.log.Warn("task stalled: its progress has not moved", "task", r.oid, "since", last, "threshold", m.cfg.StalledThreshold)
		case !stalled && isMarked:
			m.clearStalled(ctx, st, r.oid)
			m.log.Info("stalled task moves again", "task", r.oid)
		}
	}
	for oid := range m.stalled.marked {
		if !live[oid] {
			m.clearStalled(ctx, st, oid) // the run ended; its row is no longer RUNNING here
		}
	}
	m.metrics.TasksStalled(len(m.stalled.marked))
}

// clearStalled removes a mark; called with m.stalled.mu held.
func (m *Manager) clearStalled(ctx context.Context, st StalledStore, oid string) {
	if err := st.TasksMarkStalled(ctx, oid, m.cfg.NodeID, nil); err != nil {
		m.log.Warn("clear stalled mark", "task", oid, "err", err)
		return
	}
	delete(m.stalled.marked, oid)
}

// markOrphanStalled reports a task the database says RUNNING on this node
// that no run here holds: no node runs it, so its progress cannot move. It
// is marked stalled (since its run started) and logged; the repair pass
// applies its threadStopAction at its next round if it stays so.
func (m *Manager) markOrphanStalled(ctx context.Context, t *task.Task) {
	m.log.Warn("task stalled: the database says it is RUNNING on this node, but no run here holds it", "task", t.OID, "name", t.Name)
	st, ok := m.store.(StalledStore)
	if !ok || t.StalledSince != nil {
		return
	}
	since := m.now().UTC()
	if t.LastRunStart != nil {
		since = *t.LastRunStart
	}
	if err := st.TasksMarkStalled(ctx, t.OID, m.cfg.NodeID, &since); err != nil {
		m.log.Warn("mark task stalled", "task", t.OID, "err", err)
	}
}
