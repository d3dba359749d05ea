package taskmanager

import (
	"context"
	"errors"
	"fmt"

	"cadre/domain/task"
)

// Suspend stops a task wherever it runs; a coordinator's workers are
// suspended with it and give their buckets back.
func (m *Manager) Suspend(ctx context.Context, oid string) (*task.Task, error) {
	var ranOn string
	t, err := m.store.TasksUpdate(ctx, oid, func(t *task.Task) error {
		ranOn = t.Node
		return t.Suspend()
	})
	if err != nil {
		return nil, err
	}
	m.stopWhereItRuns(ranOn, oid)
	if err := m.sched.Unschedule(ctx, oid); err != nil {
		return nil, err
	}
	m.stopLocal(oid)
	if t.Role == task.Coordinator {
		workers, err := m.Workers(ctx, oid)
		if err != nil {
			return nil, err
		}
		for _, w := range workers {
			if w.State == task.Closed {
				continue
			}
			var workerOn string
			if _, err := m.store.TasksUpdate(ctx, w.OID, func(t *task.Task) error {
				workerOn = t.Node
				return t.Suspend()
			}); err != nil && !errors.Is(err, task.ErrIllegalState) {
				return nil, fmt.Errorf("suspend worker %s: %w", w.OID, err)
			}
			if err := m.sched.Unschedule(ctx, w.OID); err != nil {
				return nil, err
			}
			m.stopLocal(w.OID)
			m.stopWhereItRuns(workerOn, w.OID)
		}
	}
	return m.Get(ctx, oid)
}

// Resume restarts a suspended task; a coordinator's suspended workers are
// made runnable again and pick up the buckets that are left.
func (m *Manager) Resume(ctx context.Context, oid string) (*task.Task, error) {
	counts, err := m.store.BucketsCount(ctx, oid)
	if err != nil {
		return nil, err
	}
	t, err := m.store.TasksUpdate(ctx, oid, func(t *task.Task) error { return t.Resume(counts.Total() > 0) })
	if err != nil {
		return nil, err
	}
	if t.State == task.Runnable {
		if err := m.sched.Schedule(ctx, t, false); err != nil {
			return nil, err
		}
		return m.Get(ctx, oid)
	}
	workers, err := m.Workers(ctx, oid)
	if err != nil {
		return nil, err
	}
	for _, w := range workers {
		if w.State != task.Suspended {
			continue
		}
		w, err := m.store.TasksUpdate(ctx, w.OID, func(t *task.Task) error { return t.Resume(false) })
		if err != nil {
			return nil, err
		}
		if err := m.sched.Schedule(ctx, w, true); err != nil {
			return nil, err
		}
	}
	if err := m.ensureWorkers(ctx, t, m.cluster.LiveNodes(ctx)); err != nil {
		return nil, err
	}
	return m.Get(ctx, oid)
}

// RunNow makes a task run at once; a recurring task keeps its schedule afterwards.
func (m *Manager) RunNow(ctx context.Context, oid string) (*task.Task, error) {
	t, err := m.store.TasksUpdate(ctx, oid, func(t *task.Task) error { return t.RunNow() })
	if err != nil {
		return nil, err
	}
	if err := m.sched.Schedule(ctx, t, true); err != nil {
		return nil, err
	}
	return m.Get(ctx, oid)
}

// Delete removes a task, its workers and buckets, stopping any run.
func (m *Manager) Delete(ctx context.Context, oid string) error {
	if _, err := m.store.TasksGet(ctx, oid); err != nil {
		return err
	}
	workers, err := m.Workers(ctx, oid)
	if err != nil {
		return err
	}
	for _, w := range workers {
		if err := m.Delete(ctx, w.OID); err != nil && !errors.Is(err, task.ErrNotFound) {
			return err
		}
	}
	if err := m.sched.Unschedule(ctx, oid); err != nil {
		return err
	}
	m.stopLocal(oid)
	return m.store.TasksDelete(ctx, oid)
}

// StopLocal stops a task if it runs on this node (peer call target).
func (m *Manager) StopLocal(oid string) bool { return m.stopLocal(oid) }

func (m *Manager) stopLocal(oid string) bool {
	m.mu.Lock()
	r, ok := m.running[oid]
	m.mu.Unlock()
	if ok {
		r.stop()
	}
	return ok
}

// stopWhereItRuns tells the node running a task to stop it now, in the
// background (owned by cfg.Go, so it ends with this node); the node would
// notice by itself within StopPoll anyway.
func (m *Manager) stopWhereItRuns(nodeID, oid string) {
	if nodeID == "" || nodeID == m.cfg.NodeID || m.remoteStop == nil {
		return
	}
	m.cfg.Go(func(ctx context.Context) { m.remoteStop(ctx, nodeID, oid) })
}
