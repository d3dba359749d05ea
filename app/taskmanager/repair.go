package taskmanager

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"cadre/domain/task"
)

// DefaultRepairInterval is how often a node runs the repair pass.
const DefaultRepairInterval = 5 * time.Second

// repairRunnableLimit bounds the RUNNABLE tasks one pass looks at.
const repairRunnableLimit = 1000

// RepairKind names an inconsistent state the repair pass heals.
type RepairKind string

// Repair kinds: each is a state a transition cut short by the database (or
// a node) can leave behind, and that no other part of Cadre would heal.
const (
	// RepairCoordinatorDone: a coordinator whose buckets are all COMPLETE
	// but which is not closed (its run ended before it parked, or the close
	// failed); it is closed with its result.
	RepairCoordinatorDone RepairKind = "coordinator-done"
	// RepairNoTrigger: a RUNNABLE task (or worker) with no trigger in the
	// job store, so nothing would ever fire it; it is scheduled again.
	RepairNoTrigger RepairKind = "no-trigger"
	// RepairRunLost: a task the database says RUNNING on this node that no
	// run here holds; its threadStopAction applies as if its node had died
	// (a worker is closed and its buckets go back to READY).
	RepairRunLost RepairKind = "run-lost"
	// RepairBucketsHeld: buckets DELEGATED to a worker that has ended (or
	// was suspended or deleted); they go back to READY at the same epoch and
	// the coordinator gets a worker if it has none.
	RepairBucketsHeld RepairKind = "buckets-held"
	// RepairFiredTrigger: a fired-trigger row of this node's scheduler that
	// no running fire holds (its completion was lost); it is deleted, so a
	// later recovery of this node does not fire the job again.
	RepairFiredTrigger RepairKind = "fired-trigger"
)

// RepairKinds lists every kind, so that their counters can be shown at zero
// before the first repair.
var RepairKinds = []RepairKind{RepairCoordinatorDone, RepairNoTrigger, RepairRunLost, RepairBucketsHeld, RepairFiredTrigger}

// Repair is one repair the pass made.
type Repair struct {
	Kind    RepairKind
	TaskOID string
	Message string
}

// RepairReporter is told of every repair (the node counts it and records
// it as cluster activity); the manager logs it itself.
type RepairReporter interface {
	Repaired(ctx context.Context, r Repair)
}

// RepairStore finds the inconsistent states. Every query reads through an
// index and returns few rows, since every node runs it every few seconds.
type RepairStore interface {
	// TasksCoordinatorsDone lists RUNNING or WAITING coordinators that have
	// buckets and no READY or DELEGATED one.
	TasksCoordinatorsDone(ctx context.Context) ([]*task.Task, error)
	// TasksRunnable lists up to limit RUNNABLE tasks.
	TasksRunnable(ctx context.Context, limit int) ([]*task.Task, error)
	// BucketsHeldByEnded lists DELEGATED buckets whose worker is neither
	// RUNNABLE nor RUNNING (closed, suspended or deleted).
	BucketsHeldByEnded(ctx context.Context) ([]task.Bucket, error)
	// BucketsReleaseAt puts buckets back to READY, each only while it is
	// still DELEGATED at its epoch; it returns how many it released.
	BucketsReleaseAt(ctx context.Context, bs []task.Bucket) (int64, error)
}

// repairState is what the pass remembers between rounds: the suspects it
// saw, by kind and key, with a fingerprint of their state (a version, an
// epoch). A suspect is repaired only when the next pass finds it again
// unchanged, so the pass never races a transition in flight: those finish
// within a round trip, the pass comes RepairInterval later.
type repairState struct {
	seen map[string]string
}

// SetRepairReporter wires the reporter of repairs (before StartRepair).
func (m *Manager) SetRepairReporter(r RepairReporter) { m.reporter = r }

// StartRepair runs the repair pass every RepairInterval on the node's
// lifetime. Each node runs it: every repair is a conditional transition
// (a task changes only in the state the pass saw, a bucket is released
// only at the epoch it saw), so two nodes repairing the same state at once
// do it once, and no lock or leader is needed that could itself be lost
// with a connection. Its queries are indexed and cheap.
func (m *Manager) StartRepair() {
	if _, ok := m.store.(RepairStore); !ok {
		return
	}
	m.cfg.Go(func(ctx context.Context) {
		for {
			timer := time.NewTimer(jitter(m.cfg.RepairInterval))
			select {
			case <-ctx.Done():
				timer.Stop()
				return
			case <-timer.C:
			}
			if _, err := m.Repair(ctx); err != nil && ctx.Err() == nil {
				m.log.Warn("repair pass", "err", err)
			}
		}
	})
}

