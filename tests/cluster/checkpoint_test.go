package cluster_test

import (
	"context"
	"testing"
	"time"

	"cadre/apiclient"
	"cadre/domain/task"
	"cadre/node/proctest"
)

// TestCheckpointResumeAfterKill: work that checkpoints is killed -9 on the
// node running it after its checkpoint moved past 0, and another node
// resumes it from that checkpoint instead of from the start; every item is
// still counted exactly once.
func TestCheckpointResumeAfterKill(t *testing.T) {
	c := startCluster(t, 3)
	alive := map[string]*proctest.Proc{}
	for _, p := range c.nodes {
		alive[p.NodeID] = p
	}
	kill := func(node string) {
		t.Helper()
		p := alive[node]
		if p == nil {
			t.Fatalf("no live node %q to kill", node)
		}
		p.Kill()
		delete(alive, node)
	}
	const items, every = 200, 10

	// A slow bucket checkpoints every 10 items; the bucket is reclaimed
	// elsewhere with resumedFrom = the dead node's last checkpoint.
	t.Run("bucket", func(t *testing.T) {
		const buckets = 2
		perNode := 1
		params := map[string]any{"itemsPerBucket": items, "delayMs": 20, "checkpointEvery": every}
		oid := c.admin(0).CreateTask(t, apiclient.TaskCreate{Name: "slow noop", Handler: "noop", Params: &params,
			Bucketing: apiclient.NumericBucketing(0, buckets, 1), Workers: &apiclient.Workers{PerNode: &perNode}}).Oid
		var held task.Bucket
		proctest.WaitFor(t, "a bucket checkpointed past its start", 60*time.Second, func() bool {
			for _, b := range c.buckets(oid) {
				if b.State == task.BucketDelegated && b.Checkpoint != nil && b.Checkpoint.Items >= 2*every {
					held = b
					return true
				}
			}
			return false
		})
		kill(held.Node)
		coord := c.waitClosed(oid, 90*time.Second)
		if coord.Result != task.Success {
			t.Fatalf("result %s (%s), want SUCCESS", coord.Result, coord.Message)
		}
		c.assertExactlyOnce(oid, buckets, items)
		for _, b := range c.buckets(oid) {
			if b.Seq != held.Seq {
				continue
			}
			// Resumed from the dead node's last checkpoint: the one seen before
			// the kill or a later one it wrote before it died.
			if b.Node == held.Node || b.ResumedFrom == nil || b.ResumedFrom.Items < held.Checkpoint.Items || b.ResumedFrom.Items >= items {
				t.Fatalf("bucket %d completed on %s resumed from %+v; want another node than %s resuming from at least %d items",
					b.Seq, b.Node, b.ResumedFrom, held.Node, held.Checkpoint.Items)
			}
			if b.Attempts != 1 {
				t.Fatalf("bucket %d has %d attempts; a node's death is not an attempt", b.Seq, b.Attempts)
			}
			t.Logf("bucket %d: checkpoint %d items seen before the kill of %s, resumed from %d on %s",
				b.Seq, held.Checkpoint.Items, held.Node, b.ResumedFrom.Items, b.Node)
		}
	})

	// A standalone run checkpoints on its task; restarted on another node it
	// resumes there, and the task's progress ends at exactly the items.
	t.Run("standalone run", func(t *testing.T) {
		params := map[string]any{"items": items, "delayMs": 20, "checkpointEvery": every}
		var api proctest.Client
		for _, p := range alive { // node1 may be the one the first subtest killed
			api = p.Admin()
		}
		oid := api.CreateTask(t, apiclient.TaskCreate{Name: "slow run", Handler: "noop", Params: &params}).Oid
		var running *task.Task
		proctest.WaitFor(t, "the run checkpointed past its start", 60*time.Second, func() bool {
			got, err := c.repo.TasksGet(context.Background(), oid)
			if err != nil || got.State != task.Running || got.Checkpoint == nil || got.Checkpoint.Items < 2*every {
				return false
			}
			running = got
			return true
		})
		kill(running.Node)
		done := c.waitClosed(oid, 90*time.Second)
		if done.Result != task.Success || done.Progress.ItemsProcessed != items || done.Checkpoint != nil {
			t.Fatalf("result %s, %d items, checkpoint %+v; want SUCCESS with exactly %d items and the checkpoint gone",
				done.Result, done.Progress.ItemsProcessed, done.Checkpoint, items)
		}
		if done.RunCount < 2 {
			t.Fatalf("ran %d times; the killed run should have been restarted", done.RunCount)
		}
		t.Logf("run: checkpoint %d items seen before the kill of %s, finished with %d items",
			running.Checkpoint.Items, running.Node, done.Progress.ItemsProcessed)
	})
}
