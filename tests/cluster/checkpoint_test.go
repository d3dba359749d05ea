package cluster_test

import (
	"testing"
	"time"

	"cadre/apiclient"
	"cadre/domain/task"
	"cadre/node/proctest"
)

// TestCheckpointResumeAfterKill: a slow bucket checkpoints every 10 items;
// the node holding it is killed -9 after its checkpoint moved past 0, and the
// bucket is reclaimed on the other node, which resumes from that checkpoint
// instead of from the start. The task still counts every item exactly once.
func TestCheckpointResumeAfterKill(t *testing.T) {
	c := startCluster(t, 2)
	const buckets, items = 2, 200
	perNode, every := 1, 10
	params := map[string]any{"itemsPerBucket": items, "delayMs": 20, "checkpointEvery": every}
	oid := c.admin(0).CreateTask(t, apiclient.TaskCreate{Name: "slow noop", Handler: "noop", Params: &params,
		Bucketing: apiclient.NumericBucketing(0, buckets, 1), Workers: &apiclient.Workers{PerNode: &perNode}}).Oid

	var held task.Bucket
	proctest.WaitFor(t, "a bucket checkpointed past its start", 60*time.Second, func() bool {
		for _, b := range c.buckets(oid) {
			if b.State == task.BucketDelegated && b.Checkpoint != nil && b.Checkpoint.Items >= int64(2*every) {
				held = b
				return true
			}
		}
		return false
	})
	victim, survivor := c.nodes[0], c.nodes[1]
	if held.Node == survivor.NodeID {
		victim, survivor = survivor, victim
	}
	victim.Kill()

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
		if b.Node != survivor.NodeID || b.ResumedFrom == nil || b.ResumedFrom.Items < held.Checkpoint.Items || b.ResumedFrom.Items >= items {
			t.Fatalf("bucket %d completed on %s resumed from %+v; want %s resuming from at least %d items", b.Seq, b.Node, b.ResumedFrom, survivor.NodeID, held.Checkpoint.Items)
		}
		if b.Attempts != 1 {
			t.Fatalf("bucket %d has %d attempts; a node's death is not an attempt", b.Seq, b.Attempts)
		}
		if b.ItemsProcessed != items {
			t.Fatalf("bucket %d counted %d items, want %d", b.Seq, b.ItemsProcessed, items)
		}
		t.Logf("bucket %d: checkpoint %d items seen before the kill of %s, resumed from %d on %s",
			b.Seq, held.Checkpoint.Items, victim.NodeID, b.ResumedFrom.Items, survivor.NodeID)
	}
}
