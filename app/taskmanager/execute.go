package taskmanager

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"golang.org/x/sync/errgroup"

	"cadre/app/repository"
	"cadre/domain/task"
)

var errNotRunnable = errors.New("task is not runnable")

// Execute runs a fired task on this node. It is the job store's runner: it
// claims the task atomically (RUNNABLE → RUNNING), so a task never runs twice
// at once anywhere in the cluster, and then runs it by its role.
func (m *Manager) Execute(ctx context.Context, oid string) error { return m.execute(ctx, oid, nil) }

// execute is Execute with held, a slot of the node's execution limits that
// the caller reserved already (startHere), or nil to reserve one here. A
// task whose group is at its limit on this node is not started but given
// back to the job store (refuse).
func (m *Manager) execute(ctx context.Context, oid string, held *slot) error {
	m.mu.Lock()
	draining := m.draining
	m.mu.Unlock()
	if draining { // leave it for another node
		held.release()
		t, err := m.store.TasksGet(ctx, oid)
		if err != nil {
			return err
		}
		return m.sched.Schedule(ctx, t, true)
	}
	s, refused := held, (*task.Task)(nil)
	var t *task.Task
	// A transient error retries the whole transaction; the slot reserved
	// in a try that did not commit is given back before the next one.
	err := m.retry(ctx, func() (err error) {
		t, err = m.store.TasksUpdate(ctx, oid, func(t *task.Task) error {
			if t.State != task.Runnable {
				return errNotRunnable
			}
			if s == nil { // the slot is taken before RUNNING is written, so the limit holds at every moment
				var err error
				if s, err = m.limits.reserve(t.ExecutionGroup); err != nil {
					refused = t
					return err
				}
			}
			return t.Start(m.cfg.NodeID, m.now().UTC())
		})
		if err != nil && s != held {
			s.release()
			s = held
		}
		return err
	})
	if err != nil {
		s.release()
	}
	switch {
	case errors.Is(err, errAtLimit):
		return m.refuse(ctx, refused)
	case errors.Is(err, errNotRunnable):
		return nil
	case errors.Is(err, task.ErrNotFound):
		return m.sched.Unschedule(ctx, oid)
	case err != nil:
		return fmt.Errorf("start task %s: %w", oid, err)
	}
	defer s.release()
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	r := &localRun{cancel: cancel, stopping: make(chan struct{})}
	r.beat.mark(m.now())
	m.mu.Lock()
	m.running[oid] = r
	m.mu.Unlock()
	defer func() {
		m.mu.Lock()
		delete(m.running, oid)
		m.mu.Unlock()
	}()
	m.ensureWatcher()
	m.ensureStallWatch()

	log := m.log.With("task", oid, "handler", t.Handler, "role", string(t.Role))
	switch t.Role {
	case task.Coordinator:
		err = m.startCoordinator(runCtx, t)
	case task.Worker:
		err = m.runWorker(runCtx, t, r)
	default:
		err = m.runStandalone(runCtx, t, r)
	}
	m.metrics.TaskRun(t.Handler, err != nil)
	if err != nil {
		log.Error("task run failed", "err", err)
	}
	return nil
}

// ensureWatcher starts the node's one watcher if it is not running.
func (m *Manager) ensureWatcher() {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.watching {
		m.watching = m.cfg.Go(m.watch)
	}
}

// watch re-reads, in one query every StopPoll, which of this node's runs are
// still RUNNING here, so a suspension (or a recovery that gave the task to
// another node) made anywhere stops the run within StopPoll. It ends when
// nothing runs here (the next Execute starts it again) or when ctx ends.
func (m *Manager) watch(ctx context.Context) {
	tick := time.NewTicker(m.cfg.StopPoll)
	defer tick.Stop()
	for {
		select {
		case <-tick.C:
		case <-ctx.Done():
			m.mu.Lock()
			m.watching = false
			m.mu.Unlock()
			return
		}
		m.mu.Lock()
		oids := make([]string, 0, len(m.running))
		for oid := range m.running {
			oids = append(oids, oid)
		}
		if len(oids) == 0 {
			m.watching = false
			m.mu.Unlock()
			return
		}
		m.mu.Unlock()
		pollCtx, cancel := context.WithTimeout(ctx, m.cfg.StopPoll*4)
		still, err := m.store.TasksRunningHere(pollCtx, m.cfg.NodeID, oids)
		cancel()
		if err != nil {
			continue // the database is away; the runs find out through their own calls
		}
		for _, oid := range oids {
			if !still[oid] {
				m.stopLocal(oid)
			}
		}
	}
}

