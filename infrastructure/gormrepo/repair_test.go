package gormrepo_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgconn"

	"cadre/app/handlers"
	"cadre/app/taskmanager"
	"cadre/db"
	"cadre/domain/task"
	"cadre/infrastructure/gormrepo"
	"cadre/infrastructure/jobs"
	"cadre/infrastructure/metrics"
	"cadre/quartzstore"
)

const repairNode = "n1"

// repairRig is one node's task manager on a real database and job store,
// with no scheduler loop and no cluster manager: the test makes the
// inconsistent state itself and runs the repair passes by hand.
type repairRig struct {
	d     *db.DB
	repo  *gormrepo.Repo
	jobs  *quartzstore.SQLStore
	sched *quartzstore.Scheduler // never started: its sweep is called directly
	tm    *taskmanager.Manager
	met   *metrics.Metrics
	wg    sync.WaitGroup // the manager's goroutines (in-process workers)
}

type oneNode struct{}

func (oneNode) LiveNodes(context.Context) []string { return []string{repairNode} }

// countRepairs counts repairs in cadre_repairs_total, as the node does.
type countRepairs struct{ m *metrics.Metrics }

func (c countRepairs) Repaired(_ context.Context, r taskmanager.Repair) { c.m.Repaired(string(r.Kind)) }

func newRepairRig(t *testing.T, dialect string, wrap func(taskmanager.TaskStore) taskmanager.TaskStore, cfg taskmanager.Config) *repairRig {
	t.Helper()
	return newRepairRigWith(t, dialect, wrap, cfg, nil)
}