// Repair runs one pass: it heals what the previous pass found inconsistent
// and still finds so, remembers what it finds for the first time, and
// returns the repairs it made. A store error ends the pass; the next one
// starts over.
func (m *Manager) Repair(ctx context.Context) ([]Repair, error) {
	rs, ok := m.store.(RepairStore)
	if !ok {
		return nil, nil
	}
	m.repairMu.Lock()
	defer m.repairMu.Unlock()
	prev := m.repairs.seen
	now := map[string]string{}
	var done []Repair
	report := func(r Repair) {
		done = append(done, r)
		m.log.Warn("repaired an inconsistent state", "kind", string(r.Kind), "task", r.TaskOID, "what", r.Message)
		if m.reporter != nil {
			m.reporter.Repaired(ctx, r)
		}
	}
	// suspect reports whether the previous pass saw key in the same state;
	// otherwise it remembers it for the next pass.
	suspect := func(key, print string) bool {
		if p, ok := prev[key]; ok && p == print {
			return true
		}
		now[key] = print
		return false
	}
	err := errors.Join(
		m.repairCoordinators(ctx, rs, suspect, report),
		m.repairRunsLost(ctx, suspect, report),
		m.repairBuckets(ctx, rs, suspect, report),
		m.repairTriggers(ctx, rs, suspect, report),
	)
	m.repairs.seen = now
	return done, err
}

func version(t *task.Task) string { return strconv.FormatInt(t.Version, 10) }

// repairCoordinators closes coordinators whose buckets are all complete. A
// WAITING one is closed by any node; a RUNNING one only by its own node,
// once no run holds it there (a run still starting parks and closes it).
func (m *Manager) repairCoordinators(ctx context.Context, rs RepairStore, suspect func(string, string) bool, report func(Repair)) error {
	coords, err := rs.TasksCoordinatorsDone(ctx)
	if err != nil {
		return fmt.Errorf("find finished coordinators: %w", err)
	}
	for _, c := range coords {
		if c.State == task.Running && (c.Node != m.cfg.NodeID || m.runsHere(c.OID)) {
			continue
		}
		if !suspect("done:"+c.OID, version(c)) {
			continue
		}
		counts, err := m.store.BucketsCount(ctx, c.OID)
		if err != nil {
			return err
		}
		if counts.Total() == 0 || counts.Complete != counts.Total() {
			continue
		}
		result, msg := task.Success, fmt.Sprintf("%d buckets complete", counts.Complete)
		if counts.Errors > 0 {
			result = task.PartialError
			msg += fmt.Sprintf(", %d items failed", counts.Errors)
		}
		was := c.State
		closed, err := m.store.TasksUpdate(ctx, c.OID, func(t *task.Task) error {
			if t.Version != c.Version {
				return errUnchanged // moved meanwhile: not ours to close
			}
			return m.finishChange(result, msg, counts.Items, counts.Errors, "")(t)
		})
		switch {
		case errors.Is(err, errUnchanged), errors.Is(err, errNotRunnable), errors.Is(err, task.ErrNotFound):
			continue
		case err != nil:
			return fmt.Errorf("close finished coordinator %s: %w", c.OID, err)
		}
		if closed.State == task.Runnable && closed.Recurring() {
			err = m.sched.Schedule(ctx, closed, false) // its next run, as finish does
		}
		if err != nil {
			return err
		}
		report(Repair{Kind: RepairCoordinatorDone, TaskOID: c.OID,
			Message: fmt.Sprintf("coordinator %s with all %d buckets complete was left %s; finished %s", c.Name, counts.Complete, was, result)})
	}
	return nil
}

// runsHere reports whether a run of oid is alive on this node.
func (m *Manager) runsHere(oid string) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	_, ok := m.running[oid]
	return ok
}