func (m *Manager) newRun(t *task.Task, b *task.Bucket, r *localRun, items, errs *int64) *Run {
	var repo *repository.Service
	if m.cfg.Repo != nil {
		repo = m.cfg.Repo.WithStore(repository.NewLocalCache(m.cfg.Repo.Store(), m.cfg.CacheMetrics))
	}
	return &Run{Repo: repo,
		Task: t, Bucket: b, Node: m.cfg.NodeID, Log: m.log.With("task", t.OID, "handler", t.Handler),
		Progress: func(i, e int64) {
			atomic.AddInt64(items, i)
			atomic.AddInt64(errs, e)
			r.beat.moved(i, e, m.now)
		},
		Stopping:    r.isStopping,
		SetToken:    func(tok string) { t.Token = tok },
		Unavailable: func(err error) bool { return transientOf(m.cfg.Transient, err) },
	}
}

func (m *Manager) runStandalone(ctx context.Context, t *task.Task, r *localRun) error {
	h, err := m.handler(t.Handler)
	if err != nil {
		return m.finish(ctx, t.OID, task.FatalError, err.Error(), 0, 0, "")
	}
	var tally standaloneTally
	run := m.newRun(t, nil, r, &tally.items, &tally.errs)
	run.Resume, tally.checkpointed = t.Checkpoint, t.Checkpoint != nil
	run.Checkpoint = m.standaloneCheckpoint(t, &tally)
	runErr := h.Run(ctx, run)
	if errors.Is(runErr, task.ErrFenced) {
		return nil // the task was taken over meanwhile; its new run counts
	}
	// What the run did since its last checkpoint; a rerun from a checkpoint
	// does it again and counts it then.
	items, errs := tally.uncounted()
	if r.isStopping() || errors.Is(runErr, ErrStopped) {
		if tally.checkpointed {
			items, errs = 0, 0
		}
		return m.afterStop(ctx, t.OID, items, errs)
	}
	if runErr != nil && t.Attempts+1 < t.Retry.Attempts() {
		return errors.Join(runErr, m.retryRun(ctx, t, runErr))
	}
	result, msg := task.Success, ""
	switch {
	case runErr != nil:
		result, msg = task.FatalError, runErr.Error()
	case tally.errs > 0:
		result, msg = task.PartialError, fmt.Sprintf("%d of %d items failed", tally.errs, tally.items)
	}
	return errors.Join(runErr, m.finish(ctx, t.OID, result, msg, items, errs, t.Token))
}

// afterStop handles a run that stopped early: on a suspension the task stays
// suspended; when this node is leaving, the task's threadStopAction decides
// (restart: RUNNABLE and fired again on another node).
func (m *Manager) afterStop(ctx context.Context, oid string, items, errs int64) error {
	ctx = context.WithoutCancel(ctx)
	if err := m.store.TasksAddProgress(ctx, oid, items, errs); err != nil {
		return err
	}
	// Only a drain leaves the task RUNNING here; a suspension, a deletion or
	// a recovery elsewhere has changed it already.
	t, err := m.loseRun(ctx, oid, m.cfg.NodeID, nodeLeft(m.cfg.NodeID))
	if err != nil || t == nil || t.Role != task.Worker {
		return err
	}
	// Its buckets are back to READY; the workers on the other nodes, or a new
	// one from Maintain, take them. A pinned worker has nowhere to go.
	return m.Maintain(ctx)
}

func (m *Manager) finish(ctx context.Context, oid string, result task.ResultStatus, msg string, items, errs int64, token string) error {
	return m.finishWith(ctx, oid, m.finishChange(result, msg, items, errs, token))
}

// finishRun closes run number run (task.RunCount) of a task, and leaves a
// later run alone.
func (m *Manager) finishRun(ctx context.Context, oid string, run int64, result task.ResultStatus, msg string, items, errs int64) error {
	change := m.finishChange(result, msg, items, errs, "")
	return m.finishWith(ctx, oid, func(t *task.Task) error {
		if t.RunCount != run {
			return errNotRunnable // a newer run started meanwhile
		}
		return change(t)
	})
}

func (m *Manager) finishWith(ctx context.Context, oid string, change func(*task.Task) error) error {
	ctx = context.WithoutCancel(ctx)
	var t *task.Task
	err := m.retry(ctx, func() (err error) {
		t, err = m.store.TasksUpdate(ctx, oid, change)
		return err
	})
	if errors.Is(err, errNotRunnable) || errors.Is(err, task.ErrNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("finish task %s: %w", oid, err)
	}
	if t.State == task.Runnable && t.Recurring() {
		return m.retry(ctx, func() error { return m.sched.Schedule(ctx, t, false) })
	}
	return nil
}

func (m *Manager) finishChange(result task.ResultStatus, msg string, items, errs int64, token string) func(*task.Task) error {
	return func(t *task.Task) error {
		if t.State != task.Running && t.State != task.Waiting {
			return errNotRunnable // suspended or closed meanwhile: leave it
		}
		t.Progress.ItemsProcessed += items
		t.Progress.Errors += errs
		if token != "" {
			t.Token = token
		}
		if t.Role == task.Standalone {
			t.Attempts++ // the last attempt of the run
			if result == task.FatalError {
				t.LastError = msg
			}
		}
		return t.Finish(result, msg, m.now().UTC())
	}
}

