package node_test

import (
	"context"
	"testing"
	"time"

	"cadre/app/taskmanager"
	"cadre/db/dbtest"
	"cadre/domain/task"
	"cadre/node/nodetest"
)

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func taskState(t *testing.T, n *nodetest.Node, oid string) *task.Task {
	t.Helper()
	got, err := n.Tasks.Get(context.Background(), oid)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

// assertBucketsCompleteOnce checks every bucket is COMPLETE and completed exactly once.
func assertBucketsCompleteOnce(t *testing.T, n *nodetest.Node, oid string, want int) {
	t.Helper()
	ctx := context.Background()
	bs, err := n.Store.BucketsList(ctx, oid)
	if err != nil {
		t.Fatal(err)
	}
	if len(bs) != want {
		t.Fatalf("want %d buckets, got %d", want, len(bs))
	}
	completions, err := n.Store.BucketCompletions(ctx, oid)
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range bs {
		if b.State != task.BucketComplete || completions[b.Seq] != 1 {
			t.Fatalf("bucket %d: state %s, completed %d times", b.Seq, b.State, completions[b.Seq])
		}
	}
}

// jobStoreVariants are the job-store placements of DESIGN §2.
func jobStoreVariants(t *testing.T) map[string]func(t *testing.T) *nodetest.Node {
	return map[string]func(t *testing.T) *nodetest.Node{
		"sqlite": func(t *testing.T) *nodetest.Node { return nodetest.Start(t, "sqlite") },
		"sqlite+separate sqlite job store": func(t *testing.T) *nodetest.Node {
			return nodetest.Start(t, "sqlite", "-Dmidpoint.taskManager.jdbcUrl="+dbtest.SQLite(t))
		},
		"postgresql": func(t *testing.T) *nodetest.Node { return nodetest.Start(t, "postgresql") },
		"postgresql+separate postgresql job store": func(t *testing.T) *nodetest.Node {
			return nodetest.Start(t, "postgresql", "-Dmidpoint.taskManager.jdbcUrl="+dbtest.Postgres(t))
		},
		"sqlite+in-memory job store": func(t *testing.T) *nodetest.Node {
			return nodetest.Start(t, "sqlite", "-Dmidpoint.taskManager.jdbcJobStore=false")
		},
	}
}

func TestTasksOnOneNode(t *testing.T) {
	for name, start := range jobStoreVariants(t) {
		t.Run(name, func(t *testing.T) {
			n := start(t)
			ctx := context.Background()

			t.Run("1,000 buckets of 10 items with 4 workers complete exactly once", func(t *testing.T) {
				created, err := n.Tasks.Create(ctx, taskmanager.CreateTask{Name: "noop-1000", Handler: "noop",
					Params:    map[string]any{"itemsPerBucket": float64(10)},
					Bucketing: &task.Bucketing{Numeric: &task.Numeric{From: 0, To: 1000, BucketSize: 1}},
					Workers:   &task.Workers{Total: 4}})
				if err != nil {
					t.Fatal(err)
				}
				waitFor(t, "the coordinator to close", 60*time.Second, func() bool { return taskState(t, n, created.OID).State == task.Closed })
				got := taskState(t, n, created.OID)
				if got.Result != task.Success || got.Progress.ItemsProcessed != 10000 || got.Progress.BucketsComplete != 1000 {
					t.Fatalf("coordinator: result %s, progress %+v", got.Result, got.Progress)
				}
				assertBucketsCompleteOnce(t, n, created.OID, 1000)
				workers, _ := n.Tasks.Workers(ctx, created.OID)
				if len(workers) != 4 {
					t.Fatalf("want 4 workers, got %d", len(workers))
				}
			})

			t.Run("a cron task fires every 2 s", func(t *testing.T) {
				created, err := n.Tasks.Create(ctx, taskmanager.CreateTask{Name: "cron", Handler: "noop", Schedule: task.Schedule{Cron: "*/2 * * * * *"}})
				if err != nil {
					t.Fatal(err)
				}
				waitFor(t, "the first run", 20*time.Second, func() bool { return taskState(t, n, created.OID).RunCount >= 1 })
				first, since := taskState(t, n, created.OID).RunCount, time.Now()
				// It keeps firing: two more runs come, however slow the machine.
				waitFor(t, "two more runs", 30*time.Second, func() bool { return taskState(t, n, created.OID).RunCount >= first+2 })
				// Between runs it waits for its next even second.
				var next *time.Time
				waitFor(t, "the task to wait for its next run", 20*time.Second, func() bool {
					got := taskState(t, n, created.OID)
					next = got.NextRunTime
					return got.State == task.Runnable && next != nil
				})
				if next.Nanosecond() != 0 || next.Second()%2 != 0 {
					t.Fatalf("next run %v is not on an even second", next)
				}
				// And never more often than every 2 s: a slow machine can only make
				// it fire less often (+2 for the runs at both ends of the window).
				got := taskState(t, n, created.OID)
				if most := int64(time.Since(since)/(2*time.Second)) + 2; got.RunCount-first > most {
					t.Fatalf("%d runs in %s; a task firing every 2 s makes at most %d", got.RunCount-first, time.Since(since).Round(time.Millisecond), most)
				}
				if _, err := n.Tasks.Suspend(ctx, created.OID); err != nil {
					t.Fatal(err)
				}
			})

			t.Run("suspending a coordinator stops its workers within 1 s; resuming loses no bucket", func(t *testing.T) {
				created, err := n.Tasks.Create(ctx, taskmanager.CreateTask{Name: "slow", Handler: "noop",
					Params:    map[string]any{"itemsPerBucket": float64(5), "delayMs": float64(10)},
					Bucketing: &task.Bucketing{Numeric: &task.Numeric{From: 0, To: 200, BucketSize: 1}},
					Workers:   &task.Workers{Total: 4}})
				if err != nil {
					t.Fatal(err)
				}
				waitFor(t, "some buckets to complete", 20*time.Second, func() bool { return taskState(t, n, created.OID).Progress.BucketsComplete >= 10 })
				if _, err := n.Tasks.Suspend(ctx, created.OID); err != nil {
					t.Fatal(err)
				}
				suspendedAt := time.Now()
				waitFor(t, "workers to stop", 5*time.Second, func() bool { return n.Tasks.RunningHere() == 0 })
				if took := time.Since(suspendedAt); took > time.Second {
					t.Fatalf("workers took %s to stop; want at most 1 s", took)
				}
				bs, _ := n.Store.BucketsList(ctx, created.OID)
				for _, b := range bs {
					if b.State == task.BucketDelegated {
						t.Fatalf("bucket %d still DELEGATED after the suspension", b.Seq)
					}
				}
				before := taskState(t, n, created.OID).Progress.BucketsComplete
				time.Sleep(300 * time.Millisecond)
				if after := taskState(t, n, created.OID).Progress.BucketsComplete; after != before {
					t.Fatalf("buckets kept completing while suspended: %d → %d", before, after)
				}
				if _, err := n.Tasks.Resume(ctx, created.OID); err != nil {
					t.Fatal(err)
				}
				waitFor(t, "the coordinator to close", 60*time.Second, func() bool { return taskState(t, n, created.OID).State == task.Closed })
				assertBucketsCompleteOnce(t, n, created.OID, 200)
			})
		})
	}
}
