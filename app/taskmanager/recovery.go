package taskmanager

import (
	"context"
	"errors"
	"fmt"
	"time"

	"cadre/domain/task"
)

// RecoverNode makes the work of a dead node runnable elsewhere: its RUNNING
// tasks go back to RUNNABLE and fire again (recurring ones keep their
// schedule), and the buckets delegated to it go back to READY, so the next
// claim fences the old holder with a new epoch.
func (m *Manager) RecoverNode(ctx context.Context, node string) (tasks int, buckets int64, err error) {
	running, err := m.store.TasksRunningOn(ctx, node)
	if err != nil {
		return 0, 0, err
	}
	for _, t := range running {
		t, err := m.store.TasksUpdate(ctx, t.OID, func(t *task.Task) error {
			if t.State != task.Running || t.Node != node {
				return errNotRunnable
			}
			if t.Role == task.Worker {
				return t.Finish(task.PartialError, "node "+node+" died; its buckets were released", m.now().UTC())
			}
			return t.Release()
		})
		if errors.Is(err, errNotRunnable) || errors.Is(err, task.ErrNotFound) {
			continue
		}
		if err != nil {
			return tasks, 0, fmt.Errorf("release task %s: %w", t.OID, err)
		}
		tasks++
		if t.State == task.Closed {
			continue
		}
		if err := m.sched.Schedule(ctx, t, !t.Recurring()); err != nil {
			return tasks, 0, err
		}
	}
	if node != m.cfg.NodeID {
		// Workers pinned to the dead node that had not started yet.
		pinned, err := m.store.TasksRunnableWorkersIn(ctx, node)
		if err != nil {
			return tasks, 0, err
		}
		for _, w := range pinned {
			if _, err := m.store.TasksUpdate(ctx, w.OID, func(t *task.Task) error {
				if t.State != task.Runnable {
					return errNotRunnable
				}
				t.State = task.Closed
				t.Message = "node " + node + " died before this worker started"
				return nil
			}); err != nil && !errors.Is(err, errNotRunnable) {
				return tasks, 0, err
			}
			if err := m.sched.Unschedule(ctx, w.OID); err != nil {
				return tasks, 0, err
			}
		}
	}
	buckets, err = m.store.BucketsReleaseNode(ctx, node)
	if err != nil {
		return tasks, 0, err
	}
	if tasks > 0 || buckets > 0 {
		m.log.Warn("recovered work of a dead node", "deadNode", node, "tasks", tasks, "buckets", buckets)
	}
	return tasks, buckets, m.Maintain(ctx)
}

// Maintain gives every waiting coordinator with READY buckets a worker that
// can run, and closes coordinators whose buckets are all complete.
func (m *Manager) Maintain(ctx context.Context) error {
	coords, err := m.store.TasksWaitingCoordinators(ctx)
	if err != nil {
		return err
	}
	if len(coords) == 0 {
		return nil
	}
	live := m.cluster.LiveNodes(ctx) // once per round, not once per coordinator
	var errs []error
	for _, c := range coords {
		errs = append(errs, m.ensureWorkers(ctx, c, live))
	}
	return errors.Join(errs...)
}

// Drain stops claiming work on this node: running tasks stop, workers give
// their buckets back, and the tasks go back to RUNNABLE for other nodes. It
// returns when nothing runs here any more or ctx ends.
func (m *Manager) Drain(ctx context.Context) error {
	m.mu.Lock()
	m.draining = true
	for _, r := range m.running {
		r.stop()
	}
	m.mu.Unlock()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for m.RunningHere() > 0 {
		select {
		case <-ctx.Done():
			return fmt.Errorf("drain: %d tasks still running: %w", m.RunningHere(), ctx.Err())
		case <-tick.C:
		}
	}
	// Workers started in-process just before the drain find it and leave.
	done := make(chan struct{})
	go func() { m.local.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("drain: workers still starting: %w", ctx.Err())
	}
}

// Undrain lets the node take work again (scheduler restarted).
func (m *Manager) Undrain() {
	m.mu.Lock()
	m.draining = false
	m.mu.Unlock()
}