// startCoordinator splits the work into buckets, creates the workers and parks.
func (m *Manager) startCoordinator(ctx context.Context, t *task.Task) error {
	contents, err := t.Bucketing.Segment()
	if err != nil {
		return m.finish(ctx, t.OID, task.FatalError, err.Error(), 0, 0, "")
	}
	var old []*task.Task
	if err := m.retry(ctx, func() (err error) {
		old, err = m.Workers(ctx, t.OID)
		return err
	}); err != nil {
		return err
	}
	// One transaction: the buckets are all there or none is, so a retry
	// after a transient error starts from the same place.
	if err := m.retry(ctx, func() error { return m.store.BucketsCreate(ctx, t.OID, contents) }); err != nil {
		return fmt.Errorf("create %d buckets: %w", len(contents), err)
	}
	var spec task.Workers
	if t.Workers != nil {
		spec = *t.Workers
	}
	nodes := localFirst(m.cluster.LiveNodes(ctx), m.cfg.NodeID)
	n := min(spec.Count(len(nodes), m.cfg.WorkersPerNode), len(contents))
	// Workers are spread evenly and pinned to live nodes (the node id is its
	// own execution group), unless the task names a group. This node's first
	// worker is added before the others, so it claims while they are made.
	group := func(i int) string {
		if t.ExecutionGroup != "" {
			return t.ExecutionGroup
		}
		return nodes[i%len(nodes)]
	}
	if n > 0 {
		if err := m.addWorker(ctx, t, 1, group(0)); err != nil {
			return err
		}
	}
	if err := forEach(ctx, n-1, func(ctx context.Context, i int) error {
		return m.addWorker(ctx, t, i+2, group(i+1))
	}); err != nil {
		return err
	}
	// The workers of an earlier run of a recurring task go only now, several
	// at a time, so they do not delay the new run's first bucket.
	if err := forEach(ctx, len(old), func(ctx context.Context, i int) error {
		if err := m.Delete(ctx, old[i].OID); err != nil && !errors.Is(err, task.ErrNotFound) {
			return err
		}
		return nil
	}); err != nil {
		return err
	}
	// Park only now: Maintain must not see a waiting coordinator with READY
	// buckets and no workers yet, or it adds one too many.
	if err := m.retry(ctx, func() error {
		_, err := m.store.TasksUpdate(ctx, t.OID, func(t *task.Task) error {
			t.Progress = task.Progress{}
			return t.Wait()
		})
		return err
	}); err != nil {
		return err
	}
	return m.checkCoordinatorDone(ctx, t.OID) // the workers may have finished already
}

func (m *Manager) addWorker(ctx context.Context, coord *task.Task, index int, group string) error {
	now := m.now().UTC()
	w := &task.Task{
		OID: uuid.NewString(), Name: fmt.Sprintf("Worker %d for %s", index, coord.Name), Handler: coord.Handler,
		Owner: coord.Owner, Params: coord.Params, ExecutionGroup: group, Parent: coord.OID, Retry: coord.Retry,
		Role: task.Worker, State: task.Runnable, Result: task.InProgress, Version: 1, CreatedAt: now, ModifiedAt: now,
		ThreadStopAction: coord.ThreadStopAction, // shown on the worker; the coordinator's own decides
	}
	tries := 0
	if err := m.retry(ctx, func() error {
		tries++
		err := m.store.TasksAdd(ctx, w)
		if err != nil && tries > 1 {
			// A try whose commit was cut off after it happened: the
			// worker is there already.
			if _, gerr := m.store.TasksGet(ctx, w.OID); gerr == nil {
				return nil
			}
		}
		return err
	}); err != nil {
		return fmt.Errorf("add worker: %w", err)
	}
	if group == m.cfg.NodeID && m.startHere(w.OID, group) {
		return nil
	}
	return m.retry(ctx, func() error { return m.sched.Schedule(ctx, w, true) })
}

// startHere runs a worker pinned to this node at once, in-process, instead
// of through the job store and the scheduler's next acquisition: its task
// row is the record (RUNNABLE, then RUNNING here), so recovery treats it as
// any other worker of this node. It reports false while the node is
// draining or its execution group (this node's id) is at its limit; the
// caller then schedules the worker as usual, and it runs when a slot frees.
func (m *Manager) startHere(oid, group string) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.draining {
		return false
	}
	s, err := m.limits.reserve(group)
	if err != nil {
		return false
	}
	m.local.Add(1)
	// Not the coordinator's context: the worker outlives the coordinator's
	// run. Drain stops it and waits for it; the owner's context ends after.
	started := m.cfg.Go(func(ctx context.Context) {
		defer m.local.Done()
		if err := m.execute(ctx, oid, s); err != nil {
			m.log.Error("run worker", "task", oid, "err", err)
		}
	})
	if !started {
		s.release()
		m.local.Done()
	}
	return started
}

