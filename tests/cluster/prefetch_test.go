package cluster_test

import (
	"testing"
	"time"

	"cadre/domain/task"
	"cadre/node/proctest"
)

// TestKillNineWithPrefetchedBuckets kills a node while it holds buckets it
// claimed ahead of its workers (short buckets make a worker claim several at
// a time) and while finished buckets wait in its completion window: every
// bucket still completes exactly once, and every bucket it held when it died
// is completed by another node.
func TestKillNineWithPrefetchedBuckets(t *testing.T) {
	c := startCluster(t, 3)
	const buckets, items, perNode = 3000, 1, 2
	oid := c.createNoop(buckets, items, 10, perNode)
	victim := c.nodes[2]
	held := map[int64]bool{}
	proctest.WaitFor(t, "the victim to hold more buckets than it has workers", 60*time.Second, func() bool {
		// Freeze it first, so what it holds cannot change while it is read;
		// a statement it sent just before may still land, so wait a little.
		victim.Stop()
		time.Sleep(300 * time.Millisecond)
		clear(held)
		for _, b := range c.buckets(oid) {
			if b.State == task.BucketDelegated && b.Node == victim.NodeID {
				held[b.Seq] = true
			}
		}
		if len(held) > perNode {
			return true
		}
		victim.Cont()
		return false
	})
	victim.Kill()
	t.Logf("killed %s holding %d buckets with %d workers", victim.NodeID, len(held), perNode)
	c.waitClosed(oid, 90*time.Second)
	c.assertExactlyOnce(oid, buckets, items)
	for _, b := range c.buckets(oid) {
		if held[b.Seq] && (b.State != task.BucketComplete || b.Node == victim.NodeID) {
			t.Errorf("bucket %d the victim held is %s on %q, want COMPLETE on a live node", b.Seq, b.State, b.Node)
		}
	}
}
