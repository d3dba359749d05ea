package cluster_test

import (
	"strings"
	"testing"
	"time"

	"cadre/node/proctest"
)

// waitErrors waits until seen shows nodeID with errors starting with prefix
// ("" = no errors) and the given scheduler state.
func waitErrors(t *testing.T, seen *proctest.Proc, nodeID, prefix, state string) {
	t.Helper()
	var errs []string
	var got string
	proctest.WaitFor(t, nodeID+" as shown by "+seen.NodeID+" to be "+state+" "+prefix, 20*time.Second, func() bool {
		errs, got = nodeErrors(t, seen, nodeID)
		if got != state {
			return false
		}
		if prefix == "" {
			return len(errs) == 0
		}
		return len(errs) > 0 && strings.HasPrefix(errs[0], prefix)
	})
}

// TestClusteredMajorityWinsWhateverStartedFirst: a non-clustered node that
// started first is the one in ERROR once a clustered node is live (midPoint
// disables the clustered newcomer instead); when the clustered node leaves,
// the non-clustered node leaves ERROR by itself.
func TestClusteredMajorityWinsWhateverStartedFirst(t *testing.T) {
	c := startClusterWith(t) // an empty database, no node yet
	soloArgs := append(clusterArgs(c.url), "-Dmidpoint.taskManager.clustered=false")
	solo := proctest.Start(t, "solo", soloArgs...)
	waitErrors(t, solo, "solo", "", "RUNNING")

	node1 := proctest.Start(t, "node1", clusterArgs(c.url)...)
	for _, seen := range []*proctest.Proc{solo, node1} {
		waitErrors(t, seen, "solo", "ERROR: not clustered", "ERROR")
		waitErrors(t, seen, "node1", "", "RUNNING")
	}
	// Work now runs on the clustered node only.
	c.nodes = []*proctest.Proc{node1}
	oid := c.createNoop(20, 2, 0, 2)
	c.waitClosed(oid, 30*time.Second)
	for _, b := range c.buckets(oid) {
		if b.Node != "node1" {
			t.Fatalf("bucket %d ran on %q; the non-clustered node must not schedule", b.Seq, b.Node)
		}
	}

	if err := node1.Term(15 * time.Second); err != nil {
		t.Fatalf("SIGTERM node1: %v", err)
	}
	waitErrors(t, solo, "solo", "", "RUNNING")
	if !strings.Contains(solo.Log(), "conformance restored") {
		t.Error("solo's log does not say it left ERROR")
	}
}

// TestSameHostConflictClearsWhenTheFirstLeaves: a second node on one host
// without localNodeClusteringEnabled is in ERROR while the first lives, and
// schedules by itself once the first has stopped.
func TestSameHostConflictClearsWhenTheFirstLeaves(t *testing.T) {
	c := startCluster(t, 1)
	args := clusterArgs(c.url)
	for i, a := range args {
		if strings.Contains(a, "localNodeClusteringEnabled") {
			args[i] = "-Dmidpoint.taskManager.localNodeClusteringEnabled=false"
		}
	}
	second := proctest.Start(t, "node2", args...)
	waitErrors(t, second, "node2", "ERROR: node id conflict", "ERROR")
	waitErrors(t, c.nodes[0], "node1", "", "RUNNING")
	if err := c.nodes[0].Term(15 * time.Second); err != nil {
		t.Fatalf("SIGTERM node1: %v", err)
	}
	waitErrors(t, second, "node2", "", "RUNNING")
}

// TestTwinTakesOverWhenTheOriginalLeaves: a second process with a live
// node's id stays in ERROR: node id conflict while the first lives, and
// registers and becomes ready by itself once the first has stopped.
func TestTwinTakesOverWhenTheOriginalLeaves(t *testing.T) {
	c := startCluster(t, 1)
	twin := proctest.StartServing(t, "node1", c.args...)
	waitErrors(t, twin, "node1", "ERROR: node id conflict", "ERROR")
	if err := c.nodes[0].Term(15 * time.Second); err != nil {
		t.Fatalf("SIGTERM the original node1: %v", err)
	}
	proctest.WaitFor(t, "the twin to become ready", 20*time.Second, func() bool {
		status, _ := twin.Admin().Do(t, "GET", "/readyz", nil)
		return status == 200
	})
	waitErrors(t, twin, "node1", "", "RUNNING")
}
