package cluster_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"cadre/apiclient"
	"cadre/domain/task"
	"cadre/node/proctest"
)

// lostRun is what one kill (or drain) is about: a long single-run (or
// recurring) noop task and a bucketed one, both with the same
// threadStopAction, both with work on the node that goes.
type lostRun struct {
	single, bucketed string
	victim           *proctest.Proc
	// api is a node that stays up.
	api proctest.Client
}

const (
	lostItems      = 40 // the single task's items, 100 ms each: long enough to be cut
	lostBuckets    = 60
	lostBucketSize = 4 // items per bucket, 50 ms each
)

// startLostRun creates both tasks with action through node1 and waits until
// the single task runs somewhere and its node also holds a bucket of the
// bucketed task; that node is the victim. every > 0 makes the single task
// recurring (every seconds); it still fires at once when created.
func (c *cluster) startLostRun(action apiclient.ThreadStopAction, every int64) lostRun {
	c.t.Helper()
	single := map[string]any{"items": lostItems, "delayMs": 100}
	in := apiclient.TaskCreate{Name: "single " + string(action), Handler: "noop", Params: &single, ThreadStopAction: &action}
	if every > 0 {
		in.Schedule = &apiclient.Schedule{Interval: &every}
	}
	api := c.admin(0)
	r := lostRun{single: api.CreateTask(c.t, in).Oid}
	params := map[string]any{"itemsPerBucket": lostBucketSize, "delayMs": 50}
	perNode := 1
	r.bucketed = api.CreateTask(c.t, apiclient.TaskCreate{Name: "bucketed " + string(action), Handler: "noop", Params: &params,
		Bucketing: apiclient.NumericBucketing(0, lostBuckets, 1), Workers: &apiclient.Workers{PerNode: &perNode}, ThreadStopAction: &action}).Oid
	var node string
	proctest.WaitFor(c.t, "the single task to run", 30*time.Second, func() bool {
		got, err := c.repo.TasksGet(context.Background(), r.single)
		node = got.Node
		return err == nil && got.State == task.Running
	})
	for _, p := range c.nodes {
		if p.NodeID == node {
			r.victim = p
		} else {
			r.api = p.Admin()
		}
	}
	c.holding(r.bucketed, node)
	return r
}

// task reads a task through a surviving node's API, as a user would.
func (r lostRun) task(t *testing.T, oid string) apiclient.Task { return r.api.Task(t, oid) }

// waitState waits until the task, read through the API, is in state.
func (r lostRun) waitState(t *testing.T, oid string, state apiclient.ExecutionState) apiclient.Task {
	t.Helper()
	var got apiclient.Task
	proctest.WaitFor(t, "task "+oid+" to be "+string(state), 30*time.Second, func() bool {
		got = r.task(t, oid)
		return got.ExecutionState == state
	})
	return got
}

// resume resumes a task through the API.
func (r lostRun) resume(t *testing.T, oid string) {
	t.Helper()
	if status, body := r.api.Do(t, "POST", "/api/v1/tasks/"+oid+"/resume", nil); status != http.StatusOK {
		t.Fatalf("resume %s: %d %v", oid, status, body)
	}
}

// bringBack restarts the victim so that the next case has three nodes again.
func (c *cluster) bringBack(p *proctest.Proc) {
	c.t.Helper()
	if p.Alive() {
		return
	}
	p.Restart(c.t)
	c.waitLive(len(c.nodes))
}

