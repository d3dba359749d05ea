package cluster_test

import (
	"context"
	"fmt"
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
		// a statement it sent just before may still be running, so wait
		// until the database has finished every one.
		victim.Stop()
		c.waitStatementsDone(victim)
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

// waitStatementsDone waits until no statement of p's (frozen) process is
// still executing in PostgreSQL, which knows its connections by the
// application_name the node gives them ("cadre pid=N …"), so that what the
// test reads next is final.
func (c *cluster) waitStatementsDone(p *proctest.Proc) {
	c.t.Helper()
	name := fmt.Sprintf("pid=%d", p.Pid())
	idleTwice := 0
	proctest.WaitFor(c.t, p.NodeID+"'s statements to finish", 30*time.Second, func() bool {
		var seen struct{ Conns, Active int64 }
		err := c.db.WithContext(context.Background()).Raw(
			"SELECT count(*) AS conns, count(*) FILTER (WHERE state = 'active') AS active FROM pg_stat_activity WHERE split_part(application_name, ' ', 2) = ?", name).
			Scan(&seen).Error
		if err != nil {
			c.t.Fatalf("read pg_stat_activity: %v", err)
		}
		if seen.Conns == 0 {
			c.t.Fatalf("PostgreSQL shows no connection named %q; the node no longer names its connections", name)
		}
		active := seen.Active
		if active > 0 {
			idleTwice = 0
			return false
		}
		// Bytes already in a socket are read by the server within moments;
		// a second look catches a statement that was just being read.
		idleTwice++
		return idleTwice >= 2
	})
}