// checkCoordinatorDone closes a waiting coordinator whose buckets are all COMPLETE.
func (m *Manager) checkCoordinatorDone(ctx context.Context, oid string) error {
	// The run first, then its buckets: a check that started before a
	// run-now (or a restart) and finishes after it must not close the new
	// run with the old run's counts, so the close is bound to this run.
	var coord *task.Task
	if err := m.retry(ctx, func() (err error) {
		coord, err = m.store.TasksGet(ctx, oid)
		return err
	}); err != nil || coord.State != task.Waiting {
		return err
	}
	var counts BucketCounts
	if err := m.retry(ctx, func() (err error) {
		counts, err = m.store.BucketsCount(ctx, oid)
		return err
	}); err != nil {
		return err
	}
	return m.closeIfDone(ctx, coord, counts)
}

// closeIfDone closes the run of coord when counts, read after coord (so
// they are that run's buckets or a later run's, never an earlier one's), say
// every bucket is COMPLETE.
func (m *Manager) closeIfDone(ctx context.Context, coord *task.Task, counts BucketCounts) error {
	if coord.State != task.Waiting || counts.Total() == 0 || counts.Complete != counts.Total() {
		return nil
	}
	result := task.Success
	msg := fmt.Sprintf("%d buckets complete", counts.Complete)
	if counts.Errors > 0 {
		result = task.PartialError
		msg += fmt.Sprintf(", %d items failed", counts.Errors)
	}
	// Record the final sums on the coordinator itself too.
	return m.finishRun(ctx, coord.OID, coord.RunCount, result, msg, counts.Items, counts.Errors)
}

// ensureWorkers makes sure a waiting coordinator with unfinished buckets has
// at least one worker that can run; it reopens or adds one if not.
// live is the cluster's live node ids, read once by the caller.
func (m *Manager) ensureWorkers(ctx context.Context, coord *task.Task, live []string) error {
	if coord.State != task.Waiting {
		return nil
	}
	counts, err := m.store.BucketsCount(ctx, coord.OID)
	if err != nil {
		return err
	}
	return m.ensureWorkersFor(ctx, coord, counts, live)
}

// ensureWorkersFor is ensureWorkers with the coordinator's bucket counts
// already read (after coord): it closes a coordinator they say is done,
// and gives one with READY buckets a worker if none can run.
func (m *Manager) ensureWorkersFor(ctx context.Context, coord *task.Task, counts BucketCounts, live []string) error {
	if counts.Ready == 0 {
		return m.closeIfDone(ctx, coord, counts)
	}
	workers, err := m.Workers(ctx, coord.OID)
	if err != nil {
		return err
	}
	isLive := map[string]bool{}
	for _, id := range live {
		isLive[id] = true
	}
	for _, w := range workers {
		runnable := w.State == task.Runnable || w.State == task.Running
		if runnable && (w.ExecutionGroup == coord.ExecutionGroup || isLive[w.ExecutionGroup]) {
			return nil
		}
	}
	group := coord.ExecutionGroup
	if group == "" {
		group = m.workerHome(live)
		if group == "" {
			return nil // no live node to run it; the next node up will
		}
	}
	return m.addWorker(ctx, coord, len(workers)+1, group)
}

// workerHome picks the node for a replacement worker: this node, or, while
// it is leaving, another live one ("" if there is none).
func (m *Manager) workerHome(live []string) string {
	m.mu.Lock()
	draining := m.draining
	m.mu.Unlock()
	if !draining {
		return m.cfg.NodeID
	}
	for _, id := range live {
		if id != m.cfg.NodeID {
			return id
		}
	}
	return ""
}

// localFirst returns the live nodes with this node first (the list as it is
// when this node is not live, or just this node when none is).
func localFirst(nodes []string, self string) []string {
	for i, id := range nodes {
		if id == self {
			return append(append([]string{self}, nodes[:i]...), nodes[i+1:]...)
		}
	}
	if len(nodes) == 0 {
		return []string{self}
	}
	return nodes
}

// parallelism bounds the store calls forEach makes at once.
const parallelism = 4

// forEach calls fn for 0…n-1, a few at a time, and returns the first error;
// after an error no new call starts and the others' context is cancelled.
func forEach(ctx context.Context, n int, fn func(ctx context.Context, i int) error) error {
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(parallelism)
	for i := range n {
		if gctx.Err() != nil {
			break
		}
		g.Go(func() error { return fn(gctx, i) })
	}
	return g.Wait()
}
