package taskmanager

import (
	"context"
	"errors"
	"fmt"
	"time"

	"cadre/domain/task"
)

// RecoverNode hands the work of a dead node on: each of its RUNNING tasks
// gets its threadStopAction (restart and reschedule fire it again elsewhere,
// suspend and close park it; a worker is closed and its coordinator's action
// decides for the coordinator), and the buckets delegated to it go back to
// READY, so the next claim fences the old holder with a new epoch.
func (m *Manager) RecoverNode(ctx context.Context, node string) (tasks int, buckets int64, err error) {
	// Every store call is retried through transient errors: a node
	// declared dead is recovered once, by the node that won its death.
	var running []*task.Task
	if err := m.retry(ctx, func() (err error) {
		running, err = m.store.TasksRunningOn(ctx, node)
		return err
	}); err != nil {
		return 0, 0, err
	}
	for _, t := range running {
		lost, err := m.loseRun(ctx, t.OID, node, nodeDied(node))
		if err != nil {
			return tasks, 0, err
		}
		if lost != nil {
			tasks++
		}
	}
	if node != m.cfg.NodeID {
		// Workers pinned to the dead node that had not started yet: they lost
		// no run, so no threadStopAction applies; Maintain replaces them.
		var pinned []*task.Task
		if err := m.retry(ctx, func() (err error) {
			pinned, err = m.store.TasksRunnableWorkersIn(ctx, node)
			return err
		}); err != nil {
			return tasks, 0, err
		}
		for _, w := range pinned {
			if err := m.retry(ctx, func() error {
				_, err := m.store.TasksUpdate(ctx, w.OID, func(t *task.Task) error {
					if t.State != task.Runnable {
						return errNotRunnable
					}
					return t.Close(task.PartialError, "node "+node+" died before this worker started", m.now().UTC())
				})
				return err
			}); err != nil && !errors.Is(err, errNotRunnable) && !errors.Is(err, task.ErrNotFound) {
				return tasks, 0, err
			}
			if err := m.retry(ctx, func() error { return m.sched.Unschedule(ctx, w.OID) }); err != nil {
				return tasks, 0, err
			}
		}
	}
	if err := m.retry(ctx, func() (err error) {
		buckets, err = m.store.BucketsReleaseNode(ctx, node)
		return err
	}); err != nil {
		return tasks, 0, err
	}
	if tasks > 0 || buckets > 0 {
		m.log.Warn("recovered work of a dead node", "deadNode", node, "tasks", tasks, "buckets", buckets)
	}
	return tasks, buckets, m.Maintain(ctx)
}

// loss says why runs were cut short: the reason a task closed by its
// threadStopAction gives, and how a worker that lost its run ends.
type loss struct {
	reason        string
	workerResult  task.ResultStatus
	workerMessage string
}

// nodeDied is the loss of the runs of a node that died.
func nodeDied(node string) loss {
	return loss{reason: "node " + node + " died", workerResult: task.PartialError,
		workerMessage: "node " + node + " died; its buckets were released"}
}

// nodeLeft is the loss of the runs a draining node stopped.
func nodeLeft(node string) loss {
	return loss{reason: "node " + node + " stopped", workerResult: task.Success,
		workerMessage: "released: node " + node + " stopped"}
}

// errUnchanged ends a TasksUpdate that has nothing to write.
var errUnchanged = errors.New("task left as it is")

// loseRun applies the threadStopAction to a task whose run on node was cut
// short. It returns the task as it is afterwards, or nil when the task was
// not RUNNING on node any more (suspended, recovered or deleted meanwhile).
func (m *Manager) loseRun(ctx context.Context, oid, node string, l loss) (*task.Task, error) {
	var fireNow bool
	var t *task.Task
	err := m.retry(ctx, func() (err error) {
		t, err = m.store.TasksUpdate(ctx, oid, func(t *task.Task) error {
			if t.State != task.Running || t.Node != node {
				return errNotRunnable
			}
			if t.Role == task.Worker {
				// Its buckets go back to READY; its coordinator decides below.
				return t.Finish(l.workerResult, l.workerMessage, m.now().UTC())
			}
			var err error
			fireNow, err = t.AfterNodeLoss(l.reason, m.now().UTC())
			return err
		})
		return err
	})
	if errors.Is(err, errNotRunnable) || errors.Is(err, task.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("recover task %s: %w", oid, err)
	}
	switch {
	case t.Role == task.Worker:
		err = m.afterWorkerLoss(ctx, t.Parent, l.reason)
	case t.State == task.Runnable:
		err = m.retry(ctx, func() error { return m.sched.Schedule(ctx, t, fireNow) })
	default:
		err = m.park(ctx, t, l.reason)
	}
	return t, err
}

// afterWorkerLoss applies a coordinator's threadStopAction after one of its
// workers lost its run.
func (m *Manager) afterWorkerLoss(ctx context.Context, coordOID, reason string) error {
	c, err := m.store.TasksUpdate(ctx, coordOID, func(c *task.Task) error {
		changed, err := c.AfterWorkerLoss(reason, m.now().UTC())
		if err == nil && !changed {
			return errUnchanged
		}
		return err
	})
	switch {
	case errors.Is(err, errUnchanged), errors.Is(err, task.ErrNotFound), errors.Is(err, task.ErrIllegalState):
		return nil // it carries on (or was reopened or deleted meanwhile)
	case err != nil:
		return fmt.Errorf("recover coordinator %s: %w", coordOID, err)
	}
	return m.park(ctx, c, reason)
}

// park settles a task its threadStopAction suspended or closed: it loses
// its trigger, and a coordinator's workers follow it, so that nothing of it
// runs until a resume (its READY buckets wait) or a run now.
func (m *Manager) park(ctx context.Context, t *task.Task, reason string) error {
	if err := m.sched.Unschedule(ctx, t.OID); err != nil {
		return err
	}
	if t.Role != task.Coordinator {
		return nil
	}
	if t.State == task.Suspended {
		_, err := m.Suspend(ctx, t.OID) // suspends the workers as a user's suspension does
		return err
	}
	workers, err := m.Workers(ctx, t.OID)
	if err != nil {
		return err
	}
	for _, w := range workers {
		var ranOn string
		_, err := m.store.TasksUpdate(ctx, w.OID, func(w *task.Task) error {
			ranOn = w.Node
			return w.Close(task.FatalError, "coordinator closed: "+reason, m.now().UTC())
		})
		if err != nil && !errors.Is(err, task.ErrIllegalState) && !errors.Is(err, task.ErrNotFound) {
			return fmt.Errorf("close worker %s: %w", w.OID, err)
		}
		if err := m.sched.Unschedule(ctx, w.OID); err != nil {
			return err
		}
		m.stopLocal(w.OID)
		m.stopWhereItRuns(ranOn, w.OID)
	}
	return nil
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