// newRepairRigWith is newRepairRig with more handlers than noop.
func newRepairRigWith(t *testing.T, dialect string, wrap func(taskmanager.TaskStore) taskmanager.TaskStore, cfg taskmanager.Config,
	more map[string]taskmanager.Handler) *repairRig {
	t.Helper()
	ctx := context.Background()
	r := &repairRig{d: openMigrated(t, dialect), met: metrics.New(repairNode)}
	r.repo = gormrepo.New(r.d)
	pool, err := r.d.DB.DB()
	if err != nil {
		t.Fatal(err)
	}
	o := quartzstore.SQLOptions{Dialect: quartzstore.SQLite}
	if r.d.Dialect == db.Postgres {
		o.Dialect = quartzstore.Postgres
	}
	if r.jobs, err = quartzstore.NewSQLStore(pool, o); err != nil {
		t.Fatal(err)
	}
	if err := r.jobs.Migrate(ctx, true); err != nil {
		t.Fatal(err)
	}
	var store taskmanager.TaskStore = r.repo
	if wrap != nil {
		store = wrap(r.repo)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	cfg.NodeID, cfg.Transient = repairNode, db.IsTransient
	life, stop := context.WithCancel(ctx)
	cfg.Go = func(f func(context.Context)) bool {
		r.wg.Add(1)
		go func() { defer r.wg.Done(); f(life) }()
		return true
	}
	hs := map[string]taskmanager.Handler{handlers.NameNoop: handlers.NewNoop()}
	maps.Copy(hs, more)
	r.tm = taskmanager.New(cfg, store, jobs.New(r.jobs, nil), oneNode{}, hs, nil, nil, log)
	r.tm.SetRepairReporter(countRepairs{r.met})
	r.sched = quartzstore.NewScheduler(r.jobs, quartzstore.SchedulerConfig{InstanceID: repairNode, Logger: log,
		Runner: func(context.Context, quartzstore.FiredTrigger) error { return nil },
		OnOrphanDeleted: func(ctx context.Context, f quartzstore.FiredTrigger) {
			countRepairs{r.met}.Repaired(ctx, taskmanager.Repair{Kind: taskmanager.RepairFiredTrigger})
		}})
	t.Cleanup(func() { stop(); r.wg.Wait() }) // before the database closes (cleanups run last first)
	return r
}

// add stores a task; zero fields get a noop task's defaults.
func (r *repairRig) add(t *testing.T, tk task.Task) *task.Task {
	t.Helper()
	now := time.Now().UTC()
	if tk.OID == "" {
		tk.OID = uuid.NewString()
	}
	tk.Name, tk.Handler, tk.Params = "task "+tk.OID[:8], handlers.NameNoop, map[string]any{}
	tk.Version, tk.CreatedAt, tk.ModifiedAt = 1, now, now
	if tk.Role == "" {
		tk.Role = task.Standalone
	}
	if tk.Result == "" {
		tk.Result = task.InProgress
	}
	if tk.State == task.Running {
		tk.LastRunStart = &now
	}
	if err := r.repo.TasksAdd(context.Background(), &tk); err != nil {
		t.Fatal(err)
	}
	return &tk
}

// coordinator adds a coordinator in state with n READY buckets.
func (r *repairRig) coordinator(t *testing.T, state task.ExecutionState, node string, n int) *task.Task {
	t.Helper()
	c := r.add(t, task.Task{Role: task.Coordinator, State: state, Node: node,
		Bucketing: &task.Bucketing{Numeric: &task.Numeric{From: 0, To: int64(n), BucketSize: 1}}})
	contents := make([]task.Content, n)
	for i := range contents {
		from, to := int64(i), int64(i+1)
		contents[i] = task.Content{From: &from, To: &to}
	}
	if err := r.repo.BucketsCreate(context.Background(), c.OID, contents); err != nil {
		t.Fatal(err)
	}
	return c
}

func (r *repairRig) exec(t *testing.T, q string, args ...any) {
	t.Helper()
	if err := r.d.DB.Exec(q, args...).Error; err != nil {
		t.Fatal(err)
	}
}

func (r *repairRig) get(t *testing.T, oid string) *task.Task {
	t.Helper()
	tk, err := r.repo.TasksGet(context.Background(), oid)
	if err != nil {
		t.Fatal(err)
	}
	return tk
}

func (r *repairRig) pass(t *testing.T) {
	t.Helper()
	if _, err := r.tm.Repair(context.Background()); err != nil {
		t.Fatalf("repair pass: %v", err)
	}
	if err := r.sched.SweepOrphans(context.Background()); err != nil {
		t.Fatalf("sweep: %v", err)
	}
}

// waitFor polls cond until it holds or 20 s pass.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// allCompleteOnce reports whether every bucket of oid is COMPLETE with one completion.
func (r *repairRig) allCompleteOnce(t *testing.T, oid string) bool {
	t.Helper()
	done, err := r.repo.BucketCompletions(context.Background(), oid)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range done {
		if n != 1 {
			return false
		}
	}
	c, err := r.repo.BucketsCount(context.Background(), oid)
	if err != nil {
		t.Fatal(err)
	}
	return c.Total() > 0 && c.Complete == c.Total()
}

// TestRepairPass makes each inconsistent state a database fault can leave,
// directly in the stores, and checks that one pass only notes it, the next
// heals it, and the repair is counted under its kind.
func TestRepairPass(t *testing.T) {
	tests := []struct {
		name string
		kind taskmanager.RepairKind
		// make builds the inconsistent state and returns the check that it is healed.
		make func(t *testing.T, r *repairRig) func(t *testing.T)
	}{
		{"waiting coordinator with all buckets complete", taskmanager.RepairCoordinatorDone, func(t *testing.T, r *repairRig) func(t *testing.T) {
			c := r.coordinator(t, task.Waiting, "", 4)
			r.exec(t, "UPDATE buckets SET state = 'COMPLETE', completions = 1, items_processed = 2 WHERE task_oid = ?", c.OID)
			return func(t *testing.T) {
				got := r.get(t, c.OID)
				if got.State != task.Closed || got.Result != task.Success || got.Progress.ItemsProcessed != 8 {
					t.Errorf("coordinator %s/%s with %d items, want CLOSED/SUCCESS with 8", got.State, got.Result, got.Progress.ItemsProcessed)
				}
			}
		}},
		{"coordinator left RUNNING on this node with all buckets complete", taskmanager.RepairCoordinatorDone, func(t *testing.T, r *repairRig) func(t *testing.T) {
			c := r.coordinator(t, task.Running, repairNode, 3)
			r.exec(t, "UPDATE buckets SET state = 'COMPLETE', completions = 1 WHERE task_oid = ?", c.OID)
			return func(t *testing.T) {
				if got := r.get(t, c.OID); got.State != task.Closed || got.Result != task.Success {
					t.Errorf("coordinator %s/%s, want CLOSED/SUCCESS", got.State, got.Result)
				}
			}
		}},
		{"runnable task with no trigger", taskmanager.RepairNoTrigger, func(t *testing.T, r *repairRig) func(t *testing.T) {
			s := r.add(t, task.Task{State: task.Runnable})
			return func(t *testing.T) {
				if _, err := r.jobs.TriggersGet(context.Background(), s.OID); err != nil {
					t.Errorf("no trigger after the repair: %v", err)
				}
			}
		}},
		{"runnable worker with no trigger", taskmanager.RepairNoTrigger, func(t *testing.T, r *repairRig) func(t *testing.T) {
			c := r.coordinator(t, task.Waiting, "", 2)
			w := r.add(t, task.Task{Role: task.Worker, State: task.Runnable, Parent: c.OID, ExecutionGroup: "elsewhere"})
			return func(t *testing.T) {
				tr, err := r.jobs.TriggersGet(context.Background(), w.OID)
				if err != nil || tr.Key != w.OID {
					t.Errorf("no trigger for the worker after the repair: %v", err)
				}
			}
		}},
		{"task RUNNING on this node with no run here", taskmanager.RepairRunLost, func(t *testing.T, r *repairRig) func(t *testing.T) {
			s := r.add(t, task.Task{State: task.Running, Node: repairNode, ThreadStopAction: task.StopSuspend})
			return func(t *testing.T) {
				if got := r.get(t, s.OID); got.State != task.Suspended {
					t.Errorf("task %s, want SUSPENDED (its threadStopAction)", got.State)
				}
			}
		}},
		{"worker RUNNING on this node with no run here", taskmanager.RepairRunLost, func(t *testing.T, r *repairRig) func(t *testing.T) {
			c := r.coordinator(t, task.Waiting, "", 4)
			w := r.add(t, task.Task{Role: task.Worker, State: task.Running, Node: repairNode, Parent: c.OID, ExecutionGroup: "elsewhere"})
			if _, err := r.repo.BucketsClaim(context.Background(), taskmanager.BucketsClaimParams{TaskOID: c.OID, Worker: w.OID, Node: repairNode, Now: time.Now().UTC(), Limit: 2}); err != nil {
				t.Fatal(err)
			}
			return func(t *testing.T) {
				if got := r.get(t, w.OID); got.State != task.Closed {
					t.Errorf("worker %s, want CLOSED", got.State)
				}
				// Its buckets went back: the coordinator's new worker (this
				// node's, in-process) does them all, each once.
				waitFor(t, "every bucket complete once", func() bool { return r.allCompleteOnce(t, c.OID) })
			}
		}},
		{"buckets DELEGATED to a closed worker", taskmanager.RepairBucketsHeld, func(t *testing.T, r *repairRig) func(t *testing.T) {
			c := r.coordinator(t, task.Waiting, "", 5)
			w := r.add(t, task.Task{Role: task.Worker, State: task.Running, Node: "n9", Parent: c.OID, ExecutionGroup: "n9"})
			if _, err := r.repo.BucketsClaim(context.Background(), taskmanager.BucketsClaimParams{TaskOID: c.OID, Worker: w.OID, Node: "n9", Now: time.Now().UTC(), Limit: 2}); err != nil {
				t.Fatal(err)
			}
			r.exec(t, "UPDATE tasks SET execution_state = 'CLOSED', result_status = 'FATAL_ERROR' WHERE oid = ?", w.OID)
			return func(t *testing.T) {
				waitFor(t, "every bucket complete once", func() bool { return r.allCompleteOnce(t, c.OID) })
				waitFor(t, "coordinator closed", func() bool { return r.get(t, c.OID).State == task.Closed })
			}
		}},
		{"fired trigger that no run holds", taskmanager.RepairFiredTrigger, func(t *testing.T, r *repairRig) func(t *testing.T) {
			ctx := context.Background()
			now, err := r.jobs.Now(ctx)
			if err != nil {
				t.Fatal(err)
			}
			for _, key := range []string{"mine", "peer"} {
				tr := quartzstore.Trigger{Key: key, Kind: quartzstore.KindOnce, NextFireTime: now.Add(-time.Second)}
				if err := r.jobs.JobsSchedule(ctx, quartzstore.Job{Key: key}, tr); err != nil {
					t.Fatal(err)
				}
				inst := repairNode
				if key == "peer" {
					inst = "n2" // another node's fire: its own scheduler (or recovery) answers for it
				}
				if _, err := r.jobs.TriggersAcquireNext(ctx, quartzstore.TriggersAcquireNextParams{InstanceID: inst, Now: now, MaxCount: 1}); err != nil {
					t.Fatal(err)
				}
			}
			return func(t *testing.T) {
				fired, err := r.jobs.FiredTriggersList(ctx)
				if err != nil {
					t.Fatal(err)
				}
				if len(fired) != 1 || fired[0].JobKey != "peer" {
					t.Errorf("fired triggers left: %+v, want only the peer's", fired)
				}
			}
		}},
	}
	for _, dialect := range []string{"sqlite", "postgresql"} {
		for _, tc := range tests {
			t.Run(dialect+"/"+tc.name, func(t *testing.T) {
				r := newRepairRig(t, dialect, nil, taskmanager.Config{})
				healed := tc.make(t, r)
				r.pass(t)
				if n := r.met.Repairs(string(tc.kind)); n != 0 {
					t.Fatalf("repaired at first sight (%v); a state must stay inconsistent over two passes", n)
				}
				r.pass(t)
				if n := r.met.Repairs(string(tc.kind)); n < 1 {
					t.Fatalf("cadre_repairs_total{kind=%q} = %v after the second pass, want ≥ 1", tc.kind, n)
				}
				healed(t)
			})
		}
	}
}

// TestRepairMarksLostRunStalled: the first pass reports a task RUNNING here
// that no run holds as stalled, before the second repairs it.
func TestRepairMarksLostRunStalled(t *testing.T) {
	for _, dialect := range []string{"sqlite", "postgresql"} {
		t.Run(dialect, func(t *testing.T) {
			r := newRepairRig(t, dialect, nil, taskmanager.Config{})
			s := r.add(t, task.Task{State: task.Running, Node: repairNode})
			r.pass(t)
			stalled, err := r.tm.StalledTasks(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if len(stalled) != 1 || stalled[0].OID != s.OID || stalled[0].StalledSince == nil {
				t.Fatalf("stalled tasks %v, want the orphaned run %s", stalled, s.OID)
			}
		})
	}
}

// flakyClaims fails every claim with err until the given time, as a
// database that is away would.
type flakyClaims struct {
	taskmanager.TaskStore
	until time.Time
	err   error
}

func (f *flakyClaims) BucketsClaim(ctx context.Context, p taskmanager.BucketsClaimParams) ([]task.Bucket, error) {
	if time.Now().Before(f.until) {
		return nil, fmt.Errorf("claim buckets of %s: %w", p.TaskOID, f.err)
	}
	return f.TaskStore.BucketsClaim(ctx, p)
}

// TestWorkerOutlastsTransientClaimErrors: a worker whose claims fail with a
// transient error for longer than the retry window keeps trying and ends
// SUCCESS; one whose claims fail otherwise ends FATAL_ERROR at once, gives
// its buckets back, and its coordinator gets a new worker that finishes.
func TestWorkerOutlastsTransientClaimErrors(t *testing.T) {
	terminated := &pgconn.PgError{Severity: "FATAL", Code: "57P01", Message: "terminating connection due to administrator command"}
	tests := []struct {
		name       string
		err        error
		wantResult task.ResultStatus
	}{
		{"transient", terminated, task.Success},
		{"not transient", errors.New("claim statement rejected"), task.FatalError},
	}
	for _, dialect := range []string{"sqlite", "postgresql"} {
		for _, tc := range tests {
			t.Run(dialect+"/"+tc.name, func(t *testing.T) {
				flaky := &flakyClaims{err: tc.err}
				r := newRepairRig(t, dialect, func(s taskmanager.TaskStore) taskmanager.TaskStore { flaky.TaskStore = s; return flaky },
					taskmanager.Config{RetryWindow: 100 * time.Millisecond})
				c := r.coordinator(t, task.Waiting, "", 6)
				w := r.add(t, task.Task{Role: task.Worker, State: task.Runnable, Parent: c.OID, ExecutionGroup: repairNode})
				flaky.until = time.Now().Add(time.Second) // ten retry windows
				if err := r.tm.Execute(context.Background(), w.OID); err != nil {
					t.Fatal(err)
				}
				got := r.get(t, w.OID)
				if got.State != task.Closed || got.Result != tc.wantResult {
					t.Fatalf("worker %s/%s (%s), want CLOSED/%s", got.State, got.Result, got.Message, tc.wantResult)
				}
				waitFor(t, "every bucket complete once", func() bool { return r.allCompleteOnce(t, c.OID) })
				waitFor(t, "coordinator closed", func() bool { return r.get(t, c.OID).State == task.Closed })
			})
		}
	}
}

// databaseAwayOnce fails each bucket's first run with the error a
// terminated connection gives, as a handler whose database went away in the
// middle of the bucket, and counts one item on the next.
type databaseAwayOnce struct {
	mu   sync.Mutex
	runs map[int64]int
}

func (h *databaseAwayOnce) Validate(map[string]any, *task.Bucketing) error { return nil }

func (h *databaseAwayOnce) Run(_ context.Context, run *taskmanager.Run) error {
	h.mu.Lock()
	h.runs[run.Bucket.Seq]++
	first := h.runs[run.Bucket.Seq] == 1
	h.mu.Unlock()
	if first {
		run.Progress(1, 1) // what the interrupted run had counted is forgotten
		return fmt.Errorf("write user: %w", &pgconn.PgError{Severity: "FATAL", Code: "57P01", Message: "terminating connection due to administrator command"})
	}
	run.Progress(1, 0)
	return nil
}

// TestBucketInterruptedByTheDatabaseRunsAgain: a handler that fails because
// the database went away (a transient error) has its bucket run again once
// the database answers, without spending one of the bucket's attempts: the
// task ends SUCCESS with each bucket counted once and no error, though no
// retry was configured.
func TestBucketInterruptedByTheDatabaseRunsAgain(t *testing.T) {
	for _, dialect := range []string{"sqlite", "postgresql"} {
		t.Run(dialect, func(t *testing.T) {
			h := &databaseAwayOnce{runs: map[int64]int{}}
			r := newRepairRigWith(t, dialect, nil, taskmanager.Config{}, map[string]taskmanager.Handler{"away": h})
			c := r.coordinator(t, task.Waiting, "", 4)
			r.exec(t, "UPDATE tasks SET handler = 'away' WHERE oid = ?", c.OID)
			w := r.add(t, task.Task{Role: task.Worker, State: task.Runnable, Parent: c.OID, ExecutionGroup: repairNode})
			r.exec(t, "UPDATE tasks SET handler = 'away' WHERE oid = ?", w.OID)
			if err := r.tm.Execute(context.Background(), w.OID); err != nil {
				t.Fatal(err)
			}
			waitFor(t, "coordinator closed", func() bool { return r.get(t, c.OID).State == task.Closed })
			got := r.get(t, c.OID)
			if got.Result != task.Success || got.Progress.ItemsProcessed != 4 || got.Progress.Errors != 0 {
				t.Fatalf("coordinator %s, %d items, %d errors (%s); want SUCCESS, 4 items, 0 errors",
					got.Result, got.Progress.ItemsProcessed, got.Progress.Errors, got.Message)
			}
			for seq, n := range h.runs {
				if n != 2 {
					t.Errorf("bucket %d ran %d times, want 2 (interrupted once, then done)", seq, n)
				}
			}
		})
	}
}