// repairRunsLost finds tasks the database says RUNNING on this node that no
// run here holds. The first pass reports them as stalled (the stall check's
// view of a run that no node runs); the next applies their threadStopAction.
func (m *Manager) repairRunsLost(ctx context.Context, suspect func(string, string) bool, report func(Repair)) error {
	orphans, err := m.orphanedRuns(ctx)
	if err != nil {
		return err
	}
	for _, t := range orphans {
		key, print := "lost:"+t.OID, version(t)
		if !suspect(key, print) {
			m.markOrphanStalled(ctx, t)
			continue
		}
		l := loss{reason: "its run on node " + m.cfg.NodeID + " was lost", workerResult: task.PartialError,
			workerMessage: "its run on node " + m.cfg.NodeID + " was lost; its buckets were released"}
		lost, err := m.loseRun(ctx, t.OID, m.cfg.NodeID, l)
		if err != nil {
			return err
		}
		if lost == nil {
			continue // changed meanwhile
		}
		if lost.Role == task.Worker {
			if err := m.releaseWorker(ctx, lost.OID); err != nil {
				return err
			}
		}
		report(Repair{Kind: RepairRunLost, TaskOID: t.OID,
			Message: fmt.Sprintf("%s was RUNNING on %s with no run there; now %s", t.Name, m.cfg.NodeID, lost.State)})
	}
	if len(orphans) > 0 {
		return m.Maintain(ctx)
	}
	return nil
}

// orphanedRuns lists the tasks RUNNING on this node in the database that no
// run of this node holds.
func (m *Manager) orphanedRuns(ctx context.Context) ([]*task.Task, error) {
	running, err := m.store.TasksRunningOn(ctx, m.cfg.NodeID)
	if err != nil {
		return nil, fmt.Errorf("list runs of this node: %w", err)
	}
	var out []*task.Task
	for _, t := range running {
		if !m.runsHere(t.OID) {
			out = append(out, t)
		}
	}
	return out, nil
}

// repairBuckets releases buckets held by workers that ended, at the epoch
// seen, and has their coordinators given workers.
func (m *Manager) repairBuckets(ctx context.Context, rs RepairStore, suspect func(string, string) bool, report func(Repair)) error {
	held, err := rs.BucketsHeldByEnded(ctx)
	if err != nil {
		return fmt.Errorf("find buckets of ended workers: %w", err)
	}
	var release []task.Bucket
	for _, b := range held {
		if suspect(fmt.Sprintf("bucket:%s/%d", b.TaskOID, b.Seq), strconv.FormatInt(b.Epoch, 10)) {
			release = append(release, b)
		}
	}
	if len(release) == 0 {
		return nil
	}
	n, err := rs.BucketsReleaseAt(ctx, release)
	if err != nil {
		return fmt.Errorf("release buckets of ended workers: %w", err)
	}
	if n > 0 {
		perTask := map[string]int{}
		for _, b := range release {
			perTask[b.TaskOID]++
		}
		for oid, k := range perTask {
			report(Repair{Kind: RepairBucketsHeld, TaskOID: oid,
				Message: fmt.Sprintf("%d bucket(s) DELEGATED to a worker that had ended went back to READY", k)})
		}
	}
	return m.Maintain(ctx)
}

// repairTriggers schedules RUNNABLE tasks that have no trigger: a single run
// fires now, a recurring task at its next time.
func (m *Manager) repairTriggers(ctx context.Context, rs RepairStore, suspect func(string, string) bool, report func(Repair)) error {
	runnable, err := rs.TasksRunnable(ctx, repairRunnableLimit)
	if err != nil {
		return fmt.Errorf("list runnable tasks: %w", err)
	}
	for _, t := range runnable {
		if m.runsHere(t.OID) {
			continue // being started here (in-process worker)
		}
		next, err := m.sched.NextFireTime(ctx, t.OID)
		if err != nil {
			return fmt.Errorf("read trigger of %s: %w", t.OID, err)
		}
		if next != nil || !suspect("trigger:"+t.OID, version(t)) {
			continue
		}
		// Read again: a task started meanwhile has lost its trigger for good reason.
		now, err := m.store.TasksGet(ctx, t.OID)
		if err != nil || now.State != task.Runnable || now.Version != t.Version {
			continue
		}
		if err := m.sched.Schedule(ctx, now, !now.Recurring()); err != nil {
			return fmt.Errorf("schedule %s again: %w", t.OID, err)
		}
		report(Repair{Kind: RepairNoTrigger, TaskOID: t.OID,
			Message: fmt.Sprintf("%s was RUNNABLE with no trigger in the job store; scheduled again", t.Name)})
	}
	return nil
}