// TestThreadStopAction kills -9 the node that runs a single-run task and a
// worker of a bucketed task, once per threadStopAction, and checks what a
// user sees afterwards; then it drains a node (SIGTERM) with suspend.
func TestThreadStopAction(t *testing.T) {
	c := startCluster(t, 3)

	t.Run("restart runs both again elsewhere and they succeed", func(t *testing.T) {
		r := c.startLostRun(apiclient.ThreadStopActionRestart, 0)
		defer c.bringBack(r.victim)
		r.victim.Kill()
		single := r.api.WaitTaskClosed(t, r.single, 60*time.Second)
		if single.ResultStatus != apiclient.TaskResultStatusSUCCESS || single.RunCount < 2 {
			t.Fatalf("single task: %s after %d runs (%s); want SUCCESS after a second run", single.ResultStatus, single.RunCount, str(single.Message))
		}
		if done := r.api.WaitTaskClosed(t, r.bucketed, 60*time.Second); done.ResultStatus != apiclient.TaskResultStatusSUCCESS {
			t.Fatalf("bucketed task: %s (%s); want SUCCESS", done.ResultStatus, str(done.Message))
		}
		c.assertExactlyOnce(r.bucketed, lostBuckets, lostBucketSize)
	})

	t.Run("reschedule leaves a recurring task for its next time", func(t *testing.T) {
		const every = 60
		r := c.startLostRun(apiclient.ThreadStopActionReschedule, every)
		defer c.bringBack(r.victim)
		r.victim.Kill()
		recovered := r.waitState(t, r.single, apiclient.ExecutionStateRUNNABLE)
		now, err := c.repo.Now(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if recovered.NextRunTime == nil || recovered.NextRunTime.Sub(now) < every/2*time.Second {
			t.Fatalf("recovered recurring task runs next at %v (now %v); want about %d s from now", recovered.NextRunTime, now, every)
		}
		// Restart would have run it again at once, on a live node, within
		// the scheduler's next acquisition; reschedule leaves it alone.
		time.Sleep(3 * time.Second)
		if got := r.task(t, r.single); got.RunCount != 1 || got.ExecutionState != apiclient.ExecutionStateRUNNABLE {
			t.Fatalf("after the kill the recurring task is %s after %d runs; want RUNNABLE, not run again before its next time", got.ExecutionState, got.RunCount)
		}
		// The buckets belong to the run under way: they are done now.
		if done := r.api.WaitTaskClosed(t, r.bucketed, 60*time.Second); done.ResultStatus != apiclient.TaskResultStatusSUCCESS {
			t.Fatalf("bucketed task: %s (%s); want SUCCESS", done.ResultStatus, str(done.Message))
		}
		c.assertExactlyOnce(r.bucketed, lostBuckets, lostBucketSize)
		r.api.Do(t, "DELETE", "/api/v1/tasks/"+r.single, nil)
	})

	t.Run("suspend parks both until a resume, then they complete", func(t *testing.T) {
		r := c.startLostRun(apiclient.ThreadStopActionSuspend, 0)
		defer c.bringBack(r.victim)
		r.victim.Kill()
		r.assertSuspended(t, c)
		c.bringBack(r.victim)
		r.resume(t, r.single)
		r.resume(t, r.bucketed)
		if done := r.api.WaitTaskClosed(t, r.single, 60*time.Second); done.ResultStatus != apiclient.TaskResultStatusSUCCESS {
			t.Fatalf("single task after resume: %s (%s)", done.ResultStatus, str(done.Message))
		}
		if done := r.api.WaitTaskClosed(t, r.bucketed, 60*time.Second); done.ResultStatus != apiclient.TaskResultStatusSUCCESS {
			t.Fatalf("bucketed task after resume: %s (%s)", done.ResultStatus, str(done.Message))
		}
		c.assertExactlyOnce(r.bucketed, lostBuckets, lostBucketSize)
	})

	t.Run("close closes both with the reason", func(t *testing.T) {
		r := c.startLostRun(apiclient.ThreadStopActionClose, 0)
		defer c.bringBack(r.victim)
		r.victim.Kill()
		why := "closed by threadStopAction=close: node " + r.victim.NodeID + " died"
		for _, oid := range []string{r.single, r.bucketed} {
			got := r.api.WaitTaskClosed(t, oid, 30*time.Second)
			if got.ResultStatus != apiclient.TaskResultStatusFATALERROR || str(got.Message) != why {
				t.Fatalf("task %s: %s %q; want FATAL_ERROR %q", got.Name, got.ResultStatus, str(got.Message), why)
			}
		}
		// The remaining buckets stay undone, and nothing holds one.
		proctest.WaitFor(t, "no bucket of the closed task to be held", 30*time.Second, func() bool {
			for _, b := range c.buckets(r.bucketed) {
				if b.State == task.BucketDelegated {
					return false
				}
			}
			return true
		})
		if complete := c.complete(r.bucketed); complete == lostBuckets {
			t.Fatalf("all %d buckets complete; the close should have left some undone", complete)
		}
	})

	t.Run("a drain with suspend parks both", func(t *testing.T) {
		r := c.startLostRun(apiclient.ThreadStopActionSuspend, 0)
		defer c.bringBack(r.victim)
		if err := r.victim.Term(15 * time.Second); err != nil {
			t.Fatalf("SIGTERM %s: %v", r.victim.NodeID, err)
		}
		r.assertSuspended(t, c)
		r.resume(t, r.single)
		if done := r.api.WaitTaskClosed(t, r.single, 60*time.Second); done.ResultStatus != apiclient.TaskResultStatusSUCCESS {
			t.Fatalf("single task after resume: %s (%s)", done.ResultStatus, str(done.Message))
		}
	})
}

// assertSuspended waits until both tasks are SUSPENDED and checks that the
// bucketed one keeps READY buckets with nobody working on them.
func (r lostRun) assertSuspended(t *testing.T, c *cluster) {
	t.Helper()
	r.waitState(t, r.single, apiclient.ExecutionStateSUSPENDED)
	r.waitState(t, r.bucketed, apiclient.ExecutionStateSUSPENDED)
	proctest.WaitFor(t, "the suspended task's buckets to be released", 30*time.Second, func() bool {
		for _, b := range c.buckets(r.bucketed) {
			if b.State == task.BucketDelegated {
				return false
			}
		}
		return true
	})
	before := c.complete(r.bucketed)
	if before == lostBuckets {
		t.Fatalf("all buckets complete before the resume; the task was not cut short")
	}
	time.Sleep(time.Second) // several claim rounds, were anyone still claiming
	if after := c.complete(r.bucketed); after != before {
		t.Fatalf("buckets of the suspended task went on completing: %d, then %d", before, after)
	}
	for _, oid := range []string{r.single, r.bucketed} {
		if got := r.task(t, oid); got.Node != "" {
			t.Fatalf("suspended task %s still names node %q", got.Name, got.Node)
		}
	}
}

func str(s *string) string {
	if s == nil {
		return ""
	}
	return strings.TrimSpace(*s)
}
